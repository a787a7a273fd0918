"""The console's accounts: logins, argon2id password hashes, roles, lock-out.

Roles are given per démarche (process code). ``agent`` on a démarche lets a user see
and handle that démarche's dossiers. ``admin`` is gateway-wide (stored with the
process ``*``): it opens the Administration pages and does NOT imply ``agent``, so
that departmental IT runs the gateway without reading dossiers; a user may hold both.

Blocking SQLite work runs inside the engine's units of work (``store.read`` /
``store.write``); argon2 hashing runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.errors import GatewayConfigError
from hubee.sqlite_store import sqlite_connection
from hubee.store import Store
from trust.journal import rfc3339

ALL_PROCESSES = "*"
_LOGIN = re.compile(r"[a-z0-9][a-z0-9_.@-]{0,63}")
_PROCESS = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_PASSWORD = 12
# argon2-cffi's defaults: argon2id, t=3, m=64 MiB, p=4 (RFC 9106 §4 second choice).
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so that timing does not tell.

    Made on the first sign-in, not at import: an argon2id hash costs 64 MiB for a
    moment, which every gateway would otherwise carry from start-up in its peak RSS.
    """
    return _HASHER.hash(secrets.token_urlsafe(16))


class Role(enum.Enum):
    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    login: str
    display_name: str
    email: str | None
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    roles: frozenset[tuple[Role, str]]

    @property
    def is_admin(self) -> bool:
        return any(role is Role.ADMIN for role, _ in self.roles)

    @property
    def processes(self) -> tuple[str, ...]:
        """The démarches whose dossiers this user handles (role ``agent``)."""
        return tuple(sorted(p for role, p in self.roles if role is Role.AGENT))

    def may_handle(self, process_code: str) -> bool:
        return (Role.AGENT, process_code) in self.roles or (
            Role.AGENT,
            ALL_PROCESSES,
        ) in self.roles


class SignInOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad-credentials"  # unknown login, wrong password or disabled
    LOCKED = "locked"


@dataclass(frozen=True)
class SignIn:
    outcome: SignInOutcome
    user: User | None = None
    locked_until: datetime | None = None
    # The login tried, when it exists (the audit entry names only known logins).
    known_login: str | None = None
    # This attempt's failure locked the account (journaled once, not on later refusals).
    lock_started: bool = False


def check_login(login: str) -> str:
    if not _LOGIN.fullmatch(login):
        raise GatewayConfigError(
            f"login {login!r}: use 1 to 64 lower-case letters, digits, '_', '.', '@' or '-'"
        )
    return login


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise GatewayConfigError(f"a console password has at least {MIN_PASSWORD} characters")
    return password


def new_password() -> str:
    """A random password, shown once (about 120 bits)."""
    return secrets.token_urlsafe(15)


def roles_of(role: Role, processes: Iterable[str]) -> frozenset[tuple[Role, str]]:
    if role is Role.ADMIN:
        return frozenset({(Role.ADMIN, ALL_PROCESSES)})
    codes = list(processes)
    if not codes:
        raise GatewayConfigError(
            "an agent needs at least one démarche", hint="Add --process CODE (repeatable)."
        )
    for code in codes:
        if code != ALL_PROCESSES and not _PROCESS.fullmatch(code):
            raise GatewayConfigError(f"process code {code!r} is not valid")
    return frozenset((Role.AGENT, code) for code in codes)


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _load(conn: sqlite3.Connection, login: str) -> tuple[User, str] | None:
    row = conn.execute(
        "SELECT login, display_name, email, password_hash, failed_logins, locked_until, "
        "disabled FROM gw_console_users WHERE login = ?",
        (login,),
    ).fetchone()
    if row is None:
        return None
    roles = frozenset(
        (Role(r), p)
        for r, p in conn.execute(
            "SELECT role, process_code FROM gw_console_roles WHERE login = ?", (login,)
        )
    )
    user = User(
        login=row[0],
        display_name=row[1],
        email=row[2],
        disabled=bool(row[6]),
        failed_logins=int(row[4]),
        locked_until=_parse_time(row[5]),
        roles=roles,
    )
    return user, str(row[3])


