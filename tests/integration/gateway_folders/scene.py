"""The watched folders' test scene: a real HubEE engine on loopback, the CERTDC world.

Reuses the hub's conformance harness (``running_hub``, ``Hub``, the JDD samples): the
deposits a test makes itself through ``hub.call`` are checked against the HubEE specs.
The adapters under test talk to the engine over real HTTP, directly or through a
:class:`FlakyProxy` that can refuse, stall or corrupt chosen requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.folders_api import ClientCredentials
from gateway.folders_retry import Backoff
from gateway.folders_settings import FolderSettings, Side
from hubee.model import Organization, Scope
from tests.integration.hub.harness import Hub
from tests.integration.hub.world import CERTDC_FILES, SampleFile, deposit, folder_body

TD = "/teledossiers/v1"
SAINT_DENIS = ("21930066200016", "93066")


@dataclass
class Certdc:
    """DGS (operator of CERTDC) → Commune de Saint-Denis, with one client each."""

    hub: Hub
    dgs: Organization
    saint_denis: Organization
    osl: ClientCredentials
    si: ClientCredentials
    osl_token: str
    si_token: str

    async def deposit(
        self, external_id: str, files: list[SampleFile] = CERTDC_FILES
    ) -> dict[str, Any]:
        """A completed CERTDC folder for Saint-Denis, made by the test itself."""
        body = folder_body("CERTDC", external_id, self.saint_denis, files)
        return await deposit(self.hub, self.osl_token, body, files)

    async def notifications(self) -> list[dict[str, Any]]:
        reply = await self.hub.call("GET", f"{TD}/notifications", token=self.si_token)
        assert reply.status == 200
        notes: list[dict[str, Any]] = reply.json()
        return notes

    async def case(self, case_id: str) -> dict[str, Any]:
        reply = await self.hub.call("GET", f"{TD}/cases/{case_id}", token=self.osl_token)
        assert reply.status == 200, reply.body
        case: dict[str, Any] = reply.json()
        return case

    async def folder(self, folder_id: str) -> dict[str, Any]:
        reply = await self.hub.call("GET", f"{TD}/folders/{folder_id}", token=self.osl_token)
        assert reply.status == 200, reply.body
        folder: dict[str, Any] = reply.json()
        return folder

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the engine's database directly (read-only), for what the API won't say."""

        def read() -> list[tuple[Any, ...]]:
            conn = sqlite3.connect(f"file:{self.hub.settings.db_path}?mode=ro", uri=True)
            try:
                return list(conn.execute(sql, args))
            finally:
                conn.close()

        return await asyncio.to_thread(read)

    async def journal_count(self, kind: str) -> int:
        """How many times the engine journaled ``kind`` (e.g. folder.created)."""
        rows = await self.rows("SELECT COUNT(*) FROM journal WHERE kind = ?", kind)
        return int(rows[0][0])


async def certdc(hub: Hub, *, subscribe: bool = True) -> Certdc:
    dgs = await hub.org("OSL", "11000201100044", "DGS", "Direction générale de la santé")
    saint_denis = await hub.org("SI", *SAINT_DENIS, "Commune de Saint-Denis")
    await hub.process("CERTDC", dgs)
    if subscribe:
        await hub.subscribe("CERTDC", saint_denis)
    osl_id, osl_secret = await hub.client(dgs, Scope.OSL, "CERTDC")
    si_id, si_secret = await hub.client(saint_denis, Scope.SI, "CERTDC")
    osl_token = (await hub.token(osl_id, osl_secret, "OSL")).json()["access_token"]
    si_token = (await hub.token(si_id, si_secret, "SI")).json()["access_token"]
    return Certdc(
        hub,
        dgs,
        saint_denis,
        ClientCredentials(osl_id, osl_secret, "OSL"),
        ClientCredentials(si_id, si_secret, "SI"),
        osl_token,
        si_token,
    )


