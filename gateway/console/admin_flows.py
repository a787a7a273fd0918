"""Flux: queue depths, dossiers in and out per démarche and per day, failures with
their reason, and "Relancer" for work the hub refused (and, in :mod:`gateway.console.admin_folders`,
for dossiers of the watched folders in ``FAILED/``) (``gw_link_outbox`` items in state
``failed``): the item goes back to ``pending`` with its attempts reset, the outbox
picks it up within a quarter of a second, and the journal records who asked.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from aiohttp import web

from gateway.console import admin_folders, mail_store
from gateway.console.admin_common import journal_action, render_admin
from gateway.console.admin_folders import folder_failures
from gateway.console.formats import LOCAL
from gateway.console.keys import Caller, console_of
from gateway.console.pages import PageError, admin_page, flash, local_zone, redirect, url
from gateway.outbox import outbox_state
from gateway.tables import GatewayTables, folder_subject
from hubee.sqlite_store import sqlite_connection
from hubee.store import StoreTx

DAYS = 14


@dataclass(frozen=True)
class DayFlow:
    day: str
    process_code: str
    received: int
    sent: int


@dataclass(frozen=True)
class Failure:
    id: int
    kind: str
    folder_id: str
    state: str
    attempts: int
    error: str | None
    created_at: str


@dataclass(frozen=True)
class Refusal:
    case_id: str
    folder_id: str | None
    reason: str
    at: str


def day_flows(conn: sqlite3.Connection, since: datetime, where: tzinfo = LOCAL) -> list[DayFlow]:
    """Cases received from the hub (``in``) and sent to it (``out``) per day (of the
    console's zone ``where``) and démarche."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for created, process, direction in conn.execute(
        "SELECT c.create_at, f.process_code, g.direction "
        "FROM gw_cases g JOIN cases c ON c.id = g.case_id JOIN folders f ON f.id = g.folder_id "
        "WHERE c.create_at >= ?",
        (since.isoformat(),),
    ):
        day = datetime.fromisoformat(str(created).replace("Z", "+00:00")).astimezone(where)
        counts[(day.date().isoformat(), str(process))][0 if direction == "in" else 1] += 1
    by_process = sorted(counts.items(), key=lambda kv: kv[0][1])
    ordered = sorted(by_process, key=lambda kv: kv[0][0], reverse=True)  # stable: newest day first
    return [DayFlow(d, p, i, o) for (d, p), (i, o) in ordered]


def failures(conn: sqlite3.Connection, limit: int = 50) -> list[Failure]:
    """Refused work, and work still retrying after an error, newest first."""
    rows = conn.execute(
        "SELECT id, kind, lane, state, attempts, last_error, created_at FROM gw_link_outbox "
        "WHERE state = 'failed' OR (state = 'pending' AND last_error IS NOT NULL) "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [Failure(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows]


def refusals(conn: sqlite3.Connection, limit: int = 50) -> list[Refusal]:
    rows = conn.execute(
        "SELECT case_id, folder_id, reason, at FROM gw_refused ORDER BY at DESC LIMIT ?", (limit,)
    ).fetchall()
    return [Refusal(*r) for r in rows]


def retry_failed(tx: StoreTx, item_id: int, *, login: str, now: datetime) -> str | None:
    """Put a failed item back in the queue; its folder id, or ``None`` if not failed."""
    tables = GatewayTables.of(tx)
    row = tables.conn.execute(
        "SELECT lane, kind FROM gw_link_outbox WHERE id = ? AND state = 'failed'", (item_id,)
    ).fetchone()
    if row is None:
        return None
    lane, kind = str(row[0]), str(row[1])
    tables.conn.execute(
        "UPDATE gw_link_outbox SET state = 'pending', attempts = 0, next_at = 0, "
        "done_at = NULL WHERE id = ?",
        (item_id,),
    )
    tables.journal("retry", folder_subject(lane), {"work": kind, "item": item_id, "by": login}, now)
    return lane


@admin_page
async def flows(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    since = runtime.deps.clock() - timedelta(days=DAYS)
    where = local_zone(request)

    def read(tx: StoreTx) -> dict[str, object]:
        conn = sqlite_connection(tx)
        return {
            "outbox": outbox_state(tx),
            "mail": mail_store.queue_state(conn),
            "flows": day_flows(conn, since, where),
            "failures": failures(conn),
            "refusals": refusals(conn),
        }

    found = await runtime.store.read(read)
    folders = await asyncio.to_thread(folder_failures, runtime.settings)
    return await render_admin(
        request,
        "admin/flows.html",
        "admin/flux",
        {
            **found,
            "folder_failures": folders,
            "watched": bool(runtime.settings.folders),
            "journal_pending": await runtime.drain.pending(),
            "days": DAYS,
        },
    )


@admin_page
async def retry(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    try:
        item_id = int(request.match_info["item"])
    except ValueError:
        raise PageError(404) from None
    login = caller.user.login
    now = runtime.deps.clock()
    lane = await runtime.store.write(lambda tx: retry_failed(tx, item_id, login=login, now=now))
    if lane is None:
        await flash(
            request,
            caller,
            f"L'envoi n° {item_id} n'est pas en échec : rien à relancer.",
            kind="warning",
        )
    else:
        await journal_action(request, caller, "retry", item=item_id, folder=lane)
        await flash(request, caller, f"L'envoi n° {item_id} est relancé.")
    return redirect(url("admin/flux"))


def add_routes(router: web.UrlDispatcher) -> None:
    admin_folders.add_routes(router)
    router.add_get("/admin/flux", flows, name="admin-flows")
    router.add_post("/admin/flux/relancer/{item}", retry, name="admin-retry")
