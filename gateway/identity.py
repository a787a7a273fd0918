"""The gateway's keys and certificates: created by ``init``, completed by ``enroll``.

Keys (PEM, mode 0600, under ``keys/``): ``tls.key`` (ECDSA P-256, the mTLS client
identity), ``seal.key`` (ECDSA P-256, CAdES seals of manifests and receipts),
``journal.key`` (Ed25519, checkpoints), and ``blob.key`` (32 random bytes, the master
key of blobs at rest). ``init`` also writes the two CSRs and the journal's verifier key
under ``certs/``. Nothing is ever overwritten.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.blob_crypto import read_master_key, write_master_key
from gateway.errors import GatewayConfigError, NotEnrolled
from gateway.key_switch import finish_switch
from gateway.settings import Enrollment, GatewayPaths, GatewaySettings
from trust.checkpoint import VerifierKey
from trust.errors import KeyMaterialError, MalformedInputError
from trust.evidence import SealingIdentity
from trust.keys import FileSigner, KeyAlgorithm
from trust.pki import load_certificates_file, make_csr, public_key_matches


def journal_origin(settings: GatewaySettings) -> str:
    """The checkpoint origin (and journal key name) of this gateway's journal."""
    return f"sceau-gateway/{settings.company_register}/{settings.branch_code}"


def init_data_dir(settings: GatewaySettings) -> list[str]:
    """Create the data directory, keys, CSRs and settings; returns what was written.

    Refuses a directory that already holds a gateway (keys are never replaced).
    """
    paths = settings.paths
    if paths.settings.exists() or paths.tls_key.exists():
        raise GatewayConfigError(
            f"{paths.root} already holds a gateway",
            hint="Use another --data directory; keys are never overwritten.",
        )
    for folder in (paths.root, paths.keys, paths.certs):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    org = f"{settings.company_register}:{settings.branch_code}"
    written = []
    for name, path, csr_path in (
        ("TLS", paths.tls_key, paths.tls_csr),
        ("seal", paths.seal_key, paths.seal_csr),
    ):
        signer = FileSigner.generate(KeyAlgorithm.EC_P256)
        signer.save(path)
        csr = make_csr(
            signer.private_key, common_name=f"sceau gateway {name} {org}", organization=org
        )
        csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        written += [str(path), str(csr_path)]
    journal = FileSigner.generate(KeyAlgorithm.ED25519)
    journal.save(paths.journal_key)
    vkey = VerifierKey.for_signer(journal_origin(settings), journal)
    paths.journal_vkey.write_text(vkey.encode() + "\n", "utf-8")
    write_master_key(paths.blob_key)
    settings.save()
    return [*written, str(paths.journal_key), str(paths.journal_vkey), str(paths.blob_key)]


@dataclass(frozen=True)
class GatewayIdentity:
    """Everything the running gateway signs, seals and authenticates with."""

    seal: SealingIdentity
    journal_signer: FileSigner
    journal_vkey: VerifierKey
    witness_vkey: VerifierKey
    hub_ca: tuple[x509.Certificate, ...]
    blob_key: bytes
    enrollment: Enrollment

    @classmethod
    def load(cls, settings: GatewaySettings) -> GatewayIdentity:
        paths = settings.paths
        finish_switch(paths)  # a key rotation killed mid-switch (gateway.key_switch)
        enrollment = Enrollment.load(paths)
        try:
            seal_signer = FileSigner.load(paths.seal_key)
            journal_signer = FileSigner.load(paths.journal_key)
            seal_chain = load_certificates_file(paths.seal_cert)
            hub_ca = tuple(load_certificates_file(paths.hub_ca))
            journal_vkey = VerifierKey.parse(paths.journal_vkey.read_text("utf-8").strip())
            witness_vkey = VerifierKey.parse(paths.witness_vkey.read_text("utf-8").strip())
            blob_key = read_master_key(paths.blob_key)
        except FileNotFoundError as exc:
            raise NotEnrolled(f"missing {exc.filename}") from None
        except (KeyMaterialError, MalformedInputError) as exc:
            raise GatewayConfigError(exc.message) from exc
        except (OSError, ValueError) as exc:
            raise GatewayConfigError(f"cannot load the gateway's keys: {exc}") from exc
        if not public_key_matches(seal_chain[0], seal_signer.public_key()):
            raise GatewayConfigError(f"{paths.seal_cert} is not the certificate of the seal key")
        return cls(
            seal=SealingIdentity(seal_signer, seal_chain[0], tuple(seal_chain[1:])),
            journal_signer=journal_signer,
            journal_vkey=journal_vkey,
            witness_vkey=witness_vkey,
            hub_ca=hub_ca,
            blob_key=blob_key,
            enrollment=enrollment,
        )


def link_ssl_context(paths: GatewayPaths) -> ssl.SSLContext:
    """mTLS to the hub: our enrolled TLS certificate, the hub CA pinned, TLS 1.3 preferred.

    Only the pinned CA is trusted (not the system store); the hub's certificate must
    also name the host of the hub URL. TLS 1.2 is the floor (LINK.md).
    """
    finish_switch(paths)
    if not paths.tls_cert.exists():
        raise NotEnrolled(f"{paths.root} has no TLS certificate yet")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(paths.hub_ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(paths.tls_cert), str(paths.tls_key))
    return context
