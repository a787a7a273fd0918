"""Rendering pages and guarding handlers: the helpers every console view uses.

Handlers are decorated with :func:`agent_page` (any signed-in user) or
:func:`admin_page` (role ``admin``); they receive ``(request, caller)``. Pages are
Jinja2 templates rendered with autoescape; :func:`render` adds the layout's context
(the user, the CSRF token, the one-shot flash message, the navigation).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import tzinfo
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from gateway.console.formats import local_time, zone
from gateway.console.keys import EXPIRED, PREFIX, Caller, caller_of, console_of

GuardedHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def local_zone(request: web.Request) -> tzinfo:
    """The console's zone (``console.timezone``): its times and its days."""
    return zone(console_of(request).config.timezone)


def url(path: str = "") -> str:
    """A console URL: ``url("dossiers")`` → ``/console/dossiers``."""
    return f"{PREFIX}/{path.lstrip('/')}"


async def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    caller = caller_of(request)
    flash = None
    if caller is not None and caller.session.flash:
        kind, _, text = caller.session.flash.partition(":")
        flash = {"kind": kind, "text": text}
        await console_of(request).sessions.set_flash(caller.session.id_hash, None)
    page = {
        "user": caller.user if caller else None,
        "csrf": caller.session.csrf if caller else None,
        "flash": flash,
        "url": url,
        "path": request.path,
        "local_time": functools.partial(local_time, where=local_zone(request)),
        **(context or {}),
    }
    return aiohttp_jinja2.render_template(template, request, page, status=status)


async def flash(
    request: web.Request, caller: Caller, message: str, *, kind: str = "success"
) -> None:
    """A message for the next page; ``kind`` is a DSFR alert: success, info, warning, error."""
    await console_of(request).sessions.set_flash(caller.session.id_hash, f"{kind}:{message}")


def redirect(path: str) -> web.Response:
    """303 See Other: after a POST, the browser GETs the next page."""
    return web.Response(status=303, headers={"Location": path})


def sign_in_redirect(request: web.Request, *, expired: bool) -> web.Response:
    target = quote(request.path_qs, safe="")
    reason = "&expiree=1" if expired else ""
    return redirect(url(f"connexion?suite={target}{reason}"))


def agent_page(handler: GuardedHandler) -> Handler:
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        caller = caller_of(request)
        if caller is None:
            return sign_in_redirect(request, expired=request.get(EXPIRED, False))
        return await handler(request, caller)

    return guarded


def admin_page(handler: GuardedHandler) -> Handler:
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        caller = caller_of(request)
        if caller is None:
            return sign_in_redirect(request, expired=request.get(EXPIRED, False))
        if not caller.user.is_admin:
            raise web.HTTPForbidden()
        return await handler(request, caller)

    return guarded


class PageError(Exception):
    """An error page with a status and a French explanation (HTTP layer only)."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(detail or str(status))
        self.status = status
        self.detail = detail
