"""A :class:`~trust.keys.Signer` whose private key stays on a PKCS#11 token.

Tested against SoftHSM2 2.6.1 (``/usr/lib/softhsm/libsofthsm2.so``):

- ECDSA P-256: SoftHSM2 offers only raw ``CKM_ECDSA``, so the data is hashed with
  SHA-256 here, the token signs the digest, and its raw ``r‖s`` is re-encoded as a
  DER ``Ecdsa-Sig-Value``;
- RSA (2048 bits or more; 3072 when generated here): ``CKM_SHA256_RSA_PKCS``;
- Ed25519: ``CKM_EDDSA`` (pure EdDSA), which SoftHSM2 2.6.1 supports.

A key whose mechanism the token does not offer is refused when the signer opens,
with a :class:`~trust.errors.KeyMaterialError`. Each signer signs once when it
opens and checks that signature against the public key it found on the token, so a
public key object that does not belong to the private key is caught at once.

Not supported: protected authentication paths (PIN pads), keys that need the PIN
again for every signature (``CKA_ALWAYS_AUTHENTICATE``), other curves than P-256,
Ed448, RSA-PSS, and EC keys stored without their public key object (RSA ones work:
the modulus is read from the private key object).

Threading: every call into one PKCS#11 module is serialised by one lock per module,
and signers on one token share its login (see :mod:`trust.pkcs11_token`). One
signer may be used from many threads; signatures do not run in parallel.

The PIN is never logged, kept, or put in an error message.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from types import TracebackType
from typing import Any, cast

import pkcs11
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass

from trust.errors import KeyMaterialError
from trust.keys import KeyAlgorithm, PublicKey
from trust.pkcs11_token import SOFTHSM2_MODULE, TokenLogin, log_in, release, unload_module
from trust.pkcs11_uri import Pkcs11Uri, parse_pkcs11_uri

_log = logging.getLogger(__name__)

# DER ECParameters (RFC 5480 §2.1.1; PKCS#11 v3.0 §2.3.5 for Edwards curves).
_P256_PARAMS = bytes.fromhex("06082a8648ce3d030107")
_ED25519_PARAMS = (bytes.fromhex("06032b6570"), b"\x13\x0cedwards25519")
_GENERATE_MECHANISM = {
    KeyAlgorithm.EC_P256: Mechanism.EC_KEY_PAIR_GEN,
    KeyAlgorithm.ED25519: Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
    KeyAlgorithm.RSA_3072: Mechanism.RSA_PKCS_KEY_PAIR_GEN,
}
_SIGN_MECHANISM = {
    KeyAlgorithm.EC_P256: Mechanism.ECDSA,
    KeyAlgorithm.ED25519: Mechanism.EDDSA,
    KeyAlgorithm.RSA_3072: Mechanism.SHA256_RSA_PKCS,
}


def _unwrap_point(raw: bytes, raw_lengths: tuple[int, ...]) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING, but some tokens store the bare point."""
    if len(raw) in raw_lengths:
        return raw
    if len(raw) - 2 in raw_lengths and raw[0] == 0x04 and raw[1] == len(raw) - 2:
        return raw[2:]
    raise KeyMaterialError(f"the token's EC point has an unexpected length ({len(raw)} bytes)")


def _public_from_attributes(key_type: Any, attrs: Any, what: str) -> PublicKey:
    """Build a cryptography public key from a token object's attributes."""
    try:
        if key_type == KeyType.RSA:
            n = int.from_bytes(attrs[Attribute.MODULUS], "big")
            e = int.from_bytes(attrs[Attribute.PUBLIC_EXPONENT], "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
        params = bytes(attrs[Attribute.EC_PARAMS])
        point = bytes(attrs[Attribute.EC_POINT])
    except (pkcs11.PKCS11Error, KeyError, ValueError) as exc:
        raise KeyMaterialError(f"cannot read the public key of {what}: {exc!r}") from exc
    if key_type == KeyType.EC and params == _P256_PARAMS:
        return ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), _unwrap_point(point, (65, 33))
        )
    if key_type == KeyType.EC_EDWARDS and params in _ED25519_PARAMS:
        return ed25519.Ed25519PublicKey.from_public_bytes(_unwrap_point(point, (32,)))
    raise KeyMaterialError(
        f"{what} is on an unsupported curve (parameters {params.hex()})",
        hint="Use an EC P-256, Ed25519 or RSA key.",
    )


def _key_description(key_label: str | None, key_id: bytes | None) -> str:
    parts = [f"labelled '{key_label}'"] if key_label is not None else []
    parts += [f"with id {key_id.hex()}"] if key_id is not None else []
    return " ".join(parts)


def _objects(session: pkcs11.Session, attrs: dict[Attribute, Any]) -> list[Any]:
    """Every object matching ``attrs``, searched to the end.

    python-pkcs11's ``get_key`` may leave its search open; finalising it after the
    session closed raises an exception nobody can catch.
    """
    return list(session.get_objects({k: v for k, v in attrs.items() if v is not None}))


