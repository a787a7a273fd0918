"""The agents' inbox: the cases this gateway's organisation received, per démarche.

Only delivered cases (not ``HUBEE_RECEIVED``) of the démarches the user handles are
listed; new ones (``HUBEE_NOTIFIED``, ``SENT``: not yet acknowledged) come first,
then the most recently received. The date filters are days of the console's zone
(``console.timezone``), not UTC days. Blocking: runs inside a store read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from gateway.console.formats import LOCAL, NEW_STATUSES, day_end, day_start
from hubee.model import Organization, Status
from hubee.sqlite_store import sqlite_connection

PAGE = 100


@dataclass(frozen=True)
class InboxQuery:
    processes: tuple[str, ...]
    status: str | None = None
    received_from: date | None = None  # days in ``where``, the console's zone
    received_to: date | None = None  # inclusive
    where: tzinfo = LOCAL
    search: str | None = None
    limit: int = PAGE
    offset: int = 0


@dataclass(frozen=True)
class InboxRow:
    case_id: str
    folder_id: str
    process_code: str
    folder_external_id: str
    case_external_id: str
    status: str
    received_at: str
    status_at: str

    @property
    def is_new(self) -> bool:
        return self.status in NEW_STATUSES


def own_org(tx: object, company_register: str, branch_code: str) -> Organization | None:
    """This gateway's organisation, once its directory knows it (first pulled case)."""
    org: Organization | None = tx.org_by_ref(company_register, branch_code)  # type: ignore[attr-defined]
    return org


def inbox(tx: object, org_id: str, query: InboxQuery) -> list[InboxRow]:
    if not query.processes:
        return []
    conn: sqlite3.Connection = sqlite_connection(tx)
    where = ["c.recipient_org_id = ?", "c.status != ?"]
    args: list[object] = [org_id, Status.HUBEE_RECEIVED.value]
    if "*" not in query.processes:
        where.append(f"f.process_code IN ({', '.join('?' * len(query.processes))})")
        args.extend(query.processes)
    if query.status:
        where.append("c.status = ?")
        args.append(query.status)
    if query.received_from:
        where.append("c.create_at >= ?")
        args.append(_stored(day_start(query.received_from, query.where)))
    if query.received_to:
        where.append("c.create_at < ?")
        args.append(_stored(day_end(query.received_to, query.where)))
    if query.search:
        term = query.search.strip()
        where.append("(c.id = ? OR c.folder_id = ? OR f.external_id = ? OR c.external_id = ?)")
        args.extend([term.lower(), term.lower(), term, term])
    new = ", ".join("?" * len(NEW_STATUSES))
    # Only placeholders are interpolated; every value is a bound parameter.
    sql = (
        "SELECT c.id, c.folder_id, f.process_code, f.external_id, c.external_id, c.status, "  # noqa: S608
        "c.create_at, c.status_at FROM cases c JOIN folders f ON f.id = c.folder_id "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY (c.status IN ({new})) DESC, c.create_at DESC, c.id LIMIT ? OFFSET ?"
    )
    rows = conn.execute(sql, [*args, *NEW_STATUSES, query.limit, query.offset]).fetchall()
    return [InboxRow(*(str(v) for v in row)) for row in rows]


def _stored(at: datetime) -> str:
    """A UTC instant as a prefix of the stored ISO times (``…T22:00:00`` sorts before
    ``…T22:00:00.000000+00:00`` and after every earlier second)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S")
