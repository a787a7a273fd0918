"""The gateway console: server-rendered pages under ``/console/`` on the LAN app.

:func:`setup_console` mounts a sub-application on the gateway's LAN aiohttp app:
Jinja2 templates (autoescape on), the vendored DSFR assets under ``/console/static/``,
the agents' pages (:mod:`gateway.console.views_auth`, ``views_inbox``,
``views_dossier``, ``views_proof``) and the IT pages (:mod:`gateway.console.admin`).

Two middlewares: :func:`_pages` turns every error into an HTML page (never a stack
trace) and sets the security headers; :func:`_session` finds the caller from the
session cookie and checks the CSRF token of every POST.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.console import (
    admin,
    views_auth,
    views_dossier,
    views_inbox,
    views_proof,
)
from gateway.console.accounts import Accounts
from gateway.console.config import console_config
from gateway.console.keys import CALLER, CONSOLE, EXPIRED, MULTIPART, Caller, Console, console_of
from gateway.console.pages import PageError, render
from gateway.console.sessions import Sessions, cookie_name
from gateway.metrics import SIGNIN_REFUSALS
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from hubee.errors import NotFound, PayloadTooLarge
from hubee.http_requests import Handler

log = logging.getLogger("gateway.console")
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
_STATIC_PREFIX = "/console/static/"
_FONT_TYPES = {".woff2": "font/woff2", ".woff": "font/woff"}  # RFC 8081

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_TITLES = {
    400: (
        "Requête invalide",
        "La demande n'a pas pu être comprise. Revenez en arrière et réessayez.",
    ),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "Cette page n'existe pas, ou vous n'y avez pas accès."),
    405: ("Action impossible", "Cette adresse ne s'utilise pas ainsi."),
    413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée."),
    500: (
        "Erreur interne",
        "Une erreur inattendue s'est produite. Réessayez ; si elle persiste, "
        "prévenez le service informatique.",
    ),
}


async def error_page(request: web.Request, status: int, detail: str | None = None) -> web.Response:
    title, default = _TITLES.get(status, _TITLES[500] if status >= 500 else _TITLES[400])
    try:
        return await render(
            request,
            "error.html",
            {"status": status, "title": title, "detail": detail or default},
            status=status,
        )
    except Exception:
        log.exception("console error page failed")
        return web.Response(status=status, text=f"{status} {title}", content_type="text/plain")


def _secure(response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.content_type == "text/html":
        headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def _pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except PageError as exc:
        response = await error_page(request, exc.status, exc.detail)
    except NotFound:
        response = await error_page(request, 404)
    except PayloadTooLarge:
        response = await error_page(request, 413, _too_large(request))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = _too_large(request) if exc.status == 413 else None
        response = await error_page(request, exc.status, detail)
    except Exception:
        log.exception("console: internal error on %s %s", request.method, request.path)
        response = await error_page(request, 500)
    if not response.prepared:
        _secure(response)
    return response


def _too_large(request: web.Request) -> str:
    limit = console_of(request).config.max_upload_bytes
    return (
        f"Le fichier envoyé dépasse la taille autorisée ({limit // (1024 * 1024)} Mo). "
        "Réduisez-le (par exemple en l'enregistrant en PDF compressé) et recommencez."
    )


@web.middleware
async def _session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(_STATIC_PREFIX) and request.method in ("GET", "HEAD"):
        asset = await handler(request)  # assets: no session lookup
        font = _FONT_TYPES.get(Path(request.path).suffix)
        if font and not asset.prepared:  # aiohttp's own table lacks them
            asset.headers["Content-Type"] = font
        return asset
    console = console_of(request)
    now = console.runtime.deps.clock()
    token = request.cookies.get(cookie_name(secure=console.config.secure_cookies))
    found = await console.sessions.load(token, now=now)
    request[EXPIRED] = found.expired
    caller: Caller | None = None
    if found.session is not None and token is not None:
        user = await console.accounts.get(found.session.login)
        if user is not None and not user.disabled:
            caller = request[CALLER] = Caller(user, found.session, token)
    if request.method == "POST" and not views_auth.exempt_from_session_csrf(request):
        if caller is None:
            raise PageError(
                403,
                "Votre session a expiré ou vous n'êtes pas connecté : reconnectez-vous, "
                "puis recommencez.",
            )
        await _check_csrf(request, caller)
    return await handler(request)


async def _check_csrf(request: web.Request, caller: Caller) -> None:
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        part = await reader.next()
        presented = None
        if part is not None and getattr(part, "name", None) == "csrf":
            presented = (await part.read(decode=True)).decode(errors="replace")  # type: ignore[union-attr]
        request[MULTIPART] = reader
    else:
        form = await request.post()
        value = form.get("csrf")
        presented = value if isinstance(value, str) else None
    if not caller.session.csrf_ok(presented):
        raise PageError(
            403,
            "Ce formulaire n'a pas été reconnu (jeton de sécurité absent ou invalide). "
            "Rechargez la page et recommencez.",
        )


async def _not_found(request: web.Request) -> web.StreamResponse:
    raise PageError(404)


def make_console_app(runtime: GatewayRuntime, settings: GatewaySettings) -> web.Application:
    config = console_config(settings)
    console = web.Application(middlewares=[_pages, _session])
    console[CONSOLE] = Console(
        runtime=runtime,
        config=config,
        accounts=Accounts(runtime.store),
        sessions=Sessions(runtime.store, idle=timedelta(minutes=config.session_minutes)),
    )
    env = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # no stat() of template files on the event loop per page
    )
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)  # compiled now, at start-up, not on a request
    router = console.router
    router.add_static("/static/", STATIC, append_version=False)
    views_auth.add_routes(router)
    views_inbox.add_routes(router)
    views_dossier.add_routes(router)
    views_proof.add_routes(router)
    admin.add_routes(router)
    router.add_route("*", "/{tail:.*}", _not_found)
    return console


def setup_console(app: web.Application, runtime: GatewayRuntime, settings: GatewaySettings) -> None:
    """Mount the console under ``/console/`` on the gateway's LAN app (if enabled)."""
    if not console_config(settings).enabled:
        return
    console = make_console_app(runtime, settings)
    guard = console[CONSOLE].guard
    app[SIGNIN_REFUSALS] = lambda: {
        "locked": guard.refused_while_locked,
        "rate": guard.refused_for_rate,
    }
    app.add_subapp("/console/", console)
