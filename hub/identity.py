"""The hub's keys and certificates, created once by ``sceau hub init``.

Under ``<data>/keys/`` (0700), private keys 0600:

| file | what |
|---|---|
| ``ca.key``, ``ca.pem`` | the enrollment CA (a root): issues gateways' TLS client and seal certificates, and the hub's own TLS server and TSA certificates |
| ``tls.key``, ``tls.pem`` | the hub's TLS server certificate (SANs from ``--host``) |
| ``tsa.key``, ``tsa.pem`` | the TSA's certificate (critical, sole timeStamping EKU) |
| ``witness.key``, ``witness.vkey`` | the witness's Ed25519 key and its C2SP verifier key (cosignature v1) |
| ``journal.key``, ``journal.vkey`` | the Ed25519 key that signs the hub's own journal checkpoints |

Everything is ECDSA P-256 but the two note keys (Ed25519, as C2SP requires).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hub.errors import HubConfigError
from hub.settings import HubConfig
from trust.checkpoint import SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, VerifierKey
from trust.keys import FileSigner, KeyAlgorithm, write_private_key
from trust.pki import CertificateAuthority, CertProfile, certificate_pem, load_certificates_file
from trust.tsa import TimeStampAuthority

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
_FILES = ("ca", "tls", "tsa")


@dataclass(frozen=True)
class HubIdentity:
    """The hub's CA, server TLS files, TSA, witness and journal keys."""

    ca: CertificateAuthority
    tls_certificate: Path
    tls_key: Path
    tsa: TimeStampAuthority
    witness: FileSigner
    witness_key: VerifierKey
    journal: FileSigner
    journal_key: VerifierKey

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self.ca.certificate

    @property
    def ca_fingerprint(self) -> str:
        """SHA-256 of the CA certificate (DER), for gateways to pin."""
        return hashlib.sha256(self.ca.certificate.public_bytes(Encoding.DER)).hexdigest()


def _write_public(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o644)


def create_identity(
    config: HubConfig, *, hosts: tuple[str, ...] = DEFAULT_HOSTS, now: dt.datetime | None = None
) -> HubIdentity:
    """Create every key and certificate under ``config.keys_dir``; refuse to overwrite."""
    keys = config.keys_dir
    if keys.exists() and any(keys.iterdir()):
        raise HubConfigError(
            f"{keys} already holds keys; refusing to replace the hub's identity",
            hint="Keep them (the gateways trust this CA), or move the folder away first.",
        )
    dns = tuple(h for h in hosts if not _is_ip(h))
    ips = tuple(h for h in hosts if _is_ip(h))
    if not hosts:
        raise HubConfigError("--host: give at least one name or address for the TLS certificate")
    try:
        keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HubConfigError(f"cannot create {keys}: {exc.strerror}") from exc
    ca = CertificateAuthority.create_root(
        f"{config.name} enrollment CA", organization="Sceau hub", days=3650, now=now
    )
    write_private_key(keys / "ca.key", ca.private_key)
    _write_public(keys / "ca.pem", certificate_pem(ca.certificate))

    def issue(stem: str, profile: CertProfile, common_name: str, **names: tuple[str, ...]) -> None:
        signer = FileSigner.generate(KeyAlgorithm.EC_P256)
        cert = ca.issue(
            signer.public_key(),
            common_name=common_name,
            organization="Sceau hub",
            profile=profile,
            days=config.certificate_days,
            now=now,
            dns_names=names.get("dns", ()),
            ip_addresses=names.get("ips", ()),
        )
        signer.save(keys / f"{stem}.key")
        _write_public(keys / f"{stem}.pem", certificate_pem(cert))

    issue("tls", CertProfile.TLS_SERVER, dns[0] if dns else ips[0], dns=dns, ips=ips)
    issue("tsa", CertProfile.TSA, f"{config.name} TSA")
    for stem, sig_type, name in (
        ("witness", SIG_TYPE_COSIGNATURE_V1, config.witness_key_name),
        ("journal", SIG_TYPE_ED25519, config.name),
    ):
        signer = FileSigner.generate(KeyAlgorithm.ED25519)
        signer.save(keys / f"{stem}.key")
        vkey = VerifierKey.for_signer(name, signer, sig_type=sig_type)
        _write_public(keys / f"{stem}.vkey", (vkey.encode() + "\n").encode())
    return load_identity(config)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _one_certificate(path: Path) -> x509.Certificate:
    if not path.is_file():
        raise HubConfigError(f"{path} is missing")
    return load_certificates_file(path)[0]


def load_identity(config: HubConfig) -> HubIdentity:
    """Load the identity ``create_identity`` wrote. Blocks (file reads)."""
    keys = config.keys_dir
    for stem in (*_FILES, "witness", "journal"):
        if not (keys / f"{stem}.key").is_file():
            raise HubConfigError(f"{keys / (stem + '.key')} is missing")
    ca = CertificateAuthority(
        _one_certificate(keys / "ca.pem"), FileSigner.load(keys / "ca.key").private_key
    )
    tsa_signer = FileSigner.load(keys / "tsa.key")
    tsa = TimeStampAuthority(
        signer=tsa_signer, certificate=_one_certificate(keys / "tsa.pem"), chain=(ca.certificate,)
    )
    witness = FileSigner.load(keys / "witness.key")
    journal = FileSigner.load(keys / "journal.key")
    if not (keys / "tls.pem").is_file():
        raise HubConfigError(f"{keys / 'tls.pem'} is missing")
    return HubIdentity(
        ca=ca,
        tls_certificate=keys / "tls.pem",
        tls_key=keys / "tls.key",
        tsa=tsa,
        witness=witness,
        witness_key=VerifierKey.for_signer(
            config.witness_key_name, witness, sig_type=SIG_TYPE_COSIGNATURE_V1
        ),
        journal=journal,
        journal_key=VerifierKey.for_signer(config.name, journal),
    )
