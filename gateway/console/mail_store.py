"""The notification e-mails' tables in ``gateway.db``: preferences, the queue, and the
dossiers already looked at.

- ``gw_mail_prefs``: per console user and démarche, ``immediate`` or ``digest`` (no row:
  no e-mail).
- ``gw_mail_seen``: the cases (received from the hub) already turned into queue rows,
  so a restart never queues a dossier twice. Created with every case present at that
  moment, so switching e-mails on never mails the whole history.
- ``gw_mail_queue``: one row per (user, case): its mode, when it is due, its attempts
  and last error, and when the SMTP server accepted it. A row is marked sent only after
  the server accepted the message: delivery is at-least-once (a crash between the
  server's answer and the commit sends that one message again, with the same
  Message-ID so that mail clients show it once).

The tables are created by :func:`ensure_mail_schema` in one unit of work (``CREATE
TABLE IF NOT EXISTS``), versioned in the engine's ``extension_schema`` under
``console_mail``: a later change adds a numbered step there. Blocking functions take a
``sqlite3.Connection`` of a store unit of work: never call them on the event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from hubee.sqlite_store import sqlite_connection
from trust.journal import rfc3339

SCHEMA_NAME = "console_mail"
SCHEMA_VERSION = 1

_TABLES = (
    """CREATE TABLE IF NOT EXISTS gw_mail_prefs (
        login TEXT NOT NULL,
        process_code TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('immediate', 'digest')),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (login, process_code)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS gw_mail_seen (
        case_id TEXT PRIMARY KEY
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS gw_mail_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        login TEXT NOT NULL,
        address TEXT NOT NULL,
        process_code TEXT NOT NULL,
        case_id TEXT NOT NULL,
        folder_id TEXT NOT NULL,
        folder_number TEXT NOT NULL,
        mode TEXT NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (login, case_id)
    )""",
    "CREATE INDEX IF NOT EXISTS gw_mail_queue_due ON gw_mail_queue (sent_at, due_at)",
)


class MailMode(Enum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


@dataclass(frozen=True)
class QueuedMail:
    id: int
    login: str
    address: str
    process_code: str
    case_id: str
    folder_id: str
    folder_number: str
    mode: MailMode
    attempts: int


@dataclass(frozen=True)
class MailQueueState:
    pending: int
    sent: int
    retrying: int
    last_error: str | None


AddressBook = Callable[[sqlite3.Connection, str, str], str | None]
"""``(conn, login, process_code)`` → the user's e-mail address if they may still see
that démarche's dossiers (an active account with a role on it), else ``None``."""


def ensure_mail_schema(tx: object) -> None:
    """Create the tables if missing (one unit of work; idempotent)."""
    conn = sqlite_connection(tx)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS extension_schema "
        "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    row = conn.execute(
        "SELECT version FROM extension_schema WHERE name = ?", (SCHEMA_NAME,)
    ).fetchone()
    if row is not None and int(row[0]) >= SCHEMA_VERSION:
        return
    for statement in _TABLES:
        conn.execute(statement)
    # Everything received so far counts as seen: no e-mail for the history.
    conn.execute(
        "INSERT OR IGNORE INTO gw_mail_seen (case_id) "
        "SELECT case_id FROM gw_cases WHERE direction = 'in'"
    )
    conn.execute(
        "INSERT INTO extension_schema (name, version) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        (SCHEMA_NAME, SCHEMA_VERSION),
    )


# Preferences ---------------------------------------------------------------------------


def preferences(conn: sqlite3.Connection, login: str) -> dict[str, MailMode]:
    rows = conn.execute(
        "SELECT process_code, mode FROM gw_mail_prefs WHERE login = ?", (login,)
    ).fetchall()
    return {str(code): MailMode(mode) for code, mode in rows}


def set_preference(
    conn: sqlite3.Connection, login: str, process_code: str, mode: MailMode | None, at: datetime
) -> None:
    """Set (or with ``None`` remove) one user's choice for one démarche."""
    if mode is None:
        conn.execute(
            "DELETE FROM gw_mail_prefs WHERE login = ? AND process_code = ?",
            (login, process_code),
        )
        return
    conn.execute(
        "INSERT INTO gw_mail_prefs (login, process_code, mode, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (login, process_code) DO UPDATE SET mode = excluded.mode, "
        "updated_at = excluded.updated_at",
        (login, process_code, mode.value, rfc3339(at)),
    )


# Queueing --------------------------------------------------------------------------------


