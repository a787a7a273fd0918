"""The hub's composition: the HubEE engine, the link API, the TSA, on one listener.

:func:`make_hub_app` mounts on the engine's application (``hubee.app.make_app``): the
link routes (mutual TLS, :mod:`hub.link_auth`), ``POST /tsa``, and the link API's
OpenAPI description. Its lifecycle runs the evidence journal and the hourly expiry of
abandoned uploads (:mod:`hub.upload_expiry`) in the background and, at shutdown,
wakes every long poll so that the server stops promptly.

:func:`server_ssl_context` is the one TLS listener's configuration: TLS 1.2 at least
(1.3 preferred: negotiated whenever the client offers it), the hub's server
certificate, and client certificates asked for (``CERT_OPTIONAL``) and verified
against the hub's CA.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator

from aiohttp import web

from hub.link_auth import LINK
from hub.metrics import add_metrics
from hub.routes_link_cases import routes as case_routes
from hub.routes_link_folders import routes as folder_routes
from hub.routes_link_renewal import add_renewal_routes
from hub.routes_link_trust import add_openapi
from hub.routes_link_trust import routes as trust_routes
from hub.runtime import HubRuntime
from hub.tsa_endpoint import add_tsa_routes
from hub.upload_expiry import run_upload_expiry
from hubee.app import make_app
from trust.pki import certificate_pem

log = logging.getLogger("hub")
# Mozilla's "intermediate" TLS 1.2 suites: forward secret AEAD only. TLS 1.3 has its own.
_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_ssl_context(runtime: HubRuntime) -> ssl.SSLContext:
    identity = runtime.identity
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_TLS12_CIPHERS)
    context.load_cert_chain(identity.tls_certificate, identity.tls_key)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=certificate_pem(identity.ca_certificate).decode())
    return context


def make_hub_app(runtime: HubRuntime) -> web.Application:
    """The hub's application over an open ``runtime`` (the caller closes it)."""
    app = make_app(
        runtime.config.engine,
        runtime.deps,
        route_tables=(trust_routes, folder_routes, case_routes),
    )
    app[LINK] = runtime.link
    add_openapi(app)
    add_renewal_routes(app, runtime)
    add_tsa_routes(app, runtime.identity.tsa)
    add_metrics(app, runtime)

    async def evidence(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(runtime.evidence.run(), name="hub-evidence-journal")
        try:
            yield
        finally:
            runtime.evidence.stop()
            await task

    async def wake_long_polls(app: web.Application) -> None:
        runtime.bell.close()

    async def upload_expiry(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(
            run_upload_expiry(
                runtime.link.uploads,
                runtime.store,
                runtime.sink,
                after=runtime.config.upload_abandon_after,
                clock=runtime.link.clock,
            ),
            name="hub-upload-expiry",
        )
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(evidence)
    app.cleanup_ctx.append(upload_expiry)
    app.on_shutdown.append(wake_long_polls)
    return app


async def serve_hub(
    runtime: HubRuntime, *, host: str, port: int, insecure_http: bool = False
) -> tuple[web.AppRunner, int]:
    """Serve on ``host:port`` (0: chosen by the OS) over TLS; returns the bound port.

    ``insecure_http`` serves plain HTTP, for tests only: no link call can then be
    authenticated (they answer 401), and a warning is logged.
    """
    context = None
    if insecure_http:
        log.warning("UNSAFE: serving the hub over plain HTTP; the link API cannot work")
    else:
        context = server_ssl_context(runtime)
    runner = web.AppRunner(make_hub_app(runtime), access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=context, backlog=1024)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
