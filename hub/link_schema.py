"""The link API's tables, kept in the engine's database (``hub.db``).

They are a :class:`~hubee.sqlite_schema.SchemaExtension`: they commit in the same
transaction as the engine's rows, so a feed item exists if and only if the fact it
announces does, and a receipt is stored, journaled and announced at once.
Migrations only ever append.
"""

from __future__ import annotations

from hubee.sqlite_schema import SchemaExtension

_V1 = """
CREATE TABLE link_gateways (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    journal_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_reason TEXT
);
CREATE INDEX link_gateways_org ON link_gateways(org_id);
CREATE TABLE link_certificates (
    fingerprint TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    gateway_id TEXT NOT NULL REFERENCES link_gateways(id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_after TEXT NOT NULL
);
CREATE INDEX link_certificates_gateway ON link_certificates(gateway_id);
CREATE TABLE link_enrollment_tokens (
    token_hash BLOB PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    gateway_id TEXT
);
CREATE TABLE link_sealed (
    subject TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    case_id TEXT,
    manifest_id TEXT NOT NULL,
    manifest BLOB NOT NULL,
    seal BLOB NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    signer_fingerprint TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE INDEX link_sealed_manifest ON link_sealed(kind, case_id, manifest_id);
CREATE TABLE link_receipts (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL UNIQUE,
    folder_id TEXT NOT NULL,
    receiver_org_id TEXT NOT NULL,
    sender_org_id TEXT NOT NULL,
    manifest BLOB NOT NULL,
    seal BLOB NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    outcome TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE link_feed (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    case_id TEXT NOT NULL,
    process_code TEXT,
    event_id TEXT,
    receipt_id TEXT,
    status TEXT,
    at TEXT NOT NULL
);
CREATE INDEX link_feed_org ON link_feed(org_id, cursor);
CREATE TABLE link_witnessed (
    gateway_id TEXT NOT NULL REFERENCES link_gateways(id),
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note BLOB NOT NULL,
    cosigned_note BLOB NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (gateway_id, size)
);
CREATE TABLE link_witness_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway_id TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT NOT NULL,
    note BLOB NOT NULL,
    from_size INTEGER
)
"""

# Key rotation (hub.renewal, docs/KEYS.md): a renewal's new pair is in
# link_certificates from the request on; the replaced certificates are retired when
# the gateway completes the switch.
_V2 = """
CREATE TABLE link_renewals (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES link_gateways(id),
    old_tls TEXT NOT NULL,
    new_tls TEXT NOT NULL REFERENCES link_certificates(fingerprint),
    new_seal TEXT NOT NULL REFERENCES link_certificates(fingerprint),
    requested_at TEXT NOT NULL,
    state TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX link_renewals_gateway ON link_renewals(gateway_id, state);
CREATE UNIQUE INDEX link_renewals_new_tls ON link_renewals(new_tls);
CREATE TABLE link_retired_certificates (
    fingerprint TEXT PRIMARY KEY REFERENCES link_certificates(fingerprint),
    retired_at TEXT NOT NULL,
    renewal_id TEXT NOT NULL REFERENCES link_renewals(id)
)
"""

# hub.feed_consumed finds the feed items behind a case's notifications.
_V3 = "CREATE INDEX link_feed_case ON link_feed(case_id, org_id)"

LINK_SCHEMA = SchemaExtension(name="link", migrations=(_V1, _V2, _V3))
