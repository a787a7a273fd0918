"""The demo's LAN software: a HubEE v1 client that knows only a gateway's base URL and
its OAuth2 client credentials, as an éditeur's software would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from appliance.demo_services import DemoStepFailed

T = TypeVar("T")


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class HubeeClient:
    """``POST /token`` (client credentials), then bearer calls to the HubEE API."""

    def __init__(
        self, session: aiohttp.ClientSession, base: str, client_id: str, secret: str, scope: str
    ) -> None:
        self.session = session
        self.base = base
        self.client_id = client_id
        self._secret = secret
        self.scope = scope
        self._token = ""

    async def login(self) -> None:
        async with self.session.post(
            f"{self.base}/token",
            auth=aiohttp.BasicAuth(self.client_id, self._secret),
            data={"grant_type": "client_credentials", "scope": self.scope},
        ) as r:
            if r.status != 200:
                raise DemoStepFailed(f"token refused by {self.base}: {r.status} {await r.text()}")
            self._token = (await r.json())["access_token"]

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if not self._token:
            await self.login()
        all_headers = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        async with self.session.request(
            method, f"{self.base}{path}", json=json_body, data=data, headers=all_headers
        ) as r:
            return Reply(r.status, await r.read(), {k.lower(): v for k, v in r.headers.items()})

    async def expect(self, status: int, method: str, path: str, **kw: Any) -> Reply:
        reply = await self.call(method, path, **kw)
        if reply.status != status:
            raise DemoStepFailed(
                f"{method} {path} on {self.base}: {reply.status} {reply.body[:300]!r}"
            )
        return reply


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, every: float = 0.05
) -> T:
    """Poll ``check`` until it answers something truthy, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoStepFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)
