"""C2SP signed notes, tlog checkpoints and witness cosignatures.

- A signed note (https://c2sp.org/signed-note) is UTF-8 text ending in a
  newline, a blank line, then lines ``— <name> base64(key ID ‖ signature)``.
- A checkpoint (https://c2sp.org/tlog-checkpoint) is a note whose text is
  ``origin\\nsize\\nbase64(root)\\n``; the journal key signs it with Ed25519.
- A cosignature (https://c2sp.org/tlog-cosignature, Ed25519 v1) is a witness's
  timestamped signature over ``cosignature/v1\\ntime <t>\\n`` + the note text.

Parsers are strict and bounded: anything malformed raises
:class:`~trust.errors.MalformedInputError` and nothing else. Checkpoints with
extension lines are refused: Sceau never writes them and they are not
auditable. Signing accepts only Ed25519 :class:`~trust.keys.Signer`\\ s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import KeyAlgorithm, PublicKey, Signer
from trust.merkle import HASH_SIZE
from trust.results import Check, VerificationResult

SIG_TYPE_ED25519 = 0x01  # c2sp.org/signed-note §Signature types
SIG_TYPE_COSIGNATURE_V1 = 0x04  # c2sp.org/signed-note §Signature types, tlog-cosignature
KEY_ID_SIZE = 4  # c2sp.org/signed-note §Format: uint32 key ID
ED25519_PUBLIC_KEY_SIZE = 32  # RFC 8032 §5.1.5
ED25519_SIGNATURE_SIZE = 64  # RFC 8032 §5.1.6
COSIGNATURE_HEADER = b"cosignature/v1\n"  # c2sp.org/tlog-cosignature §Ed25519 signed message
MAX_TIMESTAMP = 2**63 - 1  # c2sp.org/tlog-cosignature: "MUST NOT exceed 2^63 - 1"
MAX_SIGNATURES = 100  # signed-note: verifiers "MUST accept at least up to 16"; as golang.org/x/mod
MAX_NOTE_SIZE = 64 * 1024
MAX_TREE_SIZE = 2**63 - 1  # stored as a SQLite INTEGER
_SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_KEY_TYPES = {SIG_TYPE_ED25519: "Ed25519", SIG_TYPE_COSIGNATURE_V1: "Ed25519 cosignature v1"}


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), refusing anything but its one canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedInputError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedInputError(f"{what} is not canonical base64")
    return raw


def _check_key_name(name: str) -> None:
    # c2sp.org/signed-note §Format: "non-empty and MUST NOT contain any Unicode spaces or plus"
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise MalformedInputError(f"invalid key name {name!r}")


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], c2sp.org/signed-note §Signatures."""
    data = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(data).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class VerifierKey:
    """A trusted Ed25519 note key: plain signatures (0x01) or cosignatures v1 (0x04).

    Text form (a "vkey"): ``<name>+<hex key ID>+base64(type ‖ public key)``.
    The key's curve point is not validated: a bad key simply verifies nothing.
    """

    name: str
    sig_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if self.sig_type not in _KEY_TYPES:
            raise MalformedInputError(f"unsupported note signature type 0x{self.sig_type:02x}")
        if len(self.public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise MalformedInputError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    @classmethod
    def from_public_key(
        cls, name: str, public_key: PublicKey, *, sig_type: int = SIG_TYPE_ED25519
    ) -> VerifierKey:
        if not isinstance(public_key, ed25519.Ed25519PublicKey):
            raise KeyMaterialError(
                f"note keys are Ed25519, not {type(public_key).__name__}",
                hint="Use the journal's (or witness's) Ed25519 key.",
            )
        return cls(name, sig_type, public_key.public_bytes_raw())

    @classmethod
    def for_signer(
        cls, name: str, signer: Signer, *, sig_type: int = SIG_TYPE_ED25519
    ) -> VerifierKey:
        return cls.from_public_key(name, signer.public_key(), sig_type=sig_type)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse a vkey, checking that its key ID matches its name and key."""
        parts = text.split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise MalformedInputError("a verifier key reads <name>+<8 hex digits>+<base64 key>")
        raw = _b64decode(parts[2], "verifier key")
        if len(raw) < 1:
            raise MalformedInputError("empty verifier key")
        key = cls(parts[0], raw[0], raw[1:])
        if key.key_id.hex() != parts[1]:
            raise MalformedInputError(f"verifier key {parts[0]}: key ID does not match the key")
        return key

    def encode(self) -> str:
        blob = base64.b64encode(bytes([self.sig_type]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's ``origin``, its ``size`` and its RFC 9162 ``root``."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise MalformedInputError(f"invalid checkpoint origin {self.origin!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedInputError(f"checkpoint size {self.size} out of range")
        if len(self.root) != HASH_SIZE:
            raise MalformedInputError("a checkpoint root is a 32-byte SHA-256 hash")

    def body(self) -> bytes:
        """The note text, c2sp.org/tlog-checkpoint §Note text (no extension lines)."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n".encode()

    @classmethod
    def from_body(cls, body: bytes) -> Checkpoint:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedInputError("checkpoint is not UTF-8") from None
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise MalformedInputError("a checkpoint is exactly three lines: origin, size, root")
        origin, size, root = lines[:3]
        if not _DECIMAL.fullmatch(size):
            raise MalformedInputError("checkpoint size is not a canonical decimal")
        return cls(origin, int(size), _b64decode(root, "checkpoint root"))


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the signer's key name, its 4-byte key ID, and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.key_id) != KEY_ID_SIZE or not self.signature:
            raise MalformedInputError("a note signature is a 4-byte key ID and a signature")

    def line(self) -> bytes:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_SIGNATURE_PREFIX}{self.name} {blob}\n".encode()

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise MalformedInputError("a signature line starts with an em dash and a space")
        parts = line[len(_SIGNATURE_PREFIX) :].split(" ")
        if len(parts) != 2:
            raise MalformedInputError("a signature line reads: — <name> <base64>")
        raw = _b64decode(parts[1], "note signature")
        if len(raw) <= KEY_ID_SIZE:
            raise MalformedInputError("note signature is too short")
        return cls(parts[0], raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])

    def cosignature_time(self) -> datetime:
        """The time a v1 cosignature claims (not verified here: see :func:`verify_note`)."""
        if len(self.signature) != 8 + ED25519_SIGNATURE_SIZE:
            raise MalformedInputError("not an Ed25519 v1 cosignature")
        seconds = int.from_bytes(self.signature[:8], "big")
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise MalformedInputError("cosignature time is beyond the year 9999") from None


