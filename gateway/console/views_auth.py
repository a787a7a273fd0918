"""Signing in and out.

The sign-in form has its own CSRF defence (no session exists yet): a random value in a
short-lived cookie and the same value in a hidden field (double submit), so another
site cannot sign a browser in to an account of its choosing. A wrong password and an
unknown login get the same message; a locked account is told until when. The lock-out
is journaled once, when it starts; failures from one address are rate-limited
(:mod:`gateway.console.signin_guard`), so nobody can flood the journal.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import timedelta
from urllib.parse import unquote

from aiohttp import web

from gateway.console.accounts import SignInOutcome
from gateway.console.audit import audit
from gateway.console.formats import local_time
from gateway.console.keys import PREFIX, caller_of, console_of
from gateway.console.pages import PageError, local_zone, redirect, render, url
from gateway.console.sessions import cookie_name

_log = logging.getLogger("gateway.console")
PRE_COOKIE = "sceau_console_signin"
_SIGN_IN = f"{PREFIX}/connexion"
# Printable ASCII but the backslash (which browsers read as a slash), under /console/.
_LOCAL_TARGET = re.compile(rf"{PREFIX}/[!-\[\]-~]*")


def exempt_from_session_csrf(request: web.Request) -> bool:
    """The sign-in POST is checked by its own double-submit cookie instead."""
    return request.path == _SIGN_IN


def _safe_next(target: str | None) -> str:
    """Only a console path: never an open redirect to another site, nor out of the
    console (``..``), nor a header injection (control characters, as in ``%0d%0a``
    decoded by a form); anything else goes to the inbox."""
    if target and _LOCAL_TARGET.fullmatch(target):
        path = unquote(target.split("?", 1)[0])
        if ".." not in path.split("/") and _LOCAL_TARGET.fullmatch(path):
            return target
    return url("dossiers")


def _home_of(request: web.Request) -> str:
    caller = caller_of(request)
    if caller is not None and not caller.user.processes and caller.user.is_admin:
        return url("admin")
    return url("dossiers")


async def _root(request: web.Request) -> web.StreamResponse:
    if caller_of(request) is None:
        return redirect(_SIGN_IN)
    return redirect(_home_of(request))


async def _sign_in_page(
    request: web.Request, *, error: str | None = None, status: int = 200, login: str = ""
) -> web.StreamResponse:
    console = console_of(request)
    pre = secrets.token_urlsafe(32)
    info = None
    if request.query.get("expiree"):
        info = "Votre session a expiré après une période d'inactivité : reconnectez-vous."
    elif request.query.get("sortie"):
        info = "Vous êtes déconnecté."
    response = await render(
        request,
        "signin.html",
        {
            "error": error,
            "info": info,
            "pre": pre,
            "login": login,
            "next": _safe_next(request.query.get("suite")),
        },
        status=status,
    )
    response.set_cookie(
        PRE_COOKIE,
        pre,
        max_age=3600,
        path=_SIGN_IN,
        httponly=True,
        samesite="Strict",
        secure=console.config.secure_cookies,
    )
    return response


async def _sign_in_form(request: web.Request) -> web.StreamResponse:
    if caller_of(request) is not None:
        return redirect(_home_of(request))
    return await _sign_in_page(request)


async def _sign_in(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE, "")
    presented = str(form.get("pre", ""))
    if not pre or not hmac.compare_digest(pre.encode(), presented.encode()):
        raise PageError(
            403,
            "Ce formulaire de connexion n'a pas été reconnu (jeton de sécurité absent ou "
            "invalide). Rechargez la page de connexion et recommencez.",
        )
    login = str(form.get("login", "")).strip().lower()
    password = str(form.get("password", ""))
    config = console.config
    now = console.runtime.deps.clock()
    address = request.remote or "?"
    if not console.guard.allows(address, now=now):
        _log.debug("sign-in refused: too many failures from this address")
        return await _sign_in_page(
            request,
            error=(
                "Trop de tentatives de connexion depuis ce poste : patientez une minute "
                "avant de réessayer."
            ),
            status=429,
            login=login,
        )
    result = await console.accounts.authenticate(
        login,
        password,
        now=now,
        max_failures=config.max_failed_logins,
        lockout=timedelta(minutes=config.lockout_minutes),
    )
    if result.outcome is not SignInOutcome.OK:
        console.guard.failed(address, now=now)
    if result.outcome is SignInOutcome.LOCKED:
        assert result.locked_until is not None
        if result.lock_started:  # journaled once; later refusals are only counted
            await audit(console.runtime, "signin.locked", login=result.known_login, now=now)
        else:
            console.guard.refused_while_locked += 1
            _log.debug("sign-in refused: account locked")
        until = local_time(result.locked_until, local_zone(request))
        return await _sign_in_page(
            request,
            error=(
                "Trop de tentatives de connexion : ce compte est bloqué jusqu'au "
                f"{until}. Réessayez ensuite, ou demandez au service informatique de "
                "réinitialiser votre mot de passe."
            ),
            status=429,
            login=login,
        )
    if result.outcome is not SignInOutcome.OK or result.user is None:
        await audit(console.runtime, "signin.failed", login=result.known_login, now=now)
        return await _sign_in_page(
            request,
            error="Identifiant ou mot de passe incorrect.",
            status=401,
            login=login,
        )
    token, _ = await console.sessions.create(result.user.login, now=now)
    await audit(console.runtime, "signin.ok", login=result.user.login, now=now)
    response = redirect(_safe_next(str(form.get("next", "")) or None))
    response.set_cookie(
        cookie_name(secure=config.secure_cookies),
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=config.secure_cookies,
    )
    response.del_cookie(PRE_COOKIE, path=_SIGN_IN)
    return response


async def _sign_out(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    caller = caller_of(request)
    if caller is not None:  # the session middleware checked its CSRF token
        await console.sessions.drop(caller.token)
        await audit(
            console.runtime, "signout", login=caller.user.login, now=console.runtime.deps.clock()
        )
    response = redirect(f"{_SIGN_IN}?sortie=1")
    response.del_cookie(cookie_name(secure=console.config.secure_cookies), path="/")
    return response


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", _root)
    router.add_get("/connexion", _sign_in_form)
    router.add_post("/connexion", _sign_in)
    router.add_post("/deconnexion", _sign_out)
