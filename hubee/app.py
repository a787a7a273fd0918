"""The hub's web application: a thin factory over route tables.

Served: ``POST /token``, the folder API at ``/teledossiers/v1``, the subscription API
(and admin extras) at ``/referential/v1``, and ``/healthz`` / ``/readyz``.

More APIs plug in as further route tables (``route_tables=``): the gateway link API,
with its own mutual-TLS authentication, is meant to be one, added by the composition
root without touching these modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from hubee import routes_cases, routes_folders, routes_referential, routes_token
from hubee.http_errors import error_middleware
from hubee.http_requests import SERVICES
from hubee.services import HubDeps, HubServices
from hubee.settings import HubSettings

_health = web.RouteTableDef()


@_health.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@_health.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    hub = request.app[SERVICES]
    await hub.directory.processes()  # the database answers
    return web.json_response({"status": "ready"})


def make_app(
    settings: HubSettings,
    deps: HubDeps | None = None,
    *,
    route_tables: Sequence[web.RouteTableDef] = (),
) -> web.Application:
    """The hub's application.

    With ``deps``, the caller owns them (tests, embedding); without, the application
    opens the data directory at startup and closes it at cleanup.
    """
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=settings.max_json_bytes,
        # Bigger socket reads for large uploads: fewer chunks through the blob writer.
        handler_args={"read_bufsize": 256 * 1024},
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        owned = deps is None
        opened = deps if deps is not None else await asyncio.to_thread(HubDeps.open, settings)
        app[SERVICES] = HubServices.build(settings, opened)
        try:
            yield
        finally:
            if owned:
                await opened.close()

    app.cleanup_ctx.append(lifecycle)
    for table in (
        routes_token.routes,
        routes_folders.routes,
        routes_cases.routes,
        routes_referential.routes,
        _health,
        *route_tables,
    ):
        app.add_routes(table)
    return app


async def serve(
    settings: HubSettings, *, host: str, port: int, deps: HubDeps | None = None
) -> tuple[web.AppRunner, int]:
    """Start serving on ``host:port`` (``port=0``: chosen by the OS); returns the bound port."""
    runner = web.AppRunner(make_app(settings, deps), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
