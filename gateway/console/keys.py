"""Typed application state of the console sub-application, and the request's caller."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import MultipartReader, web

from gateway.console.accounts import Accounts, User
from gateway.console.sessions import Session, Sessions
from gateway.console.signin_guard import SignInGuard
from gateway.runtime import GatewayRuntime
from gateway.settings import ConsoleSettings


@dataclass(frozen=True)
class Console:
    """What every console handler may use."""

    runtime: GatewayRuntime
    config: ConsoleSettings
    accounts: Accounts
    sessions: Sessions
    guard: SignInGuard = field(default_factory=SignInGuard)  # failed sign-ins per address


@dataclass(frozen=True)
class Caller:
    """The signed-in user of one request, and their session."""

    user: User
    session: Session
    token: str


CONSOLE = web.AppKey("gateway.console", Console)
CALLER = web.RequestKey("gateway.console.caller", Caller)  # absent: nobody signed in
EXPIRED = web.RequestKey("gateway.console.expired", bool)  # the cookie's session expired
# A multipart POST's reader, after its first part (the CSRF token) was checked.
MULTIPART = web.RequestKey("gateway.console.multipart", MultipartReader)
PREFIX = "/console"


def console_of(request: web.Request) -> Console:
    return request.config_dict[CONSOLE]


def caller_of(request: web.Request) -> Caller | None:
    return request.get(CALLER)
