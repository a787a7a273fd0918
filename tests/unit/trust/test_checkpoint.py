"""C2SP signed notes, checkpoints and cosignatures: Go vectors, refusals, and a fuzzed parser."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from trust.checkpoint import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    NoteSignature,
    SignedNote,
    VerifierKey,
    cosign,
    key_id,
    sign_checkpoint,
    sign_note,
    verify_note,
)
from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import FileSigner, KeyAlgorithm
from trust.merkle import leaf_hash

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors" / "signed_note.json").read_text("utf-8")
)
GO = VECTORS["go_note"]
ORIGIN = "gateway.example.org/journal"
WITNESS = "hub.example.org/witness"
ROOT = leaf_hash(b"root")
AT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _go_signer() -> FileSigner:
    # "PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed)", golang.org/x/mod/sumdb/note
    seed = base64.b64decode(GO["signer_key"].split("+", 4)[4])[1:]
    return FileSigner(ed25519.Ed25519PrivateKey.from_private_bytes(seed))


@pytest.fixture(scope="module")
def journal_signer() -> FileSigner:
    return FileSigner.generate(KeyAlgorithm.ED25519)


@pytest.fixture(scope="module")
def witness_signer() -> FileSigner:
    return FileSigner.generate(KeyAlgorithm.ED25519)


def test_signing_the_go_text_gives_the_go_note_byte_for_byte() -> None:
    note = sign_note(GO["text"].encode(), signer=_go_signer(), name=GO["name"])
    assert note.to_bytes() == GO["note"].encode()
    key = VerifierKey.parse(GO["verifier_key"])
    assert VerifierKey.for_signer(GO["name"], _go_signer()) == key
    assert key.encode() == GO["verifier_key"]
    result = verify_note(GO["note"].encode(), verifier_keys=[key])
    assert result.ok, result.reasons
    tampered = GO["note"].replace("cryptography", "cryptographY").encode()
    assert not verify_note(tampered, verifier_keys=[key]).ok


@pytest.mark.parametrize("vector", VECTORS["verifier_keys"], ids=lambda v: v["name"])
def test_verifier_keys_from_other_implementations_parse_with_matching_ids(
    vector: dict[str, object],
) -> None:
    key = VerifierKey.parse(str(vector["vkey"]))
    assert (key.name, key.sig_type) == (vector["name"], vector["sig_type"])
    assert key.encode() == vector["vkey"]
    assert key.key_id == key_id(key.name, key.sig_type, key.public_key)


@pytest.mark.parametrize("text", VECTORS["bad_verifier_keys"])
def test_bad_verifier_keys_are_refused(text: str) -> None:
    with pytest.raises(MalformedInputError):
        VerifierKey.parse(text)


def test_cosignature_timestamp_from_the_go_vector() -> None:
    raw = base64.b64decode(VECTORS["cosignature"]["base64"])
    sig = NoteSignature("witness.example", raw[:4], raw[4:])
    expected = datetime.fromtimestamp(VECTORS["cosignature"]["timestamp"], UTC)
    assert sig.cosignature_time() == expected
    with pytest.raises(MalformedInputError):
        NoteSignature("w", raw[:4], raw[4:-1]).cosignature_time()


def test_checkpoint_body_is_the_c2sp_text() -> None:
    cp = Checkpoint(ORIGIN, 1234, ROOT)
    body = f"{ORIGIN}\n1234\n{base64.b64encode(ROOT).decode()}\n".encode()
    assert cp.body() == body
    assert Checkpoint.from_body(body) == cp
    assert Checkpoint.from_body(Checkpoint(ORIGIN, 0, ROOT).body()).size == 0


@pytest.mark.parametrize(
    "body",
    [
        b"o\n12\n" + base64.b64encode(ROOT) + b"\nextension\n",  # extension lines refused
        b"o\n012\n" + base64.b64encode(ROOT) + b"\n",  # leading zero
        b"o\n-1\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n+1\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n99999999999999999999\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n1\n" + base64.b64encode(ROOT[:31]) + b"\n",
        b"o\n1\n" + base64.b64encode(ROOT)[:-1] + b"\n",
        b"o\n1\n" + base64.b64encode(ROOT).replace(b"=", b"") + b"\n",
        b"o\n1\n" + base64.b64encode(ROOT),  # no final newline
        b"\n1\n" + base64.b64encode(ROOT) + b"\n",  # empty origin
        b"o\xff\n1\n" + base64.b64encode(ROOT) + b"\n",
    ],
)
def test_malformed_checkpoints_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedInputError):
        Checkpoint.from_body(body)


def test_non_canonical_base64_is_refused() -> None:
    # 32 bytes leave 2 spare bits in the last base64 digit; "AB=" sets one, "AA=" is canonical.
    good = base64.b64encode(bytes(32)).decode()
    assert good.endswith("AA=")
    assert Checkpoint.from_body(f"o\n1\n{good}\n".encode()).root == bytes(32)
    with pytest.raises(MalformedInputError, match="canonical"):
        Checkpoint.from_body(f"o\n1\n{good[:-2]}B=\n".encode())


def test_sign_and_verify_a_checkpoint(journal_signer: FileSigner) -> None:
    cp = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(cp, signer=journal_signer, name=ORIGIN)
    key = VerifierKey.for_signer(ORIGIN, journal_signer)
    parsed = SignedNote.parse(note.to_bytes())
    assert parsed == note
    assert parsed.checkpoint() == cp
    assert parsed.signatures[0].key_id == key_id(ORIGIN, SIG_TYPE_ED25519, key.public_key)
    assert verify_note(note.to_bytes(), verifier_keys=[key]).ok
    other = VerifierKey.for_signer(ORIGIN, FileSigner.generate(KeyAlgorithm.ED25519))
    result = verify_note(note.to_bytes(), verifier_keys=[other])
    assert not result.ok
    assert "no trusted key" in " ".join(result.reasons)


def test_signing_refuses_non_ed25519_keys() -> None:
    signer = FileSigner.generate(KeyAlgorithm.EC_P256)
    with pytest.raises(KeyMaterialError, match="Ed25519"):
        sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), signer=signer, name=ORIGIN)
    with pytest.raises(KeyMaterialError):
        VerifierKey.for_signer(ORIGIN, signer)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0here"])
def test_bad_key_names_are_refused(journal_signer: FileSigner, name: str) -> None:
    with pytest.raises(MalformedInputError):
        sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), signer=journal_signer, name=name)


def test_cosignature_is_tlog_cosignature_v1(
    journal_signer: FileSigner, witness_signer: FileSigner
) -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    note = sign_checkpoint(cp, signer=journal_signer, name=ORIGIN)
    at = datetime(2026, 3, 1, 13, 0, 0, 500_000, tzinfo=timezone(timedelta(hours=1)))
    cosigned = cosign(note, signer=witness_signer, name=WITNESS, at=at)
    journal_key = VerifierKey.for_signer(ORIGIN, journal_signer)
    witness_key = VerifierKey.for_signer(WITNESS, witness_signer, sig_type=SIG_TYPE_COSIGNATURE_V1)
    sig = cosigned.signatures[1]
    assert sig.key_id == witness_key.key_id
    seconds = int(at.timestamp())
    assert sig.signature[:8] == seconds.to_bytes(8, "big")
    assert sig.cosignature_time() == datetime.fromtimestamp(seconds, UTC)
    # The signed message, rebuilt from the spec's words rather than our code.
    message = b"cosignature/v1\ntime " + str(seconds).encode() + b"\n" + cp.body()
    public = witness_signer.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(sig.signature[8:], message)
    both = verify_note(
        cosigned.to_bytes(), verifier_keys=[journal_key, witness_key], require_all=True
    )
    assert both.ok, both.reasons
    assert not verify_note(note, verifier_keys=[journal_key, witness_key], require_all=True).ok
    # The witness's key as a plain (0x01) key does not match a cosignature line.
    plain = VerifierKey.for_signer(WITNESS, witness_signer)
    assert not verify_note(cosigned, verifier_keys=[plain]).ok
    again = cosign(cosigned, signer=witness_signer, name=WITNESS, at=at + timedelta(hours=1))
    assert len(again.signatures) == 2
    assert again.signatures[1].cosignature_time() == datetime.fromtimestamp(seconds + 3600, UTC)
    with pytest.raises(ValueError):
        cosign(note, signer=witness_signer, name=WITNESS, at=datetime(2026, 1, 1))


def test_a_forged_cosignature_time_fails(
    journal_signer: FileSigner, witness_signer: FileSigner
) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer=journal_signer, name=ORIGIN)
    cosigned = cosign(note, signer=witness_signer, name=WITNESS, at=AT)
    sig = cosigned.signatures[1]
    later = (int(AT.timestamp()) + 1).to_bytes(8, "big") + sig.signature[8:]
    forged = note.with_signature(NoteSignature(sig.name, sig.key_id, later))
    witness_key = VerifierKey.for_signer(WITNESS, witness_signer, sig_type=SIG_TYPE_COSIGNATURE_V1)
    result = verify_note(forged, verifier_keys=[witness_key])
    assert not result.ok
    assert "does not verify" in " ".join(result.reasons)


def test_unknown_signatures_are_ignored_but_a_bad_known_one_fails(
    journal_signer: FileSigner,
) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), signer=journal_signer, name=ORIGIN)
    stranger = NoteSignature("stranger.example", b"\x01\x02\x03\x04", b"x" * 64)
    with_stranger = note.with_signature(stranger)
    key = VerifierKey.for_signer(ORIGIN, journal_signer)
    result = verify_note(with_stranger.to_bytes(), verifier_keys=[key])
    assert result.ok
    assert len(result.checks) == 2
    good = note.signatures[0]
    broken = NoteSignature(good.name, good.key_id, bytes(64))
    assert not verify_note(SignedNote(note.text, (broken,)), verifier_keys=[key]).ok
    short = NoteSignature(good.name, good.key_id, good.signature[:-1])
    assert not verify_note(SignedNote(note.text, (short,)), verifier_keys=[key]).ok


class _Twin(VerifierKey):
    """Another public key posing under a given key ID (a 4-byte collision, simulated)."""

    claimed_id = b""

    @property
    def key_id(self) -> bytes:
        return self.claimed_id


def test_ambiguous_trusted_keys_are_a_usage_error(journal_signer: FileSigner) -> None:
    key = VerifierKey.for_signer(ORIGIN, journal_signer)
    other = VerifierKey.for_signer(ORIGIN, FileSigner.generate(KeyAlgorithm.ED25519))
    twin = _Twin(other.name, other.sig_type, other.public_key)
    twin.claimed_id = key.key_id
    with pytest.raises(ValueError, match="share"):
        verify_note(_note(journal_signer), verifier_keys=[key, twin])


def _note(journal_signer: FileSigner) -> bytes:
    return sign_checkpoint(
        Checkpoint(ORIGIN, 9, ROOT), signer=journal_signer, name=ORIGIN
    ).to_bytes()


def test_malformed_notes_are_refused(journal_signer: FileSigner) -> None:
    good = _note(journal_signer)
    text, _, sigs = good.partition(b"\n\n")
    line = sigs.rstrip(b"\n")
    bad = [
        b"",
        text,  # no signatures
        text + b"\n\n",  # blank line, no signature
        good[:-1],  # no final newline
        good.replace("—".encode(), b"-"),
        text + b"\n\n" + line.replace(ORIGIN.encode(), b"jour+nal") + b"\n",  # "+" in a name
        text + b"\n\n" + line + b"\n" + line + b"\n",  # the same key twice
        text.replace(b"9", b"\x07") + b"\n\n" + line + b"\n",  # control character
        b"\xff" + good,
        text + b"\n\n" + "— name AQID".encode() + b"\n",  # base64 of 3 bytes: no signature
        text + b"\n\n" + "— name  AQIDBAU=".encode() + b"\n",  # two spaces
        text + b"\n\n" + "— name AQIDBAU= extra".encode() + b"\n",
        good + b"x" * MAX_NOTE_SIZE,
    ]
    for data in bad:
        with pytest.raises(MalformedInputError):
            SignedNote.parse(data)
        assert not verify_note(
            data, verifier_keys=[VerifierKey.for_signer(ORIGIN, journal_signer)]
        ).ok


def test_signature_count_is_bounded(journal_signer: FileSigner) -> None:
    text = Checkpoint(ORIGIN, 1, ROOT).body()
    lines = b"".join(
        NoteSignature(f"w{i}", i.to_bytes(4, "big"), b"s").line() for i in range(MAX_SIGNATURES + 1)
    )
    with pytest.raises(MalformedInputError):
        SignedNote.parse(text + b"\n" + lines)
    fine = text + b"\n" + lines.split(b"\n", 1)[1]
    assert len(SignedNote.parse(fine).signatures) == MAX_SIGNATURES


def test_the_text_ends_at_the_last_blank_line(journal_signer: FileSigner) -> None:
    text = b"first\n\nsecond\n"
    note = sign_note(text, signer=journal_signer, name="n")
    parsed = SignedNote.parse(note.to_bytes())
    assert parsed.text == text
    with pytest.raises(MalformedInputError):
        parsed.checkpoint()


note_alphabet = st.sampled_from(
    [
        "\n",
        "\n\n",
        "— ",
        "—",
        " ",
        "+",
        "=",
        "/",
        "a",
        "Z",
        "0",
        "9",
        "\x00",
        "\u00a0",
        "é",
        "AQIDBAU=",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(note_alphabet, max_size=60).map(lambda parts: "".join(parts).encode("utf-8")),
    )
)
def test_the_parser_only_ever_raises_malformed_input(data: bytes) -> None:
    try:
        note = SignedNote.parse(data)
    except MalformedInputError:
        return
    assert note.to_bytes() == data
    try:
        note.checkpoint()
    except MalformedInputError:
        pass


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), value=st.integers(0, 255))
def test_any_changed_byte_invalidates_a_signed_checkpoint(position: int, value: int) -> None:
    signer = _go_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 9, ROOT), signer=signer, name=ORIGIN).to_bytes()
    position %= len(note)
    if note[position] == value:
        value ^= 1
    mutated = note[:position] + bytes([value]) + note[position + 1 :]
    key = VerifierKey.for_signer(ORIGIN, signer)
    assert not verify_note(mutated, verifier_keys=[key]).ok


class _LyingSigner:
    """A signer that claims Ed25519 and misbehaves in one of two ways."""

    def __init__(self, *, key: object, signature: bytes) -> None:
        self._key, self._signature = key, signature

    @property
    def algorithm(self) -> KeyAlgorithm:
        return KeyAlgorithm.ED25519

    def public_key(self) -> object:
        return self._key

    def sign(self, data: bytes) -> bytes:
        return self._signature


def test_misbehaving_signers_are_caught(journal_signer: FileSigner) -> None:
    cp = Checkpoint(ORIGIN, 1, ROOT)
    ec_key = FileSigner.generate(KeyAlgorithm.EC_P256).public_key()
    with pytest.raises(KeyMaterialError, match="another key type"):
        sign_checkpoint(cp, signer=_LyingSigner(key=ec_key, signature=bytes(64)), name=ORIGIN)  # type: ignore[arg-type]
    short = _LyingSigner(key=journal_signer.public_key(), signature=bytes(70))
    with pytest.raises(KeyMaterialError, match="not an Ed25519 signature"):
        sign_checkpoint(cp, signer=short, name=ORIGIN)  # type: ignore[arg-type]


def test_values_out_of_range_are_refused(journal_signer: FileSigner) -> None:
    with pytest.raises(MalformedInputError, match="32 bytes"):
        VerifierKey("name", SIG_TYPE_ED25519, bytes(31))
    with pytest.raises(MalformedInputError, match="empty"):
        VerifierKey.parse("name+00000000+")
    with pytest.raises(MalformedInputError, match="unsupported"):
        VerifierKey("name", 0x02, bytes(32))
    for size in (-1, 2**63):
        with pytest.raises(MalformedInputError, match="out of range"):
            Checkpoint(ORIGIN, size, ROOT)
    with pytest.raises(MalformedInputError):
        NoteSignature("name", b"abc", b"signature")
    far = NoteSignature("w", bytes(4), (2**63 - 1).to_bytes(8, "big") + bytes(64))
    with pytest.raises(MalformedInputError, match="9999"):
        far.cosignature_time()
    text = Checkpoint(ORIGIN, 1, ROOT).body()
    with pytest.raises(MalformedInputError):
        SignedNote(text, ())
    with pytest.raises(MalformedInputError, match="larger"):
        sign_note(b"x" * MAX_NOTE_SIZE + b"\n", signer=journal_signer, name="n")
    with pytest.raises(MalformedInputError, match="bytes"):
        SignedNote.parse("a note as text")  # type: ignore[arg-type]
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), signer=journal_signer, name=ORIGIN)
    with pytest.raises(ValueError, match="range"):
        cosign(note, signer=journal_signer, name=WITNESS, at=datetime(1960, 1, 1, tzinfo=UTC))


def test_malformed_cosignatures_fail_verification(witness_signer: FileSigner) -> None:
    key = VerifierKey.for_signer(WITNESS, witness_signer, sig_type=SIG_TYPE_COSIGNATURE_V1)
    text = Checkpoint(ORIGIN, 1, ROOT).body()
    for signature, reason in (
        (bytes(8 + 63), "not an Ed25519 v1 cosignature"),
        (b"\xff" * 8 + bytes(64), "out of range"),
    ):
        note = SignedNote(text, (NoteSignature(WITNESS, key.key_id, signature),))
        result = verify_note(note, verifier_keys=[key])
        assert not result.ok
        assert reason in " ".join(result.reasons)