def _find_keys(
    shared: TokenLogin, key_label: str | None, key_id: bytes | None
) -> tuple[Any, PublicKey]:
    """The private key object and the matching public key. Hold ``module.lock``."""
    session = shared.session
    if key_label is None and key_id is None:
        raise KeyMaterialError("no key was named", hint="Give the key's label (or its id).")
    what = f"private key {_key_description(key_label, key_id)} on token '{shared.token_label}'"
    private_class = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
    found = _objects(session, {**private_class, Attribute.LABEL: key_label, Attribute.ID: key_id})
    if not found:
        present = sorted(repr(o[Attribute.LABEL]) for o in _objects(session, private_class))
        hint = (
            "Generate one (sceau gateway init --pkcs11), or import a PKCS#8 PEM key: "
            f"softhsm2-util --import key.pem --token {shared.token_label} "
            f"--label {key_label or 'LABEL'} --id 01 --pin PIN"
            if shared.module.is_softhsm
            else "Check the key's label with the HSM's tools (pkcs11-tool --list-objects)."
        )
        raise KeyMaterialError(
            f"no {what} (private keys there: {', '.join(present) or 'none'})", hint=hint
        )
    if len(found) > 1:
        raise KeyMaterialError(
            f"{len(found)} private keys match: {what}", hint="Name the key by id as well."
        )
    private = found[0]
    key_type = private.key_type
    # The public key object shares the private key's id (PKCS#11 v2.40 §4.4), else its label.
    searches = [{Attribute.ID: private.id}] if private.id else []
    searches += [{Attribute.LABEL: private.label}] if private.label else []
    for search in searches:
        public_class = {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: key_type}
        public = _objects(session, {**public_class, **search})
        if len(public) == 1:
            return private, _public_from_attributes(key_type, public[0], what)
    if key_type == KeyType.RSA:
        return private, _public_from_attributes(key_type, private, what)
    raise KeyMaterialError(
        f"no public key object beside the {what}",
        hint="Store the public key on the token with the same id as the private key "
        "(softhsm2-util --import does, unless given --no-public-key).",
    )


def _verify(public_key: PublicKey, signature: bytes, data: bytes) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    else:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def _require_mechanisms(login: TokenLogin, algorithm: KeyAlgorithm, purpose: str) -> None:
    """Refuse a token that lacks a mechanism ``purpose`` needs. Hold ``module.lock``."""
    needed = [_SIGN_MECHANISM[algorithm]]
    if purpose == "generate":
        needed.insert(0, _GENERATE_MECHANISM[algorithm])
    offered = login.session.token.slot.get_mechanisms()
    for mechanism in needed:
        if mechanism not in offered:
            raise KeyMaterialError(
                f"token '{login.token_label}' does not offer {mechanism.name} "
                f"(CKM_{mechanism.name}), needed to {purpose} {algorithm.value} keys",
                hint="Use a key of another algorithm (EC P-256 is the default), "
                "or an HSM that supports this mechanism.",
            )


