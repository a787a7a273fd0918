"""``POST /token``: OAuth2 client credentials (RFC 6749 §4.4), the specs' ``tokenUrl``.

The client authenticates with HTTP Basic ``client_id:client_secret`` (or, as RFC 6749
§2.3.1 also allows, ``client_id`` and ``client_secret`` form fields), and asks
``grant_type=client_credentials`` with an optional ``scope`` (OSL, SI or ADMIN).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from aiohttp import web

from hubee.errors import InvalidClient, InvalidGrant
from hubee.http_requests import services

routes = web.RouteTableDef()


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed HTTP Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed HTTP Basic credentials")
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


@routes.post("/token")
async def token(request: web.Request) -> web.Response:
    form = await request.post()
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            raise InvalidClient("client authentication is required (HTTP Basic)")
        credentials = (client_id, secret)
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        raise InvalidGrant(
            "grant_type must be client_credentials", oauth_error="unsupported_grant_type"
        )
    scope = form.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise InvalidGrant("scope must be text", oauth_error="invalid_scope")
    hub = services(request)
    grant = await hub.auth.grant(
        client_id=credentials[0],
        secret=credentials[1],
        scope=scope.strip() if scope else None,
        now=hub.clock(),
    )
    return web.json_response(
        {
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": grant.expires_in,
            "scope": grant.scope.value,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
