"""The SQLite schema of the hub, as numbered migrations applied at start.

``schema_version`` holds the highest applied migration. Migrations only ever append:
a released one is never edited, a new one is added at the end of :data:`MIGRATIONS`.
Times are ISO 8601 UTC strings with microseconds, so that they sort as text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from hubee.errors import StorageFailure

_V1 = """
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    company_register TEXT NOT NULL,
    branch_code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (company_register, branch_code)
);
CREATE TABLE processes (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    osl_org_id TEXT REFERENCES organizations(id),
    status_before_file_deletion TEXT NOT NULL,
    time_before_file_deletion INTEGER NOT NULL,
    time_before_archiving INTEGER NOT NULL,
    time_before_folder_deletion INTEGER NOT NULL,
    attachment_max_size INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    process_code TEXT NOT NULL REFERENCES processes(code),
    org_id TEXT NOT NULL REFERENCES organizations(id),
    status TEXT NOT NULL,
    datapass_id INTEGER NOT NULL,
    notification_frequency TEXT NOT NULL,
    access_mode TEXT,
    email TEXT,
    local_admin_email TEXT NOT NULL,
    delegation_email TEXT,
    rejection_reason TEXT,
    activate_at TEXT, validate_at TEXT, reject_at TEXT, end_at TEXT, update_at TEXT,
    UNIQUE (process_code, org_id)
);
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    process_code TEXT REFERENCES processes(code),
    scope TEXT NOT NULL,
    secret_salt BLOB NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    token_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    expires_at REAL NOT NULL
);
CREATE INDEX tokens_expiry ON tokens(expires_at);
CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    transmitter_org_id TEXT NOT NULL REFERENCES organizations(id),
    process_code TEXT NOT NULL REFERENCES processes(code),
    external_id TEXT NOT NULL,
    global_status TEXT NOT NULL,
    status_at TEXT NOT NULL,
    applicant TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    partner_info TEXT,
    create_at TEXT NOT NULL,
    update_at TEXT,
    close_at TEXT,
    UNIQUE (transmitter_org_id, process_code, external_id)
);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    recipient_org_id TEXT NOT NULL REFERENCES organizations(id),
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_at TEXT NOT NULL,
    create_at TEXT NOT NULL,
    update_at TEXT,
    transmission_at TEXT,
    close_at TEXT,
    partner_attributes TEXT,
    files_purged_at TEXT
);
CREATE INDEX cases_folder ON cases(folder_id);
CREATE INDEX cases_status ON cases(status, status_at);
CREATE TABLE case_history (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    rank INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX case_history_case ON case_history(case_id, rank);
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    transmitter_org_id TEXT NOT NULL REFERENCES organizations(id),
    side TEXT NOT NULL,
    action_type TEXT NOT NULL,
    status TEXT NOT NULL,
    notification INTEGER NOT NULL,
    message TEXT, comment TEXT, author TEXT,
    case_current_status TEXT, case_new_status TEXT,
    partner_attributes TEXT, partner_info TEXT,
    create_at TEXT NOT NULL,
    update_at TEXT NOT NULL
);
CREATE INDEX events_case ON events(case_id, create_at);
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    event_id TEXT REFERENCES events(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    type TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    status TEXT NOT NULL,
    sha256 TEXT,
    recipients TEXT,
    received_at TEXT
);
CREATE INDEX attachments_folder ON attachments(folder_id, event_id, position);
CREATE INDEX attachments_sha ON attachments(sha256);
CREATE TABLE case_attachments (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    attachment_id TEXT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    portal_purged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, attachment_id)
);
CREATE INDEX case_attachments_attachment ON case_attachments(attachment_id);
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    recipient_org_id TEXT NOT NULL REFERENCES organizations(id),
    transmitter_org_id TEXT NOT NULL REFERENCES organizations(id),
    process_code TEXT NOT NULL,
    case_id TEXT REFERENCES cases(id) ON DELETE CASCADE,
    event_id TEXT REFERENCES events(id) ON DELETE CASCADE,
    create_at TEXT NOT NULL
);
CREATE INDEX notifications_recipient ON notifications(recipient_org_id, process_code, create_at);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE purge_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    folder_id TEXT NOT NULL,
    process_code TEXT NOT NULL,
    external_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1,)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to the latest schema (:data:`MIGRATIONS`).

    Runs on the writer connection before it serves any work, each migration in its
    own transaction, so a crash leaves the database at a whole version.
    """
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)
        if current > len(MIGRATIONS):
            raise StorageFailure(
                f"the database is at schema version {current}, newer than this hub "
                f"({len(MIGRATIONS)})",
                hint="Run the hub version that wrote it, or restore a backup.",
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            conn.execute("BEGIN IMMEDIATE")
            for statement in MIGRATIONS[version - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageFailure(f"cannot migrate the hub database: {exc}") from exc


@dataclass(frozen=True)
class SchemaExtension:
    """Tables another component keeps in the engine's database, beside the engine's own.

    A component that embeds the engine (a gateway: its outboxes, its link state) keeps
    its tables in the same file so that its rows commit in the same transaction as the
    engine's (see :func:`hubee.sqlite_store.sqlite_connection`). ``migrations`` follow
    the rule of :data:`MIGRATIONS`: append only. Versions are kept per ``name`` in
    ``extension_schema``; the engine's own tables never depend on them.
    """

    name: str
    migrations: tuple[str, ...]


def migrate_extensions(conn: sqlite3.Connection, extensions: Sequence[SchemaExtension]) -> None:
    """Bring each extension to its latest version, one transaction per migration."""
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS extension_schema "
            "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        for ext in extensions:
            row = conn.execute(
                "SELECT version FROM extension_schema WHERE name = ?", (ext.name,)
            ).fetchone()
            current = 0 if row is None else int(row[0])
            if current > len(ext.migrations):
                raise StorageFailure(
                    f"the {ext.name} tables are at version {current}, newer than this "
                    f"program ({len(ext.migrations)})",
                    hint="Run the version that wrote them, or restore a backup.",
                )
            for version in range(current + 1, len(ext.migrations) + 1):
                conn.execute("BEGIN IMMEDIATE")
                for statement in ext.migrations[version - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO extension_schema (name, version) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                    (ext.name, version),
                )
                conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageFailure(f"cannot migrate the extension tables: {exc}") from exc
