"""SQLite implementation of :class:`hub.store.DirectoryTx`."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from hubee.model import (
    Client,
    Organization,
    Process,
    Scope,
    Status,
    Subscription,
    SubscriptionStatus,
)
from hubee.sqlite_rows import ORG_COLUMNS, dt, org_from, ts
from hubee.store import SubscriptionQuery

_SUB_COLUMNS = (
    "s.id, s.process_code, s.status, s.datapass_id, s.notification_frequency, s.access_mode, "
    "s.email, s.local_admin_email, s.delegation_email, s.rejection_reason, s.activate_at, "
    "s.validate_at, s.reject_at, s.end_at, s.update_at, "
    "o.id, o.type, o.company_register, o.branch_code, o.name"
)
_SUB_FROM = "subscriptions s JOIN organizations o ON o.id = s.org_id"
_CLIENT_COLUMNS = (
    "c.client_id, c.scope, c.process_code, o.id, o.type, o.company_register, o.branch_code, o.name"
)


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row[0],
        process_code=row[1],
        status=SubscriptionStatus(row[2]),
        datapass_id=row[3],
        notification_frequency=row[4],
        access_mode=row[5],
        email=row[6],
        local_admin_email=row[7],
        delegation_email=row[8],
        rejection_reason=row[9],
        activate_at=dt(row[10]),
        validate_at=dt(row[11]),
        reject_at=dt(row[12]),
        end_at=dt(row[13]),
        update_at=dt(row[14]),
        subscriber=org_from(row, 15),
    )


def _client(row: sqlite3.Row) -> Client:
    return Client(client_id=row[0], scope=Scope(row[1]), process_code=row[2], org=org_from(row, 3))


def _process(row: sqlite3.Row) -> Process:
    return Process(
        code=row[0],
        name=row[1],
        osl_org_id=row[2],
        status_before_file_deletion=Status(row[3]),
        time_before_file_deletion=row[4],
        time_before_archiving=row[5],
        time_before_folder_deletion=row[6],
        attachment_max_size=row[7],
    )


_PROCESS_COLUMNS = (
    "code, name, osl_org_id, status_before_file_deletion, time_before_file_deletion, "
    "time_before_archiving, time_before_folder_deletion, attachment_max_size"
)


class SqliteDirectory:
    """Mixin: the directory part of a SQLite unit of work."""

    _c: sqlite3.Connection

    def insert_org(self, org: Organization, *, at: datetime) -> None:
        self._c.execute(
            f"INSERT INTO organizations ({ORG_COLUMNS}, created_at) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                org.id,
                org.ref.type.value,
                org.ref.company_register,
                org.ref.branch_code,
                org.name,
                ts(at),
            ),
        )

    def org(self, org_id: str) -> Organization | None:
        row = self._c.execute(
            f"SELECT {ORG_COLUMNS} FROM organizations WHERE id = ?",  # noqa: S608
            (org_id,),
        ).fetchone()
        return None if row is None else org_from(row)

    def org_by_ref(self, company_register: str, branch_code: str) -> Organization | None:
        row = self._c.execute(
            f"SELECT {ORG_COLUMNS} FROM organizations WHERE company_register = ? "  # noqa: S608
            "AND branch_code = ?",
            (company_register, branch_code),
        ).fetchone()
        return None if row is None else org_from(row)

    def orgs(self) -> list[Organization]:
        rows = self._c.execute(
            f"SELECT {ORG_COLUMNS} FROM organizations ORDER BY company_register, branch_code"  # noqa: S608
        )
        return [org_from(r) for r in rows]

    def insert_process(self, process: Process, *, at: datetime) -> None:
        self._c.execute(
            f"INSERT INTO processes ({_PROCESS_COLUMNS}, created_at) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                process.code,
                process.name,
                process.osl_org_id,
                process.status_before_file_deletion.value,
                process.time_before_file_deletion,
                process.time_before_archiving,
                process.time_before_folder_deletion,
                process.attachment_max_size,
                ts(at),
            ),
        )

    def process(self, code: str) -> Process | None:
        row = self._c.execute(
            f"SELECT {_PROCESS_COLUMNS} FROM processes WHERE code = ?",  # noqa: S608
            (code,),
        ).fetchone()
        return None if row is None else _process(row)

    def processes(self) -> list[Process]:
        rows = self._c.execute(f"SELECT {_PROCESS_COLUMNS} FROM processes ORDER BY code")  # noqa: S608
        return [_process(r) for r in rows]

    def _sub_values(self, sub: Subscription) -> tuple[object, ...]:
        return (
            sub.status.value,
            sub.datapass_id,
            sub.notification_frequency,
            sub.access_mode,
            sub.email,
            sub.local_admin_email,
            sub.delegation_email,
            sub.rejection_reason,
            ts(sub.activate_at),
            ts(sub.validate_at),
            ts(sub.reject_at),
            ts(sub.end_at),
            ts(sub.update_at),
        )

    def insert_subscription(self, sub: Subscription) -> None:
        self._c.execute(
            "INSERT INTO subscriptions (id, process_code, org_id, status, datapass_id, "
            "notification_frequency, access_mode, email, local_admin_email, delegation_email, "
            "rejection_reason, activate_at, validate_at, reject_at, end_at, update_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sub.id, sub.process_code, sub.subscriber.id, *self._sub_values(sub)),
        )

    def update_subscription(self, sub: Subscription) -> None:
        self._c.execute(
            "UPDATE subscriptions SET status = ?, datapass_id = ?, notification_frequency = ?, "
            "access_mode = ?, email = ?, local_admin_email = ?, delegation_email = ?, "
            "rejection_reason = ?, activate_at = ?, validate_at = ?, reject_at = ?, end_at = ?, "
            "update_at = ? WHERE id = ?",
            (*self._sub_values(sub), sub.id),
        )

    def subscription(self, sub_id: str) -> Subscription | None:
        row = self._c.execute(
            f"SELECT {_SUB_COLUMNS} FROM {_SUB_FROM} WHERE s.id = ?",  # noqa: S608
            (sub_id,),
        ).fetchone()
        return None if row is None else _subscription(row)

    def subscription_for(self, process_code: str, org_id: str) -> Subscription | None:
        row = self._c.execute(
            f"SELECT {_SUB_COLUMNS} FROM {_SUB_FROM} WHERE s.process_code = ? AND s.org_id = ?",  # noqa: S608
            (process_code, org_id),
        ).fetchone()
        return None if row is None else _subscription(row)

    def subscriptions(self, query: SubscriptionQuery) -> tuple[list[Subscription], int]:
        where: list[str] = []
        args: list[object] = []
        if query.process_codes:
            where.append(f"s.process_code IN ({','.join('?' * len(query.process_codes))})")
            args.extend(query.process_codes)
        if query.status is not None:
            where.append("s.status = ?")
            args.append(query.status.value)
        if query.company_register is not None:
            where.append("o.company_register = ?")
            args.append(query.company_register)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = self._c.execute(f"SELECT count(*) FROM {_SUB_FROM}{clause}", args).fetchone()[0]  # noqa: S608
        rows = self._c.execute(
            f"SELECT {_SUB_COLUMNS} FROM {_SUB_FROM}{clause} "  # noqa: S608
            "ORDER BY s.process_code, o.company_register, o.branch_code LIMIT ? OFFSET ?",
            (*args, query.limit, query.offset),
        )
        return [_subscription(r) for r in rows], int(total)

    def active_subscribers(self, process_code: str) -> list[Organization]:
        rows = self._c.execute(
            f"SELECT o.id, o.type, o.company_register, o.branch_code, o.name FROM {_SUB_FROM} "  # noqa: S608
            "WHERE s.process_code = ? AND s.status = ? ORDER BY o.company_register, o.branch_code",
            (process_code, SubscriptionStatus.ACTIVE.value),
        )
        return [org_from(r) for r in rows]

    def insert_client(self, client: Client, salt: bytes, digest: bytes, *, at: datetime) -> None:
        self._c.execute(
            "INSERT INTO clients (client_id, org_id, process_code, scope, secret_salt, "
            "secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                client.client_id,
                client.org.id,
                client.process_code,
                client.scope.value,
                salt,
                digest,
                ts(at),
            ),
        )

    def client_secret(self, client_id: str) -> tuple[Client, bytes, bytes] | None:
        row = self._c.execute(
            f"SELECT {_CLIENT_COLUMNS}, c.secret_salt, c.secret_hash FROM clients c "  # noqa: S608
            "JOIN organizations o ON o.id = c.org_id WHERE c.client_id = ?",
            (client_id,),
        ).fetchone()
        return None if row is None else (_client(row), bytes(row[8]), bytes(row[9]))

    def insert_token(self, token_hash: bytes, client_id: str, expires_at: float) -> None:
        self._c.execute(
            "INSERT INTO tokens (token_hash, client_id, expires_at) VALUES (?, ?, ?)",
            (token_hash, client_id, expires_at),
        )

    def token(self, token_hash: bytes) -> tuple[Client, float] | None:
        row = self._c.execute(
            f"SELECT {_CLIENT_COLUMNS}, t.expires_at FROM tokens t "  # noqa: S608
            "JOIN clients c ON c.client_id = t.client_id "
            "JOIN organizations o ON o.id = c.org_id WHERE t.token_hash = ?",
            (token_hash,),
        ).fetchone()
        return None if row is None else (_client(row), float(row[8]))

    def delete_expired_tokens(self, before: float) -> int:
        return self._c.execute("DELETE FROM tokens WHERE expires_at < ?", (before,)).rowcount
