"""What every route needs from a request: the services, the caller, the parameters.

:func:`requires` turns ``handler(request, principal)`` into an aiohttp handler that
first authenticates the bearer token and checks the operation's scopes (the
``security`` list of the OpenAPI operation).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web

from hubee.errors import Forbidden, MethodNotAllowed, Unauthorized, ValidationFailed
from hubee.model import PartnerInfo, Principal, Scope
from hubee.services import HubServices

SERVICES = web.AppKey("hub.services", HubServices)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GuardedHandler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]

ALL_SCOPES = (Scope.OSL, Scope.SI, Scope.ADMIN)


def services(request: web.Request) -> HubServices:
    return request.app[SERVICES]


def now(request: web.Request) -> datetime:
    return request.app[SERVICES].clock()


def requires(*scopes: Scope) -> Callable[[GuardedHandler], Handler]:
    """Authenticate the bearer token, then check that its scope is one of ``scopes``."""
    allowed = frozenset(scopes)

    def decorate(handler: GuardedHandler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            principal = await authenticate(request)
            if principal.scope not in allowed:
                raise Forbidden(
                    f"Unauthorized user: the scope {principal.scope.value} may not "
                    f"{request.method} {request.path} "
                    f"(allowed: {', '.join(sorted(s.value for s in allowed))})"
                )
            return await handler(request, principal)

        return guarded

    return decorate


async def authenticate(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an 'Authorization: Bearer <token>' header is required")
    hub = services(request)
    return await hub.auth.authenticate(token.strip(), now=hub.clock())


def uuid_param(request: web.Request, name: str) -> str:
    raw = request.match_info[name]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ValidationFailed(
            f"path.{name}", f'Input string "{raw}" is not a valid UUID'
        ) from None


def partner_info(request: web.Request) -> PartnerInfo:
    """The calling software, from the optional editorName/applicationName/softwareVersion."""
    values: list[str | None] = []
    for header in ("editorName", "applicationName", "softwareVersion"):
        value = request.headers.get(header)
        if value is not None and len(value) > 50:
            raise ValidationFailed(f"header.{header}", "must be at most 50 characters")
        values.append(value)
    return PartnerInfo(*values)


def require_patch_override(request: web.Request) -> None:
    """``POST`` stands for ``PATCH`` only with ``X-HTTP-Method-Override: PATCH``."""
    if request.headers.get("X-HTTP-Method-Override", "").upper() != "PATCH":
        raise MethodNotAllowed(
            "Method not allowed: POST here needs the header X-HTTP-Method-Override: PATCH"
        )


def query_list(request: web.Request, name: str) -> tuple[str, ...]:
    """A query array, as repeated parameters or comma-separated values."""
    values: list[str] = []
    for raw in request.query.getall(name, []):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return tuple(dict.fromkeys(values))


def query_int(request: web.Request, name: str, *, default: int, minimum: int = 0) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(float(raw)) if "." in raw else int(raw)
    except ValueError:
        raise ValidationFailed(f"query.{name}", f"{raw!r} is not a number") from None
    if value < minimum:
        raise ValidationFailed(f"query.{name}", f"must be {minimum} or more")
    return value


def query_flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in {"true", "false", "1", "0", ""}:
        raise ValidationFailed(f"query.{name}", "must be true or false")
    return raw in {"true", "1"}


def no_content() -> web.Response:
    return web.Response(status=204)