def _check_text(text: bytes) -> None:
    if not text.endswith(b"\n"):
        raise MalformedInputError("note text must end with a newline")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInputError("note is not UTF-8") from None
    if _CONTROL.search(decoded):
        raise MalformedInputError("note contains control characters")


@dataclass(frozen=True)
class SignedNote:
    """Note text plus one or more signatures; valid by construction."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text)
        if not 1 <= len(self.signatures) <= MAX_SIGNATURES:
            raise MalformedInputError(f"a note carries 1 to {MAX_SIGNATURES} signatures")
        ids = {(s.name, s.key_id) for s in self.signatures}
        if len(ids) != len(self.signatures):
            raise MalformedInputError("a note carries two signatures by the same key")
        if len(self.to_bytes()) > MAX_NOTE_SIZE:
            raise MalformedInputError(f"note is larger than {MAX_NOTE_SIZE} bytes")

    @classmethod
    def parse(cls, data: bytes) -> SignedNote:
        if not isinstance(data, bytes):
            raise MalformedInputError("a note is bytes")
        if len(data) > MAX_NOTE_SIZE:
            raise MalformedInputError(f"note is larger than {MAX_NOTE_SIZE} bytes")
        _check_text(data)
        # c2sp.org/signed-note §Format: the text ends at the last blank line
        split = data.rfind(b"\n\n")
        if split < 0:
            raise MalformedInputError("note has no blank line before its signatures")
        lines = data[split + 2 :].decode("utf-8").split("\n")[:-1]
        if not lines:
            raise MalformedInputError("note has no signatures")
        if len(lines) > MAX_SIGNATURES:
            raise MalformedInputError(f"note has more than {MAX_SIGNATURES} signatures")
        signatures = tuple(NoteSignature.from_line(line) for line in lines)
        return cls(data[: split + 1], signatures)

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + b"".join(s.line() for s in self.signatures)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint.from_body(self.text)

    def with_signature(self, signature: NoteSignature) -> SignedNote:
        """This note plus ``signature``; one by the same key is replaced where it stands."""
        same = (signature.name, signature.key_id)
        kept = [s for s in self.signatures if (s.name, s.key_id) != same]
        if len(kept) == len(self.signatures):
            return SignedNote(self.text, (*self.signatures, signature))
        return SignedNote(
            self.text,
            tuple(signature if (s.name, s.key_id) == same else s for s in self.signatures),
        )


def _ed25519_public_key(signer: Signer) -> bytes:
    if signer.algorithm is not KeyAlgorithm.ED25519:
        raise KeyMaterialError(
            f"notes and cosignatures are signed with Ed25519, not {signer.algorithm.value}",
            hint="Configure an Ed25519 journal (or witness) key.",
        )
    key = signer.public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyMaterialError("the signer claims Ed25519 but holds another key type")
    return key.public_bytes_raw()


def _sign(signer: Signer, message: bytes) -> bytes:
    signature = signer.sign(message)
    if len(signature) != ED25519_SIGNATURE_SIZE:
        raise KeyMaterialError("the signer returned something that is not an Ed25519 signature")
    return signature


def sign_note(text: bytes, *, signer: Signer, name: str) -> SignedNote:
    """Sign ``text`` as a C2SP note with an Ed25519 signer (signature type 0x01)."""
    _check_key_name(name)
    _check_text(text)
    kid = key_id(name, SIG_TYPE_ED25519, _ed25519_public_key(signer))
    return SignedNote(text, (NoteSignature(name, kid, _sign(signer, text)),))


def sign_checkpoint(checkpoint: Checkpoint, *, signer: Signer, name: str) -> SignedNote:
    """The log's signed checkpoint; ``name`` should be the checkpoint's origin."""
    return sign_note(checkpoint.body(), signer=signer, name=name)


def _cosigned_message(text: bytes, seconds: int) -> bytes:
    # c2sp.org/tlog-cosignature §Ed25519 signed message
    return COSIGNATURE_HEADER + b"time %d\n" % seconds + text


def cosign(note: SignedNote, *, signer: Signer, name: str, at: datetime) -> SignedNote:
    """Add a witness's v1 cosignature (type 0x04), timestamped ``at`` (whole seconds).

    This only signs. It does NOT check the log's signature nor consistency with
    earlier checkpoints: a witness must do both before calling it.
    """
    if at.tzinfo is None:
        raise ValueError("cosignature time must be timezone-aware")
    seconds = int(at.timestamp())
    if not 0 <= seconds <= MAX_TIMESTAMP:
        raise ValueError("cosignature time out of range")
    _check_key_name(name)
    kid = key_id(name, SIG_TYPE_COSIGNATURE_V1, _ed25519_public_key(signer))
    signature = seconds.to_bytes(8, "big") + _sign(signer, _cosigned_message(note.text, seconds))
    return note.with_signature(NoteSignature(name, kid, signature))


def _verify_one(key: VerifierKey, text: bytes, sig: NoteSignature) -> tuple[bool, str]:
    public = ed25519.Ed25519PublicKey.from_public_bytes(key.public_key)
    if key.sig_type == SIG_TYPE_ED25519:
        message, raw, detail = text, sig.signature, ""
    else:
        if len(sig.signature) != 8 + ED25519_SIGNATURE_SIZE:
            return False, "not an Ed25519 v1 cosignature"
        seconds = int.from_bytes(sig.signature[:8], "big")
        if seconds > MAX_TIMESTAMP:
            return False, "cosignature timestamp out of range"
        message, raw = _cosigned_message(text, seconds), sig.signature[8:]
        detail = f"cosigned at unix time {seconds}"
    if len(raw) != ED25519_SIGNATURE_SIZE:
        return False, "not an Ed25519 signature"
    try:
        public.verify(raw, message)
    except InvalidSignature:
        return False, "signature does not verify"
    return True, detail


def verify_note(
    note: bytes | SignedNote,
    *,
    verifier_keys: Iterable[VerifierKey],
    require_all: bool = False,
) -> VerificationResult:
    """Check a note's signatures against trusted keys (c2sp.org/signed-note §Signatures).

    Valid when it is well-formed, every signature by a trusted key verifies,
    at least one does, and (``require_all``) every trusted key signed. Lines
    by unknown keys are ignored, as the spec demands. Not checked: what the
    text says (parse it with :meth:`Checkpoint.from_body`), and whether a
    cosignature's time is plausible.
    """
    keys: dict[tuple[str, bytes], VerifierKey] = {}
    for key in verifier_keys:
        if keys.setdefault((key.name, key.key_id), key) != key:
            raise ValueError(f"two different trusted keys share name {key.name} and key ID")
    try:
        parsed = note if isinstance(note, SignedNote) else SignedNote.parse(note)
    except MalformedInputError as exc:
        return VerificationResult(
            "signed note", (Check("note is well-formed", False, exc.message),)
        )
    subject = "note " + parsed.text.split(b"\n", 1)[0].decode("utf-8")
    checks = [Check("note is well-formed", True)]
    signed: set[VerifierKey] = set()
    for sig in parsed.signatures:
        trusted = keys.get((sig.name, sig.key_id))
        if trusted is None:
            continue
        ok, detail = _verify_one(trusted, parsed.text, sig)
        kind = _KEY_TYPES[trusted.sig_type]
        checks.append(Check(f"{kind} signature by {trusted.name}", ok, detail))
        if ok:
            signed.add(trusted)
    if not signed:
        checks.append(Check("signed by a trusted key", False, "no trusted key signed this note"))
    if require_all:
        for key in keys.values():
            if key not in signed:
                checks.append(Check(f"signature by {key.name}", False, "missing"))
    return VerificationResult(subject, tuple(checks))
