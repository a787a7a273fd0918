"""Key rotation on the hub's side: certify a gateway's new keys, then retire the old.

``POST /link/v1/gateway/renewal`` (authenticated by the gateway's *current* TLS
certificate, no token) carries two CSRs. The hub checks they name the caller's
organisation, issues a TLS and a seal certificate with the enrollment's profiles and
subjects (:meth:`hub.enrollment.Enrollment.issue`), registers both for the gateway and
records a ``pending`` renewal, journaled as ``gateway.renewal.requested``. From then
on both pairs open the link API and seal.

``POST /link/v1/gateway/renewal/complete``, called with the *new* TLS certificate (the
proof the gateway switched), retires every other certificate of the gateway and
journals ``gateway.renewal.completed``. A retired TLS certificate is refused; a retired
seal certificate still answers for seals signed before its retirement (queued
dossiers), never after. Evidence made before stays verifiable offline: bundles carry
their certificates, which chain to the hub's CA (docs/KEYS.md).

Both calls are idempotent from the gateway's side: a new request replaces a pending
one (``superseded``), and completing twice answers the same.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from hub.enrollment import Enrollment, certificate_fingerprint, organization_name
from hub.errors import RenewalOutOfOrder
from hub.fact_sink import HubSink
from hub.link_model import CertificateKind, LinkCaller, RegisteredCertificate
from hub.link_tx import link_tx
from hub.renewal_tx import RenewalRecord, RenewalState, renewal_tx
from hubee.errors import ValidationFailed
from hubee.store import Store, StoreTx
from trust.pki import CertProfile


@dataclass(frozen=True)
class RenewalRequest:
    tls_csr: x509.CertificateSigningRequest
    seal_csr: x509.CertificateSigningRequest


@dataclass(frozen=True)
class Renewed:
    renewal_id: str
    gateway_id: str
    tls_certificate: x509.Certificate
    seal_certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Completed:
    renewal_id: str
    gateway_id: str
    completed_at: datetime
    retired: tuple[str, ...]  # serials (hex) of the certificates retired


def _registered(
    cert: x509.Certificate, gateway_id: str, kind: CertificateKind
) -> RegisteredCertificate:
    return RegisteredCertificate(
        fingerprint=certificate_fingerprint(cert),
        serial=format(cert.serial_number, "x"),
        gateway_id=gateway_id,
        kind=kind,
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


def _check_csr(csr: x509.CertificateSigningRequest, field: str, organization: str) -> None:
    names = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if names != [organization]:
        raise ValidationFailed(
            field, f"must name the calling gateway's organisation O={organization}, not {names}"
        )


class Renewals:
    def __init__(self, store: Store, sink: HubSink, enrollment: Enrollment) -> None:
        self._store = store
        self._sink = sink
        self._enrollment = enrollment

    async def request(
        self, caller: LinkCaller, request: RenewalRequest, *, now: datetime
    ) -> Renewed:
        """Certify the new keys of the calling gateway; both pairs valid until completion."""
        gateway, org = caller.gateway, caller.org
        organization = organization_name(org)
        _check_csr(request.tls_csr, "tlsCsr", organization)
        _check_csr(request.seal_csr, "sealCsr", organization)
        if request.tls_csr.public_key() == request.seal_csr.public_key():
            raise ValidationFailed("sealCsr", "must hold another key than tlsCsr")
        fingerprint = caller.certificate.fingerprint

        def check(tx: StoreTx) -> None:
            found = renewal_tx(tx).by_new_tls(fingerprint)
            if found is not None and found.state is RenewalState.PENDING:
                raise RenewalOutOfOrder(
                    "this certificate is the new one of a pending key rotation: complete it "
                    "(POST /link/v1/gateway/renewal/complete) before asking for another"
                )

        await self._store.read(check)
        issue = self._enrollment.issue
        tls = issue(request.tls_csr, "tlsCsr", CertProfile.TLS_CLIENT, gateway.id, org, now)
        seal = issue(
            request.seal_csr, "sealCsr", CertProfile.SEAL, org.name or org.ref.key, org, now
        )
        renewal_id = str(uuid.uuid4())

        def register(tx: StoreTx) -> None:
            link, renewals = link_tx(tx), renewal_tx(tx)
            for earlier in renewals.pending(gateway.id):
                renewals.close(earlier.id, RenewalState.SUPERSEDED, at=now)
            for cert, kind in ((tls, CertificateKind.TLS), (seal, CertificateKind.SEAL)):
                link.insert_certificate(_registered(cert, gateway.id, kind))
            renewals.insert(
                RenewalRecord(
                    id=renewal_id,
                    gateway_id=gateway.id,
                    old_tls=fingerprint,
                    new_tls=certificate_fingerprint(tls),
                    new_seal=certificate_fingerprint(seal),
                    requested_at=now,
                    state=RenewalState.PENDING,
                )
            )
            self._sink.record(
                tx,
                "gateway.renewal.requested",
                gateway.id,
                now,
                {
                    "org": org.ref.key,
                    "renewal": renewal_id,
                    "byTlsSerial": caller.certificate.serial,
                    "tlsSerial": format(tls.serial_number, "x"),
                    "sealSerial": format(seal.serial_number, "x"),
                },
            )

        await self._store.write(register)
        return Renewed(renewal_id, gateway.id, tls, seal, self._enrollment.chain)

    async def complete(self, caller: LinkCaller, *, now: datetime) -> Completed:
        """The gateway switched (it calls with the new certificate): retire the others."""
        fingerprint = caller.certificate.fingerprint
        gateway = caller.gateway

        def work(tx: StoreTx) -> Completed:
            link, renewals = link_tx(tx), renewal_tx(tx)
            found = renewals.by_new_tls(fingerprint)
            if found is None or found.state is RenewalState.SUPERSEDED:
                raise RenewalOutOfOrder(
                    "no key rotation awaits completion with this certificate: complete it with "
                    "the new certificate the renewal issued"
                )
            if found.state is RenewalState.COMPLETED:
                assert found.closed_at is not None
                retired = sorted(
                    c.serial
                    for c in link.certificates_of(gateway.id)
                    if renewals.retired_at(c.fingerprint) == found.closed_at
                )
                return Completed(found.id, gateway.id, found.closed_at, tuple(retired))
            kept = {found.new_tls, found.new_seal}
            serials = []
            for cert in link.certificates_of(gateway.id):
                if cert.fingerprint in kept:
                    continue
                if renewals.retire(cert.fingerprint, at=now, renewal_id=found.id):
                    serials.append(cert.serial)
            renewals.close(found.id, RenewalState.COMPLETED, at=now)
            self._sink.record(
                tx,
                "gateway.renewal.completed",
                gateway.id,
                now,
                {"renewal": found.id, "retiredSerials": sorted(serials)},
            )
            return Completed(found.id, gateway.id, now, tuple(sorted(serials)))

        return await self._store.write(work)
