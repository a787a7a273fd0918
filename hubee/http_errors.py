"""The one place where errors become HTTP answers, with the HubEE error body.

Body: ``{"errors": [{"code": <status>, "message": <text>}]}`` (``components.schemas.Error``
of both specs). Validation messages keep the spec's shape, ``Bad Request : Validation
failed. [METHOD PATH @field] reason``, so that éditeurs' logs read as before. Errors
from ``POST /token`` also carry RFC 6749 §5.2 ``error`` / ``error_description``.

Internal errors are logged with their traceback, but never with request headers or
bodies (tokens, secrets, personal data), and answered with a generic message.
"""

from __future__ import annotations

import logging

from aiohttp import web

from hubee.errors import (
    Conflict,
    Forbidden,
    Gone,
    HubError,
    IllegalTransition,
    InsufficientStorage,
    InvalidClient,
    InvalidGrant,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    StorageFailure,
    Unauthorized,
    ValidationFailed,
)
from hubee.http_requests import Handler

log = logging.getLogger("hub.http")

# Most specific first: the first matching class decides.
STATUS_FOR: tuple[tuple[type[HubError], int], ...] = (
    (InvalidClient, 401),
    (Unauthorized, 401),
    (InvalidGrant, 400),
    (ValidationFailed, 400),
    (IllegalTransition, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Gone, 410),
    (MethodNotAllowed, 405),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (InsufficientStorage, 507),
    (StorageFailure, 503),
    (HubError, 500),
)


def status_for(error: HubError) -> int:
    for cls, status in STATUS_FOR:
        if isinstance(error, cls):
            return status
    return 500


def error_body(status: int, message: str) -> dict[str, object]:
    return {"errors": [{"code": status, "message": message}]}


def _message(request: web.Request, error: HubError) -> str:
    if isinstance(error, ValidationFailed):
        return (
            f"Bad Request : Validation failed. [{request.method} {request.path} "
            f"@{error.field}] {error.reason}"
        )
    return error.message


def error_response(request: web.Request, error: HubError) -> web.Response:
    status = status_for(error)
    body = error_body(status, _message(request, error))
    headers: dict[str, str] = {}
    oauth_error = getattr(error, "oauth_error", None)
    if oauth_error is not None:
        body["error"] = oauth_error
        body["error_description"] = error.message
    if status == 401:
        headers["WWW-Authenticate"] = (
            'Basic realm="hub"' if isinstance(error, InvalidClient) else 'Bearer realm="hub"'
        )
    if status in (503, 507):
        log.error("storage failure on %s %s: %s", request.method, request.path, error.message)
    return web.json_response(body, status=status, headers=headers)


_AIOHTTP_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        message = _AIOHTTP_MESSAGES.get(exc.status, exc.reason)
        return web.json_response(
            error_body(exc.status, message), status=exc.status, headers=headers
        )
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return web.json_response(error_body(500, "Internal server error"), status=500)