class Accounts:
    """The console's users, over the gateway's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(
        self,
        login: str,
        *,
        display_name: str,
        email: str | None,
        roles: frozenset[tuple[Role, str]],
        password: str,
        now: datetime,
    ) -> User:
        check_login(login)
        if not display_name.strip():
            raise GatewayConfigError("a console user needs a display name (--name)")
        digest = await asyncio.to_thread(_HASHER.hash, check_password(password))

        def work(tx: object) -> User:
            conn = sqlite_connection(tx)
            if _load(conn, login) is not None:
                raise GatewayConfigError(f"a console user {login!r} exists")
            conn.execute(
                "INSERT INTO gw_console_users (login, display_name, email, password_hash, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                (login, display_name.strip(), email or None, digest, rfc3339(now)),
            )
            self._set_roles(conn, login, roles)
            found = _load(conn, login)
            assert found is not None
            return found[0]

        return await self._store.write(work)

    @staticmethod
    def _set_roles(
        conn: sqlite3.Connection, login: str, roles: frozenset[tuple[Role, str]]
    ) -> None:
        conn.execute("DELETE FROM gw_console_roles WHERE login = ?", (login,))
        conn.executemany(
            "INSERT INTO gw_console_roles (login, role, process_code) VALUES (?, ?, ?)",
            [(login, role.value, code) for role, code in sorted(roles, key=str)],
        )

    async def set_roles(self, login: str, roles: frozenset[tuple[Role, str]]) -> User:
        def work(tx: object) -> User:
            conn = sqlite_connection(tx)
            if _load(conn, login) is None:
                raise GatewayConfigError(f"no console user {login!r}")
            self._set_roles(conn, login, roles)
            found = _load(conn, login)
            assert found is not None
            return found[0]

        return await self._store.write(work)

    async def get(self, login: str) -> User | None:
        found = await self._store.read(lambda tx: _load(sqlite_connection(tx), login))
        return None if found is None else found[0]

    async def all(self) -> list[User]:
        def read(tx: object) -> list[User]:
            conn = sqlite_connection(tx)
            logins = [
                r[0] for r in conn.execute("SELECT login FROM gw_console_users ORDER BY login")
            ]
            return [found[0] for login in logins if (found := _load(conn, login)) is not None]

        return await self._store.read(read)

    async def set_password(self, login: str, password: str) -> None:
        """A new password; clears the lock-out and ends the user's sessions."""
        digest = await asyncio.to_thread(_HASHER.hash, check_password(password))

        def work(tx: object) -> None:
            conn = sqlite_connection(tx)
            changed = conn.execute(
                "UPDATE gw_console_users SET password_hash = ?, failed_logins = 0, "
                "locked_until = NULL WHERE login = ?",
                (digest, login),
            ).rowcount
            if not changed:
                raise GatewayConfigError(f"no console user {login!r}")
            conn.execute("DELETE FROM gw_console_sessions WHERE login = ?", (login,))

        await self._store.write(work)

    async def set_disabled(self, login: str, disabled: bool = True) -> None:
        """Disable (or enable again) an account; disabling ends its sessions."""

        def work(tx: object) -> None:
            conn = sqlite_connection(tx)
            changed = conn.execute(
                "UPDATE gw_console_users SET disabled = ? WHERE login = ?", (int(disabled), login)
            ).rowcount
            if not changed:
                raise GatewayConfigError(f"no console user {login!r}")
            if disabled:
                conn.execute("DELETE FROM gw_console_sessions WHERE login = ?", (login,))

        await self._store.write(work)

    async def authenticate(
        self, login: str, password: str, *, now: datetime, max_failures: int, lockout: timedelta
    ) -> SignIn:
        """Check a password; count failures and lock the account after ``max_failures``.

        A locked account is refused without checking the password (no guessing while
        locked). Unknown logins cost the same argon2 work as known ones.
        """
        found = await self._store.read(lambda tx: _load(sqlite_connection(tx), login))
        if found is None:
            await asyncio.to_thread(_verify, _dummy_hash(), password)
            return SignIn(SignInOutcome.BAD_CREDENTIALS)
        user, digest = found
        if user.locked_until is not None and user.locked_until > now:
            return SignIn(SignInOutcome.LOCKED, locked_until=user.locked_until, known_login=login)
        good = await asyncio.to_thread(_verify, digest, password)
        if good and not user.disabled:
            rehash = _HASHER.check_needs_rehash(digest)
            fresh = await asyncio.to_thread(_HASHER.hash, password) if rehash else None

            def reset(tx: object) -> datetime | None:
                conn = sqlite_connection(tx)
                # Locked by concurrent failures since the read above: no sign-in, else
                # parallel guesses would all be checked before the lock-out applies.
                row = conn.execute(
                    "SELECT locked_until FROM gw_console_users WHERE login = ?", (login,)
                ).fetchone()
                locked = _parse_time(row[0]) if row else None
                if locked is not None and locked > now:
                    return locked
                conn.execute(
                    "UPDATE gw_console_users SET failed_logins = 0, locked_until = NULL "
                    "WHERE login = ?",
                    (login,),
                )
                if fresh is not None:
                    conn.execute(
                        "UPDATE gw_console_users SET password_hash = ? WHERE login = ?",
                        (fresh, login),
                    )
                return None

            locked_since = await self._store.write(reset)
            if locked_since is not None:
                return SignIn(SignInOutcome.LOCKED, locked_until=locked_since, known_login=login)
            return SignIn(SignInOutcome.OK, user=user, known_login=login)

        def fail(tx: object) -> tuple[datetime | None, bool]:
            conn = sqlite_connection(tx)
            row = conn.execute(
                "SELECT failed_logins, locked_until FROM gw_console_users WHERE login = ?",
                (login,),
            ).fetchone()
            locked = _parse_time(row[1]) if row else None
            if locked is not None and locked > now:
                # Locked by a parallel failure since the read above: keep that lock (a
                # count restarted from 0 would clear it).
                return locked, False
            failures = int(row[0]) + 1 if row else 1
            until = now + lockout if failures >= max_failures else None
            conn.execute(
                "UPDATE gw_console_users SET failed_logins = ?, locked_until = ? WHERE login = ?",
                (0 if until else failures, None if until is None else rfc3339(until), login),
            )
            return until, until is not None

        until, started = await self._store.write(fail)
        if until is not None:
            return SignIn(
                SignInOutcome.LOCKED, locked_until=until, known_login=login, lock_started=started
            )
        return SignIn(SignInOutcome.BAD_CREDENTIALS, known_login=login)


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