def certdc_metadata(external_id: str = "ER20190860001", **changes: Any) -> dict[str, Any]:
    """metadata.json of the CERTDC sample, as docs/FOLDERS.md shows it."""
    document: dict[str, Any] = {
        "processCode": "CERTDC",
        "externalId": external_id,
        "applicant": {
            "firstName": "Camille",
            "lastName": "Martin",
            "email": "camille.martin@example.fr",
        },
        "recipients": [
            {
                "externalId": f"{external_id}-01",
                "companyRegister": SAINT_DENIS[0],
                "branchCode": SAINT_DENIS[1],
            }
        ],
        "files": [{"fileName": f.path.name, "type": f.type} for f in CERTDC_FILES],
    }
    document.update(changes)
    return document


def write_dossier(
    folder: Path, metadata: dict[str, Any] | bytes | None, files: list[SampleFile] = CERTDC_FILES
) -> None:
    """A dossier folder (blocking; tests call it before the adapter runs or in a thread)."""
    folder.mkdir(parents=True)
    for f in files:
        (folder / f.path.name).write_bytes(f.data)
    if metadata is not None:
        raw = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
        (folder / "metadata.json").write_bytes(raw)


async def until(
    condition: Callable[[], Any], *, timeout: float = 15.0, step: float = 0.02, what: str = ""
) -> Any:
    """Poll ``condition`` (run in a thread: it may touch files) until truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await asyncio.to_thread(condition)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(step)


async def until_async(
    condition: Callable[[], Awaitable[Any]], *, timeout: float = 15.0, what: str = ""
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)
    return value


@contextlib.asynccontextmanager
async def running(job: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``job`` as a task; cancel it (and see it end cleanly) on exit."""
    task = asyncio.ensure_future(job)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class FlakyProxy:
    """Forwards to the engine, unless a rule answers first (refuse, stall, corrupt)."""

    target: str
    url: str = ""
    rules: list[Callable[[web.Request], Awaitable[web.StreamResponse | None]]] = field(
        default_factory=list
    )
    # Called once the engine has answered, before the answer goes back (e.g. to kill
    # the client so that it never learns what the engine did).
    after: list[Callable[[web.Request], Awaitable[None]]] = field(default_factory=list)
    corrupt: Callable[[web.Request], bool] = lambda request: False
    seen: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(f"{request.method} {request.path}")
        for rule in self.rules:
            answer = await rule(request)
            if answer is not None:
                return answer
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"host", "transfer-encoding"}
        }
        body = request.content if request.body_exists else None  # streamed, not buffered
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, f"{self.target}{request.path_qs}", data=body, headers=headers
            ) as answer,
        ):
            data = await answer.read()
            out = {
                k: v
                for k, v in answer.headers.items()
                if k.lower()
                not in {"content-length", "transfer-encoding", "content-encoding", "date", "server"}
            }
            if self.corrupt(request) and data:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
        for hook in self.after:
            await hook(request)
        return web.Response(status=answer.status, body=data, headers=out)


@contextlib.asynccontextmanager
async def flaky_proxy(target: str) -> AsyncIterator[FlakyProxy]:
    proxy = FlakyProxy(target)
    app = web.Application(client_max_size=1024**3)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    proxy.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    await web.SockSite(runner, sock).start()
    try:
        yield proxy
    finally:
        await runner.cleanup()


def answer(status: int) -> web.Response:
    return web.json_response(
        {"errors": [{"code": status, "message": "test says no"}]}, status=status
    )


def fast_settings(root: Path, side: Side, **changes: Any) -> FolderSettings:
    """Settings with short intervals, so that tests wait only as long as needed."""
    values: dict[str, Any] = {
        "root": root,
        "process_code": "CERTDC",
        "side": side,
        "scan_interval": 0.02,
        "settle_time": 0.05,
        "backoff": Backoff(initial=0.05, maximum=0.2, jitter=0),
    }
    values.update(changes)
    return FolderSettings(**values)


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []
