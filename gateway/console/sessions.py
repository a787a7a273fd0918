"""Server-side console sessions: a random 256-bit id in a cookie, its SHA-256 in the DB.

The cookie is ``sceau_console`` (``__Host-sceau_console`` with ``Secure`` when the
console is served over HTTPS): HttpOnly, SameSite=Strict, Path=/. A session ends
after ``session_minutes`` without a request, at sign-out, or when the user's password
is reset or the account disabled. Each session has its own CSRF token, checked on
every POST (a hidden form field), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from hubee.sqlite_store import sqlite_connection
from hubee.store import Store
from trust.journal import rfc3339

COOKIE = "sceau_console"
SECURE_COOKIE = "__Host-sceau_console"
_TOUCH_EVERY = 30.0  # seconds: do not write the DB on every single request


def cookie_name(*, secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id_hash: str
    login: str
    csrf: str
    last_seen: float
    flash: str | None

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.csrf.encode(), presented.encode())


@dataclass(frozen=True)
class Lookup:
    """A cookie's session, or why there is none (``expired`` is worth telling the user)."""

    session: Session | None
    expired: bool = False


class Sessions:
    def __init__(self, store: Store, *, idle: timedelta) -> None:
        self._store = store
        self._idle = idle.total_seconds()

    async def create(self, login: str, *, now: datetime) -> tuple[str, Session]:
        """A new session for ``login``; returns the cookie value (shown to no one else)."""
        token = secrets.token_urlsafe(32)
        session = Session(_hash(token), login, secrets.token_urlsafe(32), now.timestamp(), None)

        def work(tx: object) -> None:
            conn = sqlite_connection(tx)
            conn.execute(
                "DELETE FROM gw_console_sessions WHERE last_seen < ?",
                (now.timestamp() - self._idle,),
            )
            conn.execute(
                "INSERT INTO gw_console_sessions (id_hash, login, csrf, created_at, last_seen) "
                "VALUES (?, ?, ?, ?, ?)",
                (session.id_hash, login, session.csrf, rfc3339(now), session.last_seen),
            )

        await self._store.write(work)
        return token, session

    async def load(self, token: str | None, *, now: datetime) -> Lookup:
        if not token:
            return Lookup(None)
        id_hash = _hash(token)

        def read(tx: object) -> Session | None:
            return _row(sqlite_connection(tx), id_hash)

        session = await self._store.read(read)
        if session is None:
            return Lookup(None)
        at = now.timestamp()
        if at - session.last_seen > self._idle:
            await self.drop_hash(id_hash)
            return Lookup(None, expired=True)
        if at - session.last_seen > _TOUCH_EVERY:
            await self._store.write(
                lambda tx: sqlite_connection(tx).execute(
                    "UPDATE gw_console_sessions SET last_seen = ? WHERE id_hash = ?",
                    (at, id_hash),
                )
            )
        return Lookup(session)

    async def drop(self, token: str) -> None:
        await self.drop_hash(_hash(token))

    async def drop_hash(self, id_hash: str) -> None:
        await self._store.write(
            lambda tx: sqlite_connection(tx).execute(
                "DELETE FROM gw_console_sessions WHERE id_hash = ?", (id_hash,)
            )
        )

    async def set_flash(self, id_hash: str, message: str | None) -> None:
        """A message for the next page (the post/redirect/get pattern)."""
        await self._store.write(
            lambda tx: sqlite_connection(tx).execute(
                "UPDATE gw_console_sessions SET flash = ? WHERE id_hash = ?", (message, id_hash)
            )
        )


def _row(conn: sqlite3.Connection, id_hash: str) -> Session | None:
    row = conn.execute(
        "SELECT s.id_hash, s.login, s.csrf, s.last_seen, s.flash FROM gw_console_sessions s "
        "JOIN gw_console_users u ON u.login = s.login WHERE s.id_hash = ? AND u.disabled = 0",
        (id_hash,),
    ).fetchone()
    if row is None:
        return None
    return Session(row[0], row[1], row[2], float(row[3]), row[4])
