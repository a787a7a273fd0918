"""The gateway registry: who a client certificate is, listing, and revocation.

A link request is authenticated by its TLS client certificate (verified against the
hub's CA during the handshake); :meth:`Gateways.caller` then looks up its SHA-256
fingerprint on every request, so a revocation (``sceau hub gateway revoke``, possibly
from another process) takes effect on the gateway's next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.errors import CertificateRequired, CertificateRetired, CertificateRevoked, ForeignSeal
from hub.fact_sink import HubSink
from hub.link_model import (
    CertificateKind,
    Gateway,
    LinkCaller,
    RegisteredCertificate,
    WitnessAlert,
    Witnessed,
)
from hub.link_tx import link_tx
from hub.renewal_tx import renewal_tx
from hubee.errors import NotFound
from hubee.model import Organization
from hubee.store import Store, StoreTx


@dataclass(frozen=True)
class GatewayRecord:
    gateway: Gateway
    org: Organization
    certificates: tuple[RegisteredCertificate, ...]
    last_witnessed: Witnessed | None


# How long after a key rotation a retired seal certificate still answers (hub.yaml
# ``retired_seal_grace_days``): the time a gateway needs to send what it queued.
RETIRED_SEAL_GRACE = timedelta(days=7)


class Gateways:
    def __init__(
        self, store: Store, sink: HubSink, *, retired_seal_grace: timedelta = RETIRED_SEAL_GRACE
    ) -> None:
        self._store = store
        self._sink = sink
        self._retired_seal_grace = retired_seal_grace

    async def caller(self, fingerprint: str | None) -> LinkCaller:
        """The gateway presenting the TLS certificate with this fingerprint."""
        if fingerprint is None:
            raise CertificateRequired(
                "this link call requires the gateway's client certificate (mutual TLS)"
            )

        def find(tx: StoreTx) -> LinkCaller:
            link = link_tx(tx)
            cert = link.certificate(fingerprint)
            if cert is None or cert.kind is not CertificateKind.TLS:
                raise CertificateRequired("this client certificate is not registered to a gateway")
            gateway = link.gateway(cert.gateway_id)
            assert gateway is not None
            retired = renewal_tx(tx).retired_at(fingerprint)
            if retired is not None and not gateway.revoked:
                raise CertificateRetired(
                    f"this certificate of gateway {gateway.id} was replaced by a key rotation "
                    f"(at {retired:%Y-%m-%dT%H:%M:%SZ})"
                )
            if gateway.revoked:
                raise CertificateRevoked(
                    f"the certificate of gateway {gateway.id} was revoked "
                    f"({gateway.revoked_reason or 'no reason given'})"
                )
            org = tx.org(gateway.org_id)
            assert org is not None
            return LinkCaller(gateway, org, cert)

        return await self._store.read(find)

    async def seal_owner(
        self, fingerprint: str, *, signed_at: datetime | None = None, now: datetime
    ) -> tuple[Gateway, Organization] | None:
        """The gateway and organisation a seal certificate was issued to, if any.

        A seal certificate retired by a key rotation still answers for seals made
        (``signed_at``) before its retirement, and refuses (:class:`ForeignSeal`) later
        ones: a gateway's queued dossiers, sealed before the switch, still go out. The
        signing time is the signer's own claim, so this grace is bounded: once ``now``
        is past the retirement plus ``retired_seal_grace``, the retired certificate
        answers for nothing (a stolen retired key cannot back-date seals forever).
        """

        def find(tx: StoreTx) -> tuple[Gateway, Organization] | None:
            link = link_tx(tx)
            cert = link.certificate(fingerprint)
            if cert is None or cert.kind is not CertificateKind.SEAL:
                return None
            gateway = link.gateway(cert.gateway_id)
            assert gateway is not None
            retired = renewal_tx(tx).retired_at(fingerprint)
            if retired is not None and (signed_at is None or signed_at > retired):
                raise ForeignSeal(
                    f"the seal certificate {cert.subject} of gateway {gateway.id} was replaced "
                    f"by a key rotation at {retired:%Y-%m-%dT%H:%M:%SZ}: later seals must use "
                    "the new seal key"
                )
            grace = self._retired_seal_grace
            if retired is not None and now > retired + grace:
                raise ForeignSeal(
                    f"the seal certificate {cert.subject} of gateway {gateway.id} was replaced "
                    f"by a key rotation at {retired:%Y-%m-%dT%H:%M:%SZ}, and its grace for "
                    f"dossiers queued before the switch ({grace.total_seconds() / 86400:g} "
                    "days, hub.yaml retired_seal_grace_days) is over: seal the dossier again "
                    "with the new seal key"
                )
            org = tx.org(gateway.org_id)
            assert org is not None
            return gateway, org

        return await self._store.read(find)

    async def listing(self) -> list[GatewayRecord]:
        def work(tx: StoreTx) -> list[GatewayRecord]:
            link = link_tx(tx)
            out = []
            for gateway in link.gateways():
                org = tx.org(gateway.org_id)
                assert org is not None
                out.append(
                    GatewayRecord(
                        gateway,
                        org,
                        tuple(link.certificates_of(gateway.id)),
                        link.last_witnessed(gateway.id),
                    )
                )
            return out

        return await self._store.read(work)

    async def revoke(self, gateway_id: str, *, reason: str, now: datetime) -> Gateway:
        """Revoke a gateway's certificates; revoking twice changes nothing."""

        def work(tx: StoreTx) -> Gateway:
            link = link_tx(tx)
            if link.gateway(gateway_id) is None:
                raise NotFound(f"no gateway {gateway_id}")
            if link.revoke_gateway(gateway_id, at=now, reason=reason):
                self._sink.record(tx, "gateway.revoked", gateway_id, now, {"reason": reason})
            found = link.gateway(gateway_id)
            assert found is not None
            return found

        return await self._store.write(work)

    async def alerts(self) -> list[WitnessAlert]:
        return await self._store.read(lambda tx: link_tx(tx).alerts())
