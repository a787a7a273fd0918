"""Statistiques: dossiers per démarche per week, and time to handling (received →
``IN_PROGRESS``, received → ``DONE``/``REFUSED``), as server-drawn SVG charts
(:mod:`gateway.console.admin_svg`) with the same figures in tables.

Only cases received from the hub count (``gw_cases.direction = 'in'``): what the
agents of this organisation handled. Times come from the engine's ``case_history``.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from aiohttp import web

from gateway.console.admin_common import render_admin
from gateway.console.admin_svg import Series, bar_chart
from gateway.console.formats import LOCAL
from gateway.console.keys import Caller, console_of
from gateway.console.pages import admin_page, local_zone
from hubee.sqlite_store import sqlite_connection
from hubee.store import StoreTx

WEEKS = 8


@dataclass(frozen=True)
class WeekCount:
    week: str  # ISO week, "2026-W47"
    process_code: str
    count: int


@dataclass(frozen=True)
class Handling:
    process_code: str
    cases: int
    taken: int
    median_to_taken_h: float | None
    finished: int
    median_to_finished_h: float | None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-S{week:02d}"


def weekly_counts(
    conn: sqlite3.Connection, since: datetime, where: tzinfo = LOCAL
) -> list[WeekCount]:
    """Dossiers received per ISO week (of the console's zone ``where``) and démarche."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for created, process in conn.execute(
        "SELECT c.create_at, f.process_code FROM gw_cases g JOIN cases c ON c.id = g.case_id "
        "JOIN folders f ON f.id = g.folder_id WHERE g.direction = 'in' AND c.create_at >= ?",
        (since.isoformat(),),
    ):
        counts[(_week(_time(created).astimezone(where)), str(process))] += 1
    return [WeekCount(w, p, n) for (w, p), n in sorted(counts.items())]


def handling_times(conn: sqlite3.Connection, since: datetime) -> list[Handling]:
    rows = conn.execute(
        "SELECT f.process_code, c.create_at, "
        "(SELECT min(h.at) FROM case_history h WHERE h.case_id = c.id "
        " AND h.status = 'IN_PROGRESS'), "
        "(SELECT min(h.at) FROM case_history h WHERE h.case_id = c.id "
        " AND h.status IN ('DONE', 'REFUSED')) "
        "FROM gw_cases g JOIN cases c ON c.id = g.case_id JOIN folders f ON f.id = g.folder_id "
        "WHERE g.direction = 'in' AND c.create_at >= ?",
        (since.isoformat(),),
    ).fetchall()
    per: dict[str, list[tuple[float | None, float | None]]] = defaultdict(list)
    for process, created, taken, finished in rows:
        start = _time(created)
        per[str(process)].append(
            (
                None if taken is None else (_time(taken) - start).total_seconds() / 3600,
                None if finished is None else (_time(finished) - start).total_seconds() / 3600,
            )
        )
    out = []
    for process, times in sorted(per.items()):
        taken_h = [t for t, _ in times if t is not None]
        done_h = [d for _, d in times if d is not None]
        out.append(
            Handling(
                process,
                len(times),
                len(taken_h),
                statistics.median(taken_h) if taken_h else None,
                len(done_h),
                statistics.median(done_h) if done_h else None,
            )
        )
    return out


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{round(value * 60)} min"
    return f"{value:.1f} h".replace(".", ",")


@admin_page
async def stats(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    since = runtime.deps.clock() - timedelta(weeks=WEEKS)
    where = local_zone(request)

    def read(tx: StoreTx) -> tuple[list[WeekCount], list[Handling]]:
        conn = sqlite_connection(tx)
        return weekly_counts(conn, since, where), handling_times(conn, since)

    weekly, handling = await runtime.store.read(read)
    weeks = sorted({w.week for w in weekly})
    processes = sorted({w.process_code for w in weekly})
    table = {(w.week, w.process_code): w.count for w in weekly}
    weekly_chart = bar_chart(
        chart_id="par-semaine",
        title="Dossiers reçus par semaine et par démarche",
        description=(
            "; ".join(
                f"semaine {week} : "
                + ", ".join(f"{p} {table.get((week, p), 0)}" for p in processes)
                for week in weeks
            )
            or "aucun dossier reçu"
        ),
        categories=weeks,
        series=[Series(p, tuple(float(table.get((w, p), 0)) for w in weeks)) for p in processes],
    )
    handling_chart = bar_chart(
        chart_id="delais",
        title="Délai médian de traitement par démarche, en heures",
        description=(
            "; ".join(
                f"{h.process_code} : prise en charge {_hours(h.median_to_taken_h)}, "
                f"clôture {_hours(h.median_to_finished_h)}"
                for h in handling
            )
            or "aucun dossier traité"
        ),
        categories=[h.process_code for h in handling],
        series=[
            Series("Prise en charge", tuple(h.median_to_taken_h for h in handling)),
            Series("Clôture", tuple(h.median_to_finished_h for h in handling)),
        ],
        unit=" h",
    )
    return await render_admin(
        request,
        "admin/stats.html",
        "admin/statistiques",
        {
            "weeks": weeks,
            "processes": processes,
            "table": table,
            "weekly_chart": weekly_chart,
            "handling": handling,
            "handling_chart": handling_chart,
            "hours": _hours,
            "span": WEEKS,
        },
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin/statistiques", stats, name="admin-stats")
