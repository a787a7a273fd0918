"""Who is calling the link API: the client certificate of the TLS connection.

The hub's listener asks for a client certificate (``CERT_OPTIONAL``) and OpenSSL
verifies any that is presented against the hub's CA during the handshake; a foreign
certificate never gets a connection. :func:`gateway_required` then reads the peer
certificate from the request's transport (DER), and the registry (by SHA-256
fingerprint) says which gateway and organisation it is, or that it is revoked.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web

from hub.link_model import LinkCaller
from hub.runtime import LinkServices

LINK = web.AppKey("hub.link", LinkServices)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CallerHandler = Callable[[web.Request, LinkCaller], Awaitable[web.StreamResponse]]


def link(request: web.Request) -> LinkServices:
    return request.app[LINK]


def now(request: web.Request) -> datetime:
    return request.app[LINK].clock()


def peer_fingerprint(request: web.Request) -> str | None:
    """SHA-256 (hex) of the TLS client certificate, or None without TLS or certificate."""
    transport = request.transport
    ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return None if not der else hashlib.sha256(der).hexdigest()


def gateway_required(handler: CallerHandler) -> Handler:
    """Authenticate the gateway by its client certificate, then call ``handler``."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        caller = await link(request).gateways.caller(peer_fingerprint(request))
        return await handler(request, caller)

    return guarded
