"""A real hub on a loopback port chosen by the OS, and a client that checks every answer.

:func:`run_guarded` runs a scenario in an asyncio loop in debug mode and fails if any
callback held the loop longer than ``slow`` seconds: blocking I/O (SQLite, files,
scrypt) done on the loop would show up there. The conformance checks themselves run
in a worker thread so that they do not count.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict

from hubee.app import serve
from hubee.http_requests import SERVICES
from hubee.model import Organization, OrgRef, OrgType, Process, Scope
from hubee.services import HubDeps, HubServices
from hubee.settings import HubSettings
from tests.integration.hub.conformance import Conformance

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


class FakeClock:
    """The hub's clock in tests: time moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and "took" in message:
            self.messages.append(message)


def run_guarded(main: Awaitable[None], *, slow: float = 2.0) -> None:
    """Run ``main`` in a debug event loop; fail on any callback slower than ``slow`` s.

    Two seconds catches gross blocking work on the loop (a big file read, a long
    SQLite call) without failing when hub, gateways and tests share 2 busy cores
    (0.1 and 0.5 s both gave false alarms under load); ``hubee.loop_guard`` refuses
    storage I/O on the loop outright, whatever its duration.
    """
    catcher = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(catcher)
    try:
        with asyncio.Runner(debug=True) as runner:
            runner.get_loop().slow_callback_duration = slow
            runner.run(main)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(catcher)
    assert not catcher.messages, "the event loop was blocked:\n" + "\n".join(catcher.messages)


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class Reply:
    status: int
    headers: CIMultiDict[str]
    body: bytes
    checked: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return str(self.json()["errors"][0]["message"])


@dataclass
class Hub:
    url: str
    session: aiohttp.ClientSession
    services: HubServices
    clock: FakeClock
    settings: HubSettings
    conformance: Conformance
    replies: list[Reply] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: list[tuple[str, str]] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = data
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(
            method, path, data=body, headers=sent, params=params or []
        ) as response:
            raw = await response.read()
            received = CIMultiDict(response.headers)
            status = response.status
        checked = await asyncio.to_thread(
            self.conformance.check,
            method=method,
            path=path,
            query=params or [],
            request_headers=sent,
            request_body=body,
            status=status,
            response_headers=received,
            body=raw,
        )
        reply = Reply(status, received, raw, checked)
        self.replies.append(reply)
        return reply

    # Directory set-up, in process (the admin API has its own tests).
    async def org(self, kind: str, siret: str, branch: str, name: str) -> Organization:
        return await self.services.directory.add_org(OrgRef(OrgType(kind), siret, branch), name)

    async def process(self, code: str, osl: Organization | None = None, **delays: Any) -> Process:
        return await self.services.directory.add_process(
            Process(code, f"démarche {code}", **delays), osl=None if osl is None else osl.ref
        )

    async def subscribe(self, process: str, org: Organization, *, activate: bool = True) -> str:
        sub = await self.services.directory.subscribe(
            process_code=process,
            subscriber=org.ref,
            activate=activate,
            local_admin_email="admin@example.fr",
        )
        return sub.id

    async def client(self, org: Organization, scope: Scope, process: str | None) -> tuple[str, str]:
        client, secret = await self.services.directory.add_client(
            org=org.ref, scope=scope, process_code=process
        )
        return client.client_id, secret

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> Reply:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        async with self.session.post(
            "/token", data=form, headers={"Authorization": f"Basic {basic}"}
        ) as response:
            raw = await response.read()
            reply = Reply(response.status, CIMultiDict(response.headers), raw, "outside")
        if reply.status >= 400:
            self.conformance.check_error_body(reply.status, raw)
        return reply

    async def login(self, org: Organization, scope: Scope, process: str | None) -> str:
        client_id, secret = await self.client(org, scope, process)
        reply = await self.token(client_id, secret, scope.value)
        assert reply.status == 200, reply.body
        return str(reply.json()["access_token"])


@asynccontextmanager
async def running_hub(
    data_dir: Path, conformance: Conformance, **settings: Any
) -> AsyncIterator[Hub]:
    clock = FakeClock()
    hub_settings = HubSettings(data_dir=data_dir, **settings)
    deps = await asyncio.to_thread(HubDeps.open, hub_settings, clock=clock)
    runner, port = await serve(hub_settings, host="127.0.0.1", port=0, deps=deps)
    try:
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(url) as session:
            yield Hub(url, session, runner.app[SERVICES], clock, hub_settings, conformance)
    finally:
        await runner.cleanup()
        await deps.close()


Scenario = Callable[[Hub], Awaitable[None]]