class Pkcs11Signer:
    """A signer over a private key on a PKCS#11 token. Open one with :meth:`open`.

    Close it (or use it as a context manager): the last signer on a token logs out.
    One signer may be shared between threads; signatures are serialised per module.
    """

    def __init__(
        self, shared: TokenLogin, private: Any, public_key: PublicKey, description: str
    ) -> None:
        self._login: TokenLogin | None = shared
        self._private = private
        self._public_key = public_key
        self._algorithm = KeyAlgorithm.of(public_key)
        self._description = description

    @classmethod
    def open(
        cls,
        module_path: str | os.PathLike[str],
        *,
        pin: str,
        token_label: str | None = None,
        slot_id: int | None = None,
        key_label: str | None = None,
        key_id: bytes | None = None,
    ) -> Pkcs11Signer:
        """Log in to the token (by label, or slot id) and find the key (by label, or id)."""
        shared = log_in(module_path, token_label=token_label, slot_id=slot_id, pin=pin)
        module = shared.module
        with module.lock:
            try:
                private, public_key = _find_keys(shared, key_label, key_id)
                algorithm = KeyAlgorithm.of(public_key)
                _require_mechanisms(shared, algorithm, "sign with")
                description = f"{_key_description(key_label, key_id)} on '{shared.token_label}'"
                signer = cls(shared, private, public_key, description)
                probe = b"sceau pkcs11 self-test"
                try:
                    _verify(public_key, signer._sign_locked(probe), probe)
                except InvalidSignature:
                    raise KeyMaterialError(
                        f"the public key found beside the private key {description} "
                        "does not match it",
                        hint="Two key pairs share a label or id; give each its own.",
                    ) from None
            except BaseException:
                release(shared)
                raise
        _log.info("opened PKCS#11 key %s (%s)", description, algorithm.value)
        return signer

    @classmethod
    def from_uri(
        cls,
        uri: str | Pkcs11Uri,
        *,
        module_path: str | os.PathLike[str] | None = None,
        pin: str | None = None,
    ) -> Pkcs11Signer:
        """Open the key a ``pkcs11:`` URI names; arguments override the URI's module and PIN."""
        parsed = parse_pkcs11_uri(uri) if isinstance(uri, str) else uri
        module = module_path if module_path is not None else parsed.module_path
        if module is None:
            raise KeyMaterialError(
                "no PKCS#11 module was given",
                hint=f"Add module-path=... to the pkcs11: URI (SoftHSM2: {SOFTHSM2_MODULE}).",
            )
        secret = pin if pin is not None else parsed.pin()
        if secret is None:
            raise KeyMaterialError(
                "no PIN was given for the PKCS#11 token",
                hint="Add pin-source=file:/path/to/pin (mode 0600) to the pkcs11: URI.",
            )
        return cls.open(
            module,
            pin=secret,
            token_label=parsed.token_label,
            slot_id=parsed.slot_id,
            key_label=parsed.key_label,
            key_id=parsed.key_id,
        )

    @property
    def algorithm(self) -> KeyAlgorithm:
        return self._algorithm

    @property
    def closed(self) -> bool:
        return self._login is None

    def public_key(self) -> PublicKey:
        return self._public_key

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: ECDSA-SHA256 (DER), RSA PKCS#1 v1.5 SHA-256, or pure Ed25519."""
        shared = self._login
        if shared is None:
            raise KeyMaterialError(f"the PKCS#11 signer for {self._description} is closed")
        with shared.module.lock:
            return self._sign_locked(data)

    def _sign_locked(self, data: bytes) -> bytes:
        mechanism = _SIGN_MECHANISM[self._algorithm]
        try:
            if self._algorithm is KeyAlgorithm.EC_P256:
                raw = self._private.sign(hashlib.sha256(data).digest(), mechanism=mechanism)
                half = len(raw) // 2
                r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
                return encode_dss_signature(r, s)
            return cast(bytes, self._private.sign(data, mechanism=mechanism))
        except pkcs11.PKCS11Error as exc:
            raise KeyMaterialError(
                f"the token failed to sign with {self._description}: {type(exc).__name__}",
                hint="Check that the token is still present; reopen the signer.",
            ) from exc

    def close(self) -> None:
        """Release the session; the last signer on a token logs out. Idempotent."""
        shared, self._login = self._login, None
        if shared is not None:
            with shared.module.lock:
                release(shared)

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self._algorithm.value
        return f"Pkcs11Signer({self._description}, {state})"


def generate_keypair_on_token(
    module_path: str | os.PathLike[str],
    *,
    token_label: str,
    pin: str,
    key_label: str,
    algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
    key_id: bytes | None = None,
) -> PublicKey:
    """Generate a signing key pair on a token and return its public key.

    The private key is sensitive, not extractable, and may only sign. The id is
    random (16 bytes) unless given. A label already used by a private key is refused.
    """
    shared = log_in(module_path, token_label=token_label, slot_id=None, pin=pin)
    module = shared.module
    with module.lock:
        try:
            _require_mechanisms(shared, algorithm, "generate")
            wanted = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: key_label}
            if _objects(shared.session, wanted):
                raise KeyMaterialError(
                    f"token '{token_label}' already holds a private key labelled '{key_label}'",
                    hint="Choose another label, or delete the old key with the HSM's tools.",
                )
            # Joins the login of the shared session: no PIN, so closing it does not log out.
            what = f"the new key '{key_label}' on token '{token_label}'"
            with shared.session.token.open(rw=True) as rw:
                public = _generate(rw, algorithm, key_label, key_id or secrets.token_bytes(16))
                return _public_from_attributes(public.key_type, public, what)
        except pkcs11.PKCS11Error as exc:
            raise KeyMaterialError(
                f"token '{token_label}' could not generate a {algorithm.value} key: {exc!r}",
                hint="Check that the token is writable and supports this algorithm.",
            ) from exc
        finally:
            release(shared)


def _generate(session: Any, algorithm: KeyAlgorithm, label: str, key_id: bytes) -> Any:
    common: dict[str, Any] = {
        "store": True,
        "label": label,
        "id": key_id,
        "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
        "private_template": {Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
    }
    if algorithm is KeyAlgorithm.RSA_3072:
        public, _ = session.generate_keypair(KeyType.RSA, 3072, **common)
    elif algorithm is KeyAlgorithm.EC_P256:
        public, _ = session.generate_keypair(
            KeyType.EC, public_template={Attribute.EC_PARAMS: _P256_PARAMS}, **common
        )
    else:
        public, _ = session.generate_keypair(
            KeyType.EC_EDWARDS,
            mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            public_template={Attribute.EC_PARAMS: _ED25519_PARAMS[0]},
            **common,
        )
    return public


__all__ = ["SOFTHSM2_MODULE", "Pkcs11Signer", "generate_keypair_on_token", "unload_module"]
