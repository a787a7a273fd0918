"""The HubEE API client against a scripted server on loopback: tokens, errors, transfers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from gateway.folders_api import ClientCredentials, HubeeApi, b64_digest
from gateway.folders_errors import (
    ApiRefused,
    ApiUnavailable,
    CredentialsRejected,
    TransferCorrupted,
)
from tests.loopback_http import closed_port

CREDENTIALS = ClientCredentials("client-1", "s3cret-value", "SI")
FILE = b"%PDF-1.4 " + bytes(range(256)) * 2000


@dataclass
class Script:
    """What the fake API answers; and what it saw."""

    token_status: int = 200
    expires_in: int = 3600
    answers: list[int] = field(default_factory=list)
    tokens_issued: int = 0
    valid: set[str] = field(default_factory=set)
    bearer_seen: list[str] = field(default_factory=list)
    digest: str = base64.b64encode(hashlib.sha256(FILE).digest()).decode()
    uploaded: list[tuple[str | None, bytes]] = field(default_factory=list)

    async def token(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(b"client-1:s3cret-value").decode()
        form = await request.post()
        assert form["grant_type"] == "client_credentials" and form["scope"] == "SI"
        if self.token_status != 200 or request.headers.get("Authorization") != expected:
            return web.json_response(
                {"error": "invalid_client", "errors": [{"code": 401, "message": "bad client"}]},
                status=self.token_status if self.token_status != 200 else 401,
            )
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}"
        self.valid.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        )

    def _authorized(self, request: web.Request) -> bool:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.bearer_seen.append(bearer)
        return bearer in self.valid

    async def thing(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"errors": [{"code": 401, "message": "expired"}]}, status=401)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            return web.json_response({"ok": True})
        return web.json_response(
            {"errors": [{"code": status, "message": f"scripted {status}"}]}, status=status
        )

    async def file(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"errors": [{"code": 401, "message": "expired"}]}, status=401)
        return web.Response(body=FILE, headers={"digest": self.digest})

    async def upload(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"errors": [{"code": 401, "message": "expired"}]}, status=401)
        self.uploaded.append((request.headers.get("digest"), await request.read()))
        return web.Response(status=204)


@contextlib.asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[str]:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/token", script.token)
    app.router.add_route("*", "/thing", script.thing)
    app.router.add_get("/file", script.file)
    app.router.add_put("/file", script.upload)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_a_token_is_reused_then_renewed_when_refused_or_due() -> None:
    script = Script()
    now = [0.0]

    async def main() -> None:
        async with scripted(script) as url, HubeeApi(url, CREDENTIALS, clock=lambda: now[0]) as api:
            assert await api.call_json("GET", "/thing") == {"ok": True}
            await api.call("GET", "/thing")
            assert script.tokens_issued == 1
            script.valid.clear()  # the server forgot it (restart): one 401, a new token
            await api.call("GET", "/thing")
            assert script.tokens_issued == 2
            now[0] = 3600 - 29  # within TOKEN_MARGIN of the expiry: renewed before use
            await api.call("GET", "/thing")
            assert script.tokens_issued == 3
            assert script.bearer_seen == ["token-1", "token-1", "token-1", "token-2", "token-3"]

    run(main())


def test_statuses_map_to_transient_or_permanent_errors() -> None:
    script = Script(answers=[503, 429, 400, 409])

    async def main() -> None:
        async with scripted(script) as url, HubeeApi(url, CREDENTIALS) as api:
            for _ in range(2):
                with pytest.raises(ApiUnavailable) as unavailable:
                    await api.call("POST", "/thing", json_body={})
                assert unavailable.value.transient
            for status in (400, 409):
                with pytest.raises(ApiRefused) as refused:
                    await api.call("POST", "/thing", json_body={})
                assert refused.value.status == status and not refused.value.transient
                assert refused.value.message == f"scripted {status}"

    run(main())


def test_refused_credentials_and_a_silent_server() -> None:
    async def main() -> None:
        async with scripted(Script(token_status=401)) as url, HubeeApi(url, CREDENTIALS) as api:
            with pytest.raises(CredentialsRejected) as rejected:
                await api.call("GET", "/thing")
            assert "refused the client client-1: 401 bad client" in rejected.value.message
            assert "s3cret" not in rejected.value.diagnostics()
        async with scripted(Script(token_status=503)) as url, HubeeApi(url, CREDENTIALS) as api:
            with pytest.raises(ApiUnavailable):
                await api.call("GET", "/thing")
        async with HubeeApi(f"http://127.0.0.1:{closed_port()}", CREDENTIALS) as api:
            with pytest.raises(ApiUnavailable, match="did not answer"):
                await api.call("GET", "/thing")

    run(main())


def test_downloads_are_checked_against_size_and_digest(tmp_path: Path) -> None:
    script = Script()

    async def main() -> None:
        async with scripted(script) as url, HubeeApi(url, CREDENTIALS) as api:
            got = await api.download("/file", tmp_path / "ok.pdf", expected_size=len(FILE))
            assert got.sha256 == hashlib.sha256(FILE).digest()
            assert (tmp_path / "ok.pdf").read_bytes() == FILE
            with pytest.raises(TransferCorrupted, match="received"):
                await api.download("/file", tmp_path / "short.pdf", expected_size=len(FILE) + 1)
            script.digest = base64.b64encode(b"\0" * 32).decode()
            with pytest.raises(TransferCorrupted, match="digest header"):
                await api.download("/file", tmp_path / "bad.pdf", expected_size=None)

    run(main())


def test_uploads_stream_the_file_with_its_digest_and_survive_a_401(tmp_path: Path) -> None:
    script = Script()
    source = tmp_path / "acte.pdf"
    source.write_bytes(FILE)
    digest = hashlib.sha256(FILE).digest()

    async def main() -> None:
        async with scripted(script) as url, HubeeApi(url, CREDENTIALS) as api:
            await api.call("GET", "/thing")
            script.valid.clear()  # the first PUT is refused; the body must be sent again
            await api.upload("/file", source, size=len(FILE), sha256=digest)

    run(main())
    assert script.uploaded == [(base64.b64encode(digest).decode(), FILE)]


def test_digest_headers_and_secrets() -> None:
    raw = hashlib.sha256(b"x").digest()
    encoded = base64.b64encode(raw).decode()
    assert b64_digest(encoded) == raw
    assert b64_digest(f"SHA-256={encoded}") == raw
    assert b64_digest("not base64!") is None
    assert b64_digest(base64.b64encode(b"short").decode()) is None
    assert "s3cret" not in repr(CREDENTIALS)