def queue_new_cases(
    conn: sqlite3.Connection,
    *,
    address_book: AddressBook,
    digest_due: float,
    now: datetime,
) -> int:
    """Turn the cases received since last time into queue rows; the number of rows added.

    Immediate rows are due now; digest rows at ``digest_due`` (the next digest time).
    Each case is marked seen in the same transaction, so it is queued exactly once.
    """
    fresh = conn.execute(
        "SELECT g.case_id, g.folder_id, f.process_code, f.external_id "
        "FROM gw_cases g JOIN folders f ON f.id = g.folder_id "
        "WHERE g.direction = 'in' AND g.case_id NOT IN (SELECT case_id FROM gw_mail_seen) "
        "AND g.case_id NOT IN (SELECT case_id FROM gw_refused) "
        "ORDER BY g.rowid"
    ).fetchall()
    added = 0
    for case_id, folder_id, process_code, external_id in fresh:
        subscribers = conn.execute(
            "SELECT login, mode FROM gw_mail_prefs WHERE process_code = ? ORDER BY login",
            (process_code,),
        ).fetchall()
        for login, mode in subscribers:
            address = address_book(conn, str(login), str(process_code))
            if not address:
                continue
            due = now.timestamp() if mode == MailMode.IMMEDIATE.value else digest_due
            cursor = conn.execute(
                "INSERT OR IGNORE INTO gw_mail_queue (login, address, process_code, case_id, "
                "folder_id, folder_number, mode, due_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    login,
                    address,
                    process_code,
                    case_id,
                    folder_id,
                    str(external_id),
                    mode,
                    due,
                    rfc3339(now),
                ),
            )
            added += cursor.rowcount
        conn.execute("INSERT OR IGNORE INTO gw_mail_seen (case_id) VALUES (?)", (case_id,))
    return added


def due_mails(conn: sqlite3.Connection, now: float, limit: int = 200) -> list[QueuedMail]:
    rows = conn.execute(
        "SELECT id, login, address, process_code, case_id, folder_id, folder_number, mode, "
        "attempts FROM gw_mail_queue WHERE sent_at IS NULL AND due_at <= ? "
        "ORDER BY due_at, id LIMIT ?",
        (now, limit),
    ).fetchall()
    return [
        QueuedMail(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], MailMode(r[7]), int(r[8]))
        for r in rows
    ]


def next_due(conn: sqlite3.Connection) -> float | None:
    row = conn.execute("SELECT min(due_at) FROM gw_mail_queue WHERE sent_at IS NULL").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def mark_sent(conn: sqlite3.Connection, ids: Iterable[int], at: datetime) -> None:
    conn.executemany(
        "UPDATE gw_mail_queue SET sent_at = ?, last_error = NULL WHERE id = ? AND sent_at IS NULL",
        [(rfc3339(at), i) for i in ids],
    )


def mark_failed(conn: sqlite3.Connection, ids: Iterable[int], error: str, retry_at: float) -> None:
    conn.executemany(
        "UPDATE gw_mail_queue SET attempts = attempts + 1, last_error = ?, due_at = ? "
        "WHERE id = ? AND sent_at IS NULL",
        [(error[:500], retry_at, i) for i in ids],
    )


def queue_state(conn: sqlite3.Connection) -> MailQueueState:
    """Counts for the dashboard (zeroes if the tables do not exist yet)."""
    try:
        pending, sent, retrying = conn.execute(
            "SELECT coalesce(sum(sent_at IS NULL), 0), coalesce(sum(sent_at IS NOT NULL), 0), "
            "coalesce(sum(sent_at IS NULL AND attempts > 0), 0) FROM gw_mail_queue"
        ).fetchone()
        row = conn.execute(
            "SELECT last_error FROM gw_mail_queue WHERE sent_at IS NULL AND last_error IS NOT "
            "NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return MailQueueState(0, 0, 0, None)
    return MailQueueState(int(pending), int(sent), int(retrying), None if row is None else row[0])


def account_address_book(conn: sqlite3.Connection, login: str, process_code: str) -> str | None:
    """The console accounts' address book: an enabled user's e-mail, if they are an agent
    of ``process_code`` (or of every démarche)."""
    row = conn.execute(
        "SELECT u.email FROM gw_console_users u WHERE u.login = ? AND u.disabled = 0 "
        "AND u.email IS NOT NULL AND EXISTS (SELECT 1 FROM gw_console_roles r "
        "WHERE r.login = u.login AND r.role = 'agent' AND r.process_code IN (?, '*'))",
        (login, process_code),
    ).fetchone()
    return None if row is None else str(row[0])
