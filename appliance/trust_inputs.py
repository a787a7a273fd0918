"""Loading keys, certificates and trust material named on the command line."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from trust.checkpoint import VerifierKey
from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import FileSigner, KeyAlgorithm
from trust.pki import load_certificates_file


def read_verifier_keys(paths: tuple[Path, ...]) -> tuple[VerifierKey, ...]:
    """C2SP verifier keys (``name+keyid+base64``), one per file."""
    keys = []
    for path in paths:
        try:
            text = path.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyMaterialError(f"cannot read verifier key {path}: {exc}") from exc
        try:
            keys.append(VerifierKey.parse(text))
        except MalformedInputError as exc:
            raise KeyMaterialError(
                f"{path} is not a C2SP verifier key: {exc.message}",
                hint="Give the .vkey file written next to the journal key (name+keyid+base64).",
            ) from exc
    return tuple(keys)


def read_certificates(paths: tuple[Path, ...]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in paths:
        try:
            certs += load_certificates_file(path)
        except MalformedInputError as exc:
            raise KeyMaterialError(exc.message, hint="Give PEM or DER X.509 certificates.") from exc
    return certs


def journal_signer(key_path: Path, *, create: bool) -> FileSigner:
    """The journal's Ed25519 key; created (0600) with its .vkey when missing and allowed."""
    if not key_path.exists() and create:
        signer = FileSigner.generate(KeyAlgorithm.ED25519)
        signer.save(key_path)
        return signer
    signer = FileSigner.load(key_path)
    if signer.algorithm is not KeyAlgorithm.ED25519:
        raise KeyMaterialError(
            f"the journal key {key_path} is {signer.algorithm.value}, not Ed25519",
            hint="Checkpoints are C2SP signed notes: generate one with `openssl genpkey -algorithm ed25519`.",
        )
    return signer


def write_vkey(path: Path, key: VerifierKey) -> None:
    path.write_text(key.encode() + "\n", "utf-8")
