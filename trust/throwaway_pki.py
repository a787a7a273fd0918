"""A complete throwaway PKI for tests, the demo and training: never for production.

One root CA issues a seal certificate, a TSA certificate (critical timeStamping
EKU) and TLS server and client certificates, all for one key algorithm.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from trust.keys import FileSigner, KeyAlgorithm, write_private_key
from trust.pki import CertificateAuthority, CertProfile, certificate_pem


@dataclass(frozen=True)
class Credential:
    """A signer with its certificate and the chain up to (excluding) the root."""

    signer: FileSigner
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class ThrowawayPki:
    root: CertificateAuthority
    seal: Credential
    tsa: Credential
    tls_server: Credential
    tls_client: Credential
    journal: FileSigner

    @classmethod
    def create(
        cls,
        algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
        *,
        organization: str = "Sceau demo",
        now: dt.datetime | None = None,
    ) -> ThrowawayPki:
        root = CertificateAuthority.create_root(
            f"{organization} root CA", organization=organization, algorithm=algorithm, now=now
        )

        def issue(profile: CertProfile, cn: str, **kw: object) -> Credential:
            signer = FileSigner.generate(algorithm)
            cert = root.issue(
                signer.public_key(),
                common_name=cn,
                organization=organization,
                profile=profile,
                now=now,
                **kw,  # type: ignore[arg-type]
            )
            return Credential(signer, cert)

        return cls(
            root=root,
            seal=issue(CertProfile.SEAL, f"{organization} seal"),
            tsa=issue(CertProfile.TSA, f"{organization} TSA"),
            tls_server=issue(
                CertProfile.TLS_SERVER,
                "localhost",
                dns_names=("localhost",),
                ip_addresses=("127.0.0.1",),
            ),
            tls_client=issue(CertProfile.TLS_CLIENT, f"{organization} client"),
            journal=FileSigner.generate(KeyAlgorithm.ED25519),
        )

    def write_to(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        """Write every key (0600) and certificate as PEM; return the paths by name."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}

        def put(name: str, data: bytes) -> None:
            path = out / name
            path.write_bytes(data)
            paths[name] = path

        put("root-ca.pem", certificate_pem(self.root.certificate))
        write_private_key(out / "root-ca.key", self.root.private_key, overwrite=True)
        paths["root-ca.key"] = out / "root-ca.key"
        for label in ("seal", "tsa", "tls_server", "tls_client"):
            cred: Credential = getattr(self, label)
            stem = label.replace("_", "-")
            put(f"{stem}.pem", certificate_pem(cred.certificate))
            write_private_key(out / f"{stem}.key", cred.signer.private_key, overwrite=True)
            paths[f"{stem}.key"] = out / f"{stem}.key"
        write_private_key(out / "journal.key", self.journal.private_key, overwrite=True)
        paths["journal.key"] = out / "journal.key"
        return paths
