"""``/link/v1``: enrollment, the feed, the witness, and the API's own description."""

from __future__ import annotations

import json
from importlib import resources

from aiohttp import web

from hub import link_answers, link_payloads
from hub.feed import DEFAULT_LIMIT, MAX_LIMIT
from hub.link_auth import gateway_required, link, now
from hub.link_model import LinkCaller
from hubee.errors import Forbidden, ValidationFailed
from hubee.http_requests import query_int

BASE = "/link/v1"
routes = web.RouteTableDef()


def openapi_document() -> bytes:
    """``link_openapi.json``, shipped beside this module; parsed once to check it."""
    data = resources.files("hub").joinpath("link_openapi.json").read_bytes()
    json.loads(data)
    return data


_OPENAPI = web.AppKey("hub.link_openapi", bytes)


def add_openapi(app: web.Application) -> None:
    app[_OPENAPI] = openapi_document()


@routes.get(f"{BASE}/openapi.json")
async def get_openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[_OPENAPI], content_type="application/json")


@routes.post(f"{BASE}/enroll")
async def enroll(request: web.Request) -> web.Response:
    services = link(request)
    if request.transport is None or request.transport.get_extra_info("ssl_object") is None:
        raise Forbidden("enrollment is served over TLS only: the token would travel in clear")
    wanted = link_payloads.enroll(await request.read())
    found = await services.enrollment.enroll(wanted, now=now(request))
    base = services.config.public_url or f"{request.scheme}://{request.host}"
    body = link_answers.enrolled(
        found, witness_key=services.identity.witness_key, tsa_url=f"{base}/tsa"
    )
    return web.json_response(body, status=201)


def _wait(request: web.Request, ceiling: float) -> float:
    raw = request.query.get("wait", "0")
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed("query.wait", f"{raw!r} is not a number of seconds") from None
    if not 0 <= value <= ceiling:
        raise ValidationFailed("query.wait", f"must be between 0 and {ceiling:g} seconds")
    return value


@routes.get(f"{BASE}/notifications")
@gateway_required
async def notifications(request: web.Request, caller: LinkCaller) -> web.Response:
    services = link(request)
    after = query_int(request, "after", default=0)
    limit = query_int(request, "limit", default=DEFAULT_LIMIT, minimum=1)
    if limit > MAX_LIMIT:
        raise ValidationFailed("query.limit", f"must be at most {MAX_LIMIT}")
    wait = _wait(request, services.config.max_feed_wait)
    await services.consumed.acknowledge(caller.org.id, after, now=now(request))
    items = await services.feed.poll(caller.org.id, after=after, wait=wait, limit=limit)
    return web.json_response(link_answers.feed(items, after=after))


@routes.post(f"{BASE}/checkpoints")
@gateway_required
async def checkpoints(request: web.Request, caller: LinkCaller) -> web.Response:
    push = link_payloads.checkpoint_push(await request.read())
    cosigned = await link(request).witness.witness(caller, push, now=now(request))
    return web.json_response({"note": cosigned.decode()})
