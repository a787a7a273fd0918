"""The IT dashboard (role ``admin``): health, flows, journal, clients and users, stats.

A stub until part B of the console lands: one page saying what will be here.
"""

from __future__ import annotations

from aiohttp import web

from gateway.console.keys import Caller
from gateway.console.pages import admin_page, render


@admin_page
async def _home(request: web.Request, caller: Caller) -> web.StreamResponse:
    return await render(request, "admin_stub.html")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin", _home, name="admin")
