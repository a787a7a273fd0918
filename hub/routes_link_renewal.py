"""``/link/v1/gateway/renewal``: a gateway's key rotation (:mod:`hub.renewal`,
docs/KEYS.md), authenticated by its client certificate like every link call."""

from __future__ import annotations

from aiohttp import web
from cryptography import x509

from hub.link_auth import gateway_required, now
from hub.link_model import LinkCaller
from hub.renewal import RenewalRequest, Renewals
from hub.routes_link_trust import BASE
from hub.runtime import HubRuntime
from hubee import payloads
from hubee.errors import ValidationFailed
from trust.journal import rfc3339
from trust.pki import certificate_pem

routes = web.RouteTableDef()
RENEWALS = web.AppKey("hub.renewals", Renewals)
_MAX_CSR_CHARS = 16 * 1024


def add_renewal_routes(app: web.Application, runtime: HubRuntime) -> None:
    """Mount the two renewal calls on the hub's app, over ``runtime``'s store."""
    app[RENEWALS] = Renewals(runtime.store, runtime.sink, runtime.link.enrollment)
    app.router.add_routes(routes)


def _csr(obj: dict[str, object], key: str) -> x509.CertificateSigningRequest:
    raw = obj.get(key)
    if not isinstance(raw, str) or not raw.strip() or len(raw) > _MAX_CSR_CHARS:
        raise ValidationFailed(key, "is required (a PEM certificate request)")
    try:
        return x509.load_pem_x509_csr(raw.encode())
    except ValueError as exc:
        raise ValidationFailed(key, f"is not a PEM certificate request ({exc})") from None


@routes.post(f"{BASE}/gateway/renewal")
@gateway_required
async def request_renewal(request: web.Request, caller: LinkCaller) -> web.Response:
    obj = payloads.json_object(await request.read())
    wanted = RenewalRequest(tls_csr=_csr(obj, "tlsCsr"), seal_csr=_csr(obj, "sealCsr"))
    found = await request.app[RENEWALS].request(caller, wanted, now=now(request))
    return web.json_response(
        {
            "renewalId": found.renewal_id,
            "gatewayId": found.gateway_id,
            "tlsCertificate": certificate_pem(found.tls_certificate).decode(),
            "sealCertificate": certificate_pem(found.seal_certificate).decode(),
            "chain": [certificate_pem(c).decode() for c in found.chain],
        },
        status=201,
    )


@routes.post(f"{BASE}/gateway/renewal/complete")
@gateway_required
async def complete_renewal(request: web.Request, caller: LinkCaller) -> web.Response:
    done = await request.app[RENEWALS].complete(caller, now=now(request))
    return web.json_response(
        {
            "renewalId": done.renewal_id,
            "gatewayId": done.gateway_id,
            "completedAt": rfc3339(done.completed_at),
            "retiredSerials": list(done.retired),
        }
    )
