"""A tiny aiohttp server on a loopback port chosen by the OS, for tests only.

The trust layer may not import aiohttp.web; tests mount a TSA (ours, or openssl
behind a subprocess) over real HTTP with this.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(path: str, handler: Handler) -> AsyncIterator[str]:
    """Serve ``POST path`` with ``handler``; yield the URL."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()


def tsa_handler(respond: Callable[[bytes], Awaitable[bytes]]) -> Handler:
    """An RFC 3161 §3.4 endpoint around an async bytes-to-bytes responder."""

    async def handle(request: web.Request) -> web.Response:
        if request.content_type != "application/timestamp-query":
            return web.Response(status=415, text="want application/timestamp-query")
        answer = await respond(await request.read())
        return web.Response(body=answer, content_type="application/timestamp-reply")

    return handle


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
