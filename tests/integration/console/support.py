"""A console on a real gateway runtime (real SQLite, real HTTP on loopback), and a small
browser stand-in: a cookie jar, form fields read from the served HTML."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.console.accounts import Accounts, Role, roles_of
from gateway.lan import make_lan_app
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from tests.unit.gateway.support import SAINT_DENIS, HubPki, enroll_offline

PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    return dict(_HIDDEN.findall(html))


@dataclass
class Page:
    status: int
    html: str
    url: str
    headers: Any

    @property
    def text(self) -> str:
        """The page with its character references decoded (``n&#39;est`` → ``n'est``)."""
        return html.unescape(self.html)


class Browser:
    """Follows redirects, keeps cookies (even for 127.0.0.1), reads hidden fields."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    def _remember(self, text: str) -> None:
        token = hidden_fields(text).get("csrf")
        if token:
            self.csrf = token

    async def get(self, path: str) -> Page:
        async with self.session.get(self.base + path) as r:
            text = await r.text()
            self._remember(text)
            return Page(r.status, text, str(r.url), r.headers)

    async def post(self, path: str, data: Any, *, csrf: str | None = None) -> Page:
        if isinstance(data, dict):
            data = {"csrf": self.csrf if csrf is None else csrf, **data}
        async with self.session.post(self.base + path, data=data) as r:
            text = await r.text()
            self._remember(text)
            return Page(r.status, text, str(r.url), r.headers)

    async def sign_in(self, login: str, password: str = PASSWORD) -> Page:
        form = await self.get("/console/connexion")
        fields = hidden_fields(form.text)
        async with self.session.post(
            self.base + "/console/connexion",
            data={
                "pre": fields["pre"],
                "next": fields["next"],
                "login": login,
                "password": password,
            },
        ) as r:
            text = await r.text()
            self._remember(text)
            return Page(r.status, text, str(r.url), r.headers)


@dataclass
class Console:
    runtime: GatewayRuntime
    base: str

    async def add_user(
        self, login: str, *, role: Role = Role.AGENT, processes: tuple[str, ...] = ("CERTDC",)
    ) -> None:
        await Accounts(self.runtime.store).add(
            login,
            display_name=f"Agent {login}",
            email=None,
            roles=roles_of(role, processes),
            password=PASSWORD,
            now=datetime.now(UTC),
        )

    def browser(self) -> Browser:
        return Browser(self.base)


def si_settings(root: Path, hub: HubPki | None = None, **settings: Any) -> GatewaySettings:
    return enroll_offline(root, hub or HubPki.create(), SAINT_DENIS, "SI", **settings)


@asynccontextmanager
async def serve_console(runtime: GatewayRuntime) -> AsyncIterator[Console]:
    runner = web.AppRunner(make_lan_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Console(runtime, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


class Clock:
    """A clock the test moves (session expiry, lock-out), readable by the gateway."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@asynccontextmanager
async def offline_console(
    root: Path, *, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[Console]:
    runtime = await GatewayRuntime.open(si_settings(root, **settings), clock=clock or Clock())
    drain = asyncio.create_task(runtime.drain.run())  # audit entries reach the journal
    try:
        async with serve_console(runtime) as console:
            yield console
    finally:
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
        await runtime.close()
