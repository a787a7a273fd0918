"""Enrollment: one-time tokens, and certificates issued from a gateway's CSRs.

``sceau hub enrollment-token ORG`` makes a token: 256 random bits, shown once, stored
as its SHA-256 with the organisation and an expiry. ``POST /link/v1/enroll`` spends
it: the hub checks both CSRs' self-signatures, issues a TLS client certificate (CN =
the new gateway's id) and a seal certificate (CN = the organisation's name), both
with ``O=<companyRegister>:<branchCode>``, and registers the gateway, its
certificates and its journal key, marking the token used in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.errors import EnrollmentRefused
from hub.fact_sink import HubSink
from hub.link_model import CertificateKind, Gateway, RegisteredCertificate
from hub.link_tx import link_tx
from hubee.errors import NotFound, ValidationFailed
from hubee.model import Organization, OrgType
from hubee.store import Store, StoreTx
from trust.checkpoint import SIG_TYPE_ED25519, VerifierKey
from trust.errors import TrustError
from trust.journal import rfc3339
from trust.pki import CertificateAuthority, CertProfile

TOKEN_BYTES = 32


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def certificate_fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def organization_name(org: Organization) -> str:
    """The ``O=`` of a gateway's certificates: ``<companyRegister>:<branchCode>``."""
    return f"{org.ref.company_register}:{org.ref.branch_code}"


@dataclass(frozen=True)
class EnrollmentRequest:
    token: str
    tls_csr: x509.CertificateSigningRequest
    seal_csr: x509.CertificateSigningRequest
    journal_key: VerifierKey


@dataclass(frozen=True)
class Enrolled:
    gateway_id: str
    org: Organization
    tls_certificate: x509.Certificate
    seal_certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


class EnrollmentTokens:
    """One-time tokens, made by the hub's operator (``sceau hub enrollment-token``)."""

    def __init__(self, store: Store, sink: HubSink) -> None:
        self._store = store
        self._sink = sink

    async def new_token(
        self, company_register: str, branch_code: str, *, now: datetime, ttl: timedelta
    ) -> tuple[str, Organization, datetime]:
        """A fresh token for the organisation; returns it (shown once), the org, the expiry."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires = now + ttl

        def work(tx: StoreTx) -> Organization:
            org = tx.org_by_ref(company_register, branch_code)
            if org is None:
                raise NotFound(f"no organization {company_register}/{branch_code}")
            if org.ref.type is OrgType.ADMIN:
                raise ValidationFailed("ORG", "the hub's admin organization has no gateway")
            link_tx(tx).insert_token(token_hash(token), org.id, at=now, expires_at=expires)
            self._sink.record(
                tx,
                "enrollment.token",
                org.id,
                now,
                {"org": org.ref.key, "expires": rfc3339(expires)},
            )
            return org

        return token, await self._store.write(work), expires


class Enrollment:
    """Spends a token: certificates from the gateway's CSRs, and its registration."""

    def __init__(
        self, store: Store, sink: HubSink, ca: CertificateAuthority, *, certificate_days: int
    ) -> None:
        self._store = store
        self._sink = sink
        self._ca = ca
        self._days = certificate_days
        self.tokens = EnrollmentTokens(store, sink)

    async def new_token(
        self, company_register: str, branch_code: str, *, now: datetime, ttl: timedelta
    ) -> tuple[str, Organization, datetime]:
        """:meth:`EnrollmentTokens.new_token`."""
        return await self.tokens.new_token(company_register, branch_code, now=now, ttl=ttl)

    async def enroll(self, request: EnrollmentRequest, *, now: datetime) -> Enrolled:
        hashed = token_hash(request.token)

        def check(tx: StoreTx) -> Organization:
            found = link_tx(tx).token(hashed)
            if found is None:
                raise EnrollmentRefused("unknown enrollment token")
            org_id, expires, used = found
            if used is not None:
                raise EnrollmentRefused(
                    f"enrollment token already used (at {used:%Y-%m-%dT%H:%M:%SZ})"
                )
            if now >= expires:
                raise EnrollmentRefused(
                    f"enrollment token expired (at {expires:%Y-%m-%dT%H:%M:%SZ})"
                )
            org = tx.org(org_id)
            assert org is not None
            return org

        org = await self._store.read(check)
        if request.journal_key.sig_type != SIG_TYPE_ED25519:
            raise ValidationFailed("journalKey", "must be an Ed25519 note key (type 0x01)")
        spki = PublicFormat.SubjectPublicKeyInfo
        if request.tls_csr.public_key().public_bytes(Encoding.DER, spki) == (
            request.seal_csr.public_key().public_bytes(Encoding.DER, spki)
        ):
            raise ValidationFailed("sealCsr", "must hold another key than tlsCsr")
        gateway_id = str(uuid.uuid4())
        tls = self.issue(request.tls_csr, "tlsCsr", CertProfile.TLS_CLIENT, gateway_id, org, now)
        seal = self.issue(
            request.seal_csr, "sealCsr", CertProfile.SEAL, org.name or org.ref.key, org, now
        )

        def register(tx: StoreTx) -> None:
            link = link_tx(tx)
            if not link.use_token(hashed, gateway_id, at=now):
                raise EnrollmentRefused("enrollment token already used")
            link.insert_gateway(Gateway(gateway_id, org.id, request.journal_key.encode(), now))
            for kind, cert in ((CertificateKind.TLS, tls), (CertificateKind.SEAL, seal)):
                link.insert_certificate(
                    RegisteredCertificate(
                        fingerprint=certificate_fingerprint(cert),
                        serial=format(cert.serial_number, "x"),
                        gateway_id=gateway_id,
                        kind=kind,
                        subject=cert.subject.rfc4514_string(),
                        not_after=cert.not_valid_after_utc,
                    )
                )
            self._sink.record(
                tx,
                "gateway.enrolled",
                gateway_id,
                now,
                {
                    "org": org.ref.key,
                    "tlsSerial": format(tls.serial_number, "x"),
                    "sealSerial": format(seal.serial_number, "x"),
                    "journalKey": request.journal_key.encode(),
                },
            )

        await self._store.write(register)
        return Enrolled(gateway_id, org, tls, seal, self.chain)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The chain above every gateway certificate: the hub's CA."""
        return (self._ca.certificate,)

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        field: str,
        profile: CertProfile,
        common_name: str,
        org: Organization,
        now: datetime,
    ) -> x509.Certificate:
        """A certificate for ``csr`` with the enrollment's profiles, subject and validity
        (also used by key rotation, :mod:`hub.renewal`)."""
        try:
            return self._ca.issue_from_csr(
                csr,
                profile=profile,
                common_name=common_name,
                organization=organization_name(org),
                days=self._days,
                now=now,
            )
        except TrustError as exc:
            raise ValidationFailed(field, exc.message) from exc
