"""Audit entries for the console: every sign-in, sign-out and action, in the journal.

An entry names the user's login and the ids acted on, never a dossier's content or
a password. Subject ``console/<login>``; kind ``console``; ``data.fact`` is one of
``signin.ok``, ``signin.failed``, ``signin.locked``, ``signout``, ``action.<name>``,
``action.<name>.refused``, ``download``, ``evidence``. Unknown logins are journaled
as ``?`` (a mistyped password in the login field must not enter the journal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.runtime import GatewayRuntime
from gateway.tables import GatewayTables

KIND = "console"


async def audit(
    runtime: GatewayRuntime, fact: str, *, login: str | None, now: datetime, **ids: Any
) -> None:
    who = login or "?"
    data = {"fact": fact, "login": who, **{k: v for k, v in ids.items() if v is not None}}

    def work(tx: object) -> None:
        GatewayTables.of(tx).journal(KIND, f"console/{who}", data, now)

    await runtime.store.write(work)
    runtime.drain.poke()
