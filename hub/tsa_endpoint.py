"""``POST /tsa``: the trust layer's RFC 3161 responder over HTTP (RFC 3161 §3.4)."""

from __future__ import annotations

from aiohttp import web

from trust.tsa import TimeStampAuthority

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_QUERY_BYTES = 64 * 1024  # a TimeStampReq is a few hundred bytes

AUTHORITY: web.AppKey[TimeStampAuthority] = web.AppKey("tsa_authority", TimeStampAuthority)


async def _respond(request: web.Request) -> web.Response:
    if request.content_type != QUERY_TYPE:
        return web.Response(status=415, text=f"send {QUERY_TYPE}\n")
    if request.content_length is not None and request.content_length > MAX_QUERY_BYTES:
        return web.Response(status=413, text="time-stamp query too large\n")
    body = await request.content.read(MAX_QUERY_BYTES + 1)
    if len(body) > MAX_QUERY_BYTES:
        return web.Response(status=413, text="time-stamp query too large\n")
    # Signing is CPU-bound but takes well under a millisecond: no thread hop needed.
    answer = request.app[AUTHORITY].respond(body)
    return web.Response(body=answer, content_type=REPLY_TYPE)


def add_tsa_routes(
    app: web.Application, authority: TimeStampAuthority, *, path: str = "/tsa"
) -> None:
    """Mount the responder at ``path`` on ``app``."""
    app[AUTHORITY] = authority
    app.router.add_post(path, _respond)


def make_tsa_app(authority: TimeStampAuthority) -> web.Application:
    app = web.Application(client_max_size=MAX_QUERY_BYTES)
    add_tsa_routes(app, authority)
    return app
