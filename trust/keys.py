"""Keys and signers.

A :class:`Signer` signs bytes with a private key it may never reveal (a PEM
file here, a PKCS#11 token in :mod:`trust.pkcs11_signer`). Algorithms:

- ECDSA P-256 with SHA-256 (the default): DER ``Ecdsa-Sig-Value`` signatures;
- Ed25519 (pure, RFC 8032): 64-byte signatures;
- RSA-3072 with PKCS#1 v1.5 and SHA-256.

Private key files are written mode 0600 and refused when group- or
world-accessible, like ssh does.
"""

from __future__ import annotations

import enum
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from trust.errors import KeyMaterialError

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey


class KeyAlgorithm(enum.Enum):
    EC_P256 = "ec-p256"
    ED25519 = "ed25519"
    RSA_3072 = "rsa-3072"

    @classmethod
    def of(cls, key: PrivateKey | PublicKey) -> KeyAlgorithm:
        if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise KeyMaterialError(
                    f"unsupported elliptic curve {key.curve.name}",
                    hint="Use a P-256 (prime256v1) key.",
                )
            return cls.EC_P256
        if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            return cls.ED25519
        if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            if key.key_size < 2048:
                raise KeyMaterialError(
                    f"RSA key of {key.key_size} bits is too short",
                    hint="Use an RSA key of at least 2048 bits (3072 recommended).",
                )
            return cls.RSA_3072
        raise KeyMaterialError(f"unsupported key type {type(key).__name__}")


@runtime_checkable
class Signer(Protocol):
    """Something that signs with a private key it keeps to itself."""

    @property
    def algorithm(self) -> KeyAlgorithm: ...

    def public_key(self) -> PublicKey: ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: ECDSA-SHA256 (DER), RSA PKCS#1 v1.5 SHA-256, or pure Ed25519."""
        ...


def generate_private_key(algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256) -> PrivateKey:
    if algorithm is KeyAlgorithm.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1V15 = padding.PKCS1v15()


def sign_with_key(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, _ECDSA_SHA256)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, _PKCS1V15, _SHA256)


@dataclass(frozen=True)
class FileSigner:
    """A signer over an in-memory private key, usually loaded from a PEM file."""

    private_key: PrivateKey

    @property
    def algorithm(self) -> KeyAlgorithm:
        return KeyAlgorithm.of(self.private_key)

    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        return sign_with_key(self.private_key, data)

    @classmethod
    def generate(cls, algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256) -> FileSigner:
        return cls(generate_private_key(algorithm))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, password: bytes | None = None) -> FileSigner:
        return cls(load_private_key(path, password=password))

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        write_private_key(path, self.private_key, overwrite=overwrite)


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_private_key(
    path: str | os.PathLike[str], key: PrivateKey, *, overwrite: bool = False
) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, created mode 0600, fsynced."""
    target = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise KeyMaterialError(
            f"{target} already exists; refusing to overwrite a key",
            hint="Move the old key away first, or choose another path.",
        ) from None
    except OSError as exc:
        raise KeyMaterialError(f"cannot create {target}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, private_key_pem(key))
        os.fsync(fd)
    finally:
        os.close(fd)


def check_key_file_mode(path: Path) -> None:
    """Refuse a key file that anyone but its owner may read or write."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyMaterialError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o})",
            hint=f"Run: chmod 600 {path}",
        )


def load_private_key(path: str | os.PathLike[str], *, password: bytes | None = None) -> PrivateKey:
    """Load a PEM (PKCS#8, SEC1 or PKCS#1) private key, refusing lax permissions."""
    source = Path(path)
    check_key_file_mode(source)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {source}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(
            f"{source} is not a usable PEM private key: {exc}",
            hint="Give an unencrypted PEM key (EC P-256, Ed25519 or RSA), as openssl writes it.",
        ) from exc
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyMaterialError(f"{source} holds an unsupported key type {type(key).__name__}")
    KeyAlgorithm.of(key)
    return key


def load_public_key_pem(data: bytes) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise KeyMaterialError(f"unsupported public key type {type(key).__name__}")
    return key
