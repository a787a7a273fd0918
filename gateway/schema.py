"""The gateway's own tables, kept in the engine's database (``gateway.db``).

They are a :class:`hubee.sqlite_schema.SchemaExtension`: written through the same
connection as the engine's rows, so that a LAN request's data, its journal entries and
its upstream work commit together (or not at all). Append-only migrations.

- ``gw_journal_outbox``: journal entries (exact canonical bytes) waiting to enter the
  Merkle journal (``journal.db``), in ``seq`` order; ``gw_journal_drain`` records how
  far the drain got (see :mod:`gateway.journal_drain`).
- ``gw_link_outbox``: work for the hub, with its retry state (:mod:`gateway.outbox`).
- ``gw_manifests``: sealed folder manifests, ours (``out``) and senders' (``in``).
- ``gw_cases``: the cases that cross the link, and the hub's id for each.
- ``gw_remote_attachments``: the hub's id of each attachment we pushed.
- ``gw_receipts``: sealed receipts, sent and received.
- ``gw_refused``: dossiers refused on arrival (never shown on the LAN).
- ``gw_remote_events``: events pulled from the hub, by the hub's id (no duplicates).
- ``gw_link_state``: small named values (the feed cursor).
- ``gw_client_names``: the name given to each LAN client by ``sceau gateway client add``.
- ``gw_console_users``, ``gw_console_roles``, ``gw_console_sessions`` (v2): the console's
  accounts (argon2id hashes), their roles per démarche, and server-side sessions (the
  SHA-256 of the cookie, never the cookie itself); see :mod:`gateway.console`.
"""

from __future__ import annotations

from hubee.sqlite_schema import SchemaExtension

_V1 = """
CREATE TABLE gw_journal_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    entry BLOB NOT NULL
);
CREATE TABLE gw_journal_index (
    subject TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (subject, idx)
) WITHOUT ROWID;
CREATE TABLE gw_journal_drain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    journal_size INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
INSERT INTO gw_journal_drain (id, journal_size, last_seq) VALUES (1, 0, 0);
CREATE TABLE gw_link_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    lane TEXT NOT NULL,
    idem TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX gw_link_outbox_due ON gw_link_outbox (state, next_at);
CREATE INDEX gw_link_outbox_lane ON gw_link_outbox (lane, state, id);
CREATE TABLE gw_manifests (
    folder_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    manifest BLOB NOT NULL,
    seal BLOB NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE gw_cases (
    case_id TEXT PRIMARY KEY,
    folder_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    remote_id TEXT UNIQUE
);
CREATE INDEX gw_cases_folder ON gw_cases (folder_id);
CREATE TABLE gw_remote_attachments (
    attachment_id TEXT PRIMARY KEY,
    remote_id TEXT NOT NULL
);
CREATE TABLE gw_receipts (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    folder_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    manifest BLOB NOT NULL,
    seal BLOB NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX gw_receipts_folder ON gw_receipts (folder_id);
CREATE TABLE gw_refused (
    case_id TEXT PRIMARY KEY,
    folder_id TEXT,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE gw_remote_events (
    remote_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL
);
CREATE TABLE gw_link_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE gw_client_names (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
)
"""

_V2 = """
CREATE TABLE gw_console_users (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE gw_console_roles (
    login TEXT NOT NULL REFERENCES gw_console_users(login) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    process_code TEXT NOT NULL,
    PRIMARY KEY (login, role, process_code)
) WITHOUT ROWID;
CREATE TABLE gw_console_sessions (
    id_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL REFERENCES gw_console_users(login) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen REAL NOT NULL,
    flash TEXT
);
CREATE INDEX gw_console_sessions_login ON gw_console_sessions (login)
"""

GATEWAY_SCHEMA = SchemaExtension("gateway", (_V1, _V2))
