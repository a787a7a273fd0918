"""The link tables (:mod:`hub.link_schema`) inside one unit of work of the engine's store.

:func:`link_tx` wraps the engine's unit (``StoreTx``): what it writes commits or rolls
back with the unit, through the same group-commit writer thread. It never runs on the
event loop (the engine's store refuses to).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from hub.link_model import (
    CertificateKind,
    FeedItem,
    FeedKind,
    Gateway,
    Receipt,
    ReceiptOutcome,
    RegisteredCertificate,
    SealedKind,
    SealedManifest,
    WitnessAlert,
    Witnessed,
)
from hubee.sqlite_rows import dt, dt_required, ts
from hubee.sqlite_store import sqlite_connection
from hubee.store import DossierTx

_GATEWAY = "id, org_id, journal_key, enrolled_at, revoked_at, revoked_reason"
_CERT = "fingerprint, serial, gateway_id, kind, subject, not_after"
_SEALED = (
    "subject, kind, case_id, manifest_id, manifest, seal, manifest_sha256, "
    "signer_fingerprint, gateway_id, stored_at"
)
_RECEIPT = (
    "id, case_id, folder_id, receiver_org_id, sender_org_id, manifest, seal, "
    "manifest_sha256, outcome, stored_at"
)


def _gateway(row: Any) -> Gateway:
    return Gateway(
        id=str(row[0]),
        org_id=str(row[1]),
        journal_key=str(row[2]),
        enrolled_at=dt_required(str(row[3])),
        revoked_at=dt(None if row[4] is None else str(row[4])),
        revoked_reason=None if row[5] is None else str(row[5]),
    )


def _cert(row: Any) -> RegisteredCertificate:
    return RegisteredCertificate(
        fingerprint=str(row[0]),
        serial=str(row[1]),
        gateway_id=str(row[2]),
        kind=CertificateKind(row[3]),
        subject=str(row[4]),
        not_after=dt_required(str(row[5])),
    )


def _sealed(row: Any) -> SealedManifest:
    return SealedManifest(
        subject=str(row[0]),
        kind=SealedKind(row[1]),
        case_id=None if row[2] is None else str(row[2]),
        manifest_id=str(row[3]),
        manifest=bytes(row[4]),
        seal=bytes(row[5]),
        manifest_sha256=str(row[6]),
        signer_fingerprint=str(row[7]),
        gateway_id=str(row[8]),
        stored_at=dt_required(str(row[9])),
    )


def _receipt(row: Any) -> Receipt:
    return Receipt(
        id=str(row[0]),
        case_id=str(row[1]),
        folder_id=str(row[2]),
        receiver_org_id=str(row[3]),
        sender_org_id=str(row[4]),
        manifest=bytes(row[5]),
        seal=bytes(row[6]),
        manifest_sha256=str(row[7]),
        outcome=ReceiptOutcome(row[8]),
        stored_at=dt_required(str(row[9])),
    )


class LinkTx:
    """Typed access to the link tables on one unit's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # Enrollment tokens
    def insert_token(
        self, token_hash: bytes, org_id: str, *, at: datetime, expires_at: datetime
    ) -> None:
        self._c.execute(
            "INSERT INTO link_enrollment_tokens (token_hash, org_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (token_hash, org_id, ts(at), ts(expires_at)),
        )

    def token(self, token_hash: bytes) -> tuple[str, datetime, datetime | None] | None:
        """(organisation id, expiry, used at) of a token."""
        row = self._c.execute(
            "SELECT org_id, expires_at, used_at FROM link_enrollment_tokens WHERE token_hash = ?",
            (token_hash,),
        ).fetchone()
        if row is None:
            return None
        return str(row[0]), dt_required(row[1]), dt(row[2])

    def use_token(self, token_hash: bytes, gateway_id: str, *, at: datetime) -> bool:
        """Mark a token used; False if it was already (a concurrent enrollment won)."""
        cursor = self._c.execute(
            "UPDATE link_enrollment_tokens SET used_at = ?, gateway_id = ? "
            "WHERE token_hash = ? AND used_at IS NULL",
            (ts(at), gateway_id, token_hash),
        )
        return cursor.rowcount == 1

    # Gateways and their certificates
    def insert_gateway(self, gateway: Gateway) -> None:
        self._c.execute(
            f"INSERT INTO link_gateways ({_GATEWAY}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                gateway.id,
                gateway.org_id,
                gateway.journal_key,
                ts(gateway.enrolled_at),
                ts(gateway.revoked_at),
                gateway.revoked_reason,
            ),
        )

    def insert_certificate(self, cert: RegisteredCertificate) -> None:
        self._c.execute(
            f"INSERT INTO link_certificates ({_CERT}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                cert.fingerprint,
                cert.serial,
                cert.gateway_id,
                cert.kind.value,
                cert.subject,
                ts(cert.not_after),
            ),
        )

    def gateway(self, gateway_id: str) -> Gateway | None:
        row = self._c.execute(
            f"SELECT {_GATEWAY} FROM link_gateways WHERE id = ?",  # noqa: S608
            (gateway_id,),
        ).fetchone()
        return None if row is None else _gateway(row)

    def gateways(self) -> list[Gateway]:
        rows = self._c.execute(
            f"SELECT {_GATEWAY} FROM link_gateways ORDER BY enrolled_at, id"  # noqa: S608
        ).fetchall()
        return [_gateway(r) for r in rows]

    def certificate(self, fingerprint: str) -> RegisteredCertificate | None:
        row = self._c.execute(
            f"SELECT {_CERT} FROM link_certificates WHERE fingerprint = ?",  # noqa: S608
            (fingerprint,),
        ).fetchone()
        return None if row is None else _cert(row)

    def certificates_of(self, gateway_id: str) -> list[RegisteredCertificate]:
        rows = self._c.execute(
            f"SELECT {_CERT} FROM link_certificates WHERE gateway_id = ? ORDER BY kind",  # noqa: S608
            (gateway_id,),
        ).fetchall()
        return [_cert(r) for r in rows]

    def revoke_gateway(self, gateway_id: str, *, at: datetime, reason: str) -> bool:
        cursor = self._c.execute(
            "UPDATE link_gateways SET revoked_at = ?, revoked_reason = ? "
            "WHERE id = ? AND revoked_at IS NULL",
            (ts(at), reason, gateway_id),
        )
        return cursor.rowcount == 1

    # Sealed manifests
    def insert_sealed(self, sealed: SealedManifest) -> None:
        self._c.execute(
            f"INSERT INTO link_sealed ({_SEALED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                sealed.subject,
                sealed.kind.value,
                sealed.case_id,
                sealed.manifest_id,
                sealed.manifest,
                sealed.seal,
                sealed.manifest_sha256,
                sealed.signer_fingerprint,
                sealed.gateway_id,
                ts(sealed.stored_at),
            ),
        )

    def sealed(self, subject: str) -> SealedManifest | None:
        row = self._c.execute(
            f"SELECT {_SEALED} FROM link_sealed WHERE subject = ?",  # noqa: S608
            (subject,),
        ).fetchone()
        return None if row is None else _sealed(row)

    def sealed_event_by_manifest(self, case_id: str, manifest_id: str) -> SealedManifest | None:
        row = self._c.execute(
            f"SELECT {_SEALED} FROM link_sealed "  # noqa: S608
            "WHERE kind = 'event' AND case_id = ? AND manifest_id = ?",
            (case_id, manifest_id),
        ).fetchone()
        return None if row is None else _sealed(row)

    # Receipts
    def insert_receipt(self, receipt: Receipt) -> None:
        self._c.execute(
            f"INSERT INTO link_receipts ({_RECEIPT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                receipt.id,
                receipt.case_id,
                receipt.folder_id,
                receipt.receiver_org_id,
                receipt.sender_org_id,
                receipt.manifest,
                receipt.seal,
                receipt.manifest_sha256,
                receipt.outcome.value,
                ts(receipt.stored_at),
            ),
        )

    def receipt(self, receipt_id: str) -> Receipt | None:
        row = self._c.execute(
            f"SELECT {_RECEIPT} FROM link_receipts WHERE id = ?",  # noqa: S608
            (receipt_id,),
        ).fetchone()
        return None if row is None else _receipt(row)

    def receipt_for_case(self, case_id: str) -> Receipt | None:
        row = self._c.execute(
            f"SELECT {_RECEIPT} FROM link_receipts WHERE case_id = ?",  # noqa: S608
            (case_id,),
        ).fetchone()
        return None if row is None else _receipt(row)

    # Feed
    def insert_feed_item(
        self,
        org_id: str,
        kind: FeedKind,
        case_id: str,
        *,
        at: datetime,
        process_code: str | None = None,
        event_id: str | None = None,
        receipt_id: str | None = None,
        status: str | None = None,
    ) -> None:
        self._c.execute(
            "INSERT INTO link_feed (org_id, kind, case_id, process_code, event_id, receipt_id, "
            "status, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (org_id, kind.value, case_id, process_code, event_id, receipt_id, status, ts(at)),
        )

    def feed(self, org_id: str, *, after: int, limit: int) -> list[FeedItem]:
        rows = self._c.execute(
            "SELECT cursor, kind, case_id, process_code, event_id, receipt_id, status "
            "FROM link_feed WHERE org_id = ? AND cursor > ? ORDER BY cursor LIMIT ?",
            (org_id, after, limit),
        ).fetchall()
        return [
            FeedItem(int(r[0]), FeedKind(r[1]), str(r[2]), r[3], r[4], r[5], r[6]) for r in rows
        ]

    def consumed_notifications(self, org_id: str, *, upto: int, limit: int) -> list[str]:
        """Ids of ``org_id``'s engine notifications announced by a feed item at or
        below cursor ``upto`` (:mod:`hub.feed_consumed`)."""
        rows = self._c.execute(
            "SELECT n.id FROM notifications n WHERE n.recipient_org_id = ? AND EXISTS ("
            "SELECT 1 FROM link_feed f WHERE f.case_id = n.case_id AND f.org_id = ? "
            "AND f.kind IN ('case', 'event') AND f.event_id IS n.event_id AND f.cursor <= ?) "
            "LIMIT ?",
            (org_id, org_id, upto, limit),
        )
        return [str(r[0]) for r in rows]

    # Witness
    def last_witnessed(self, gateway_id: str) -> Witnessed | None:
        row = self._c.execute(
            "SELECT gateway_id, size, root, note, cosigned_note, at FROM link_witnessed "
            "WHERE gateway_id = ? ORDER BY size DESC LIMIT 1",
            (gateway_id,),
        ).fetchone()
        if row is None:
            return None
        return Witnessed(
            str(row[0]),
            int(row[1]),
            bytes(row[2]),
            bytes(row[3]),
            bytes(row[4]),
            dt_required(row[5]),
        )

    def insert_witnessed(self, witnessed: Witnessed) -> None:
        self._c.execute(
            "INSERT INTO link_witnessed (gateway_id, size, root, note, cosigned_note, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (gateway_id, size) DO UPDATE SET "
            "note = excluded.note, cosigned_note = excluded.cosigned_note, at = excluded.at",
            (
                witnessed.gateway_id,
                witnessed.size,
                witnessed.root,
                witnessed.note,
                witnessed.cosigned_note,
                ts(witnessed.at),
            ),
        )

    def insert_alert(
        self, gateway_id: str, *, at: datetime, reason: str, note: bytes, from_size: int | None
    ) -> None:
        self._c.execute(
            "INSERT INTO link_witness_alerts (gateway_id, at, reason, note, from_size) "
            "VALUES (?, ?, ?, ?, ?)",
            (gateway_id, ts(at), reason, note, from_size),
        )

    def alerts(self) -> list[WitnessAlert]:
        rows = self._c.execute(
            "SELECT id, gateway_id, at, reason, from_size FROM link_witness_alerts ORDER BY id"
        ).fetchall()
        return [
            WitnessAlert(int(r[0]), str(r[1]), dt_required(r[2]), str(r[3]), r[4]) for r in rows
        ]


def link_tx(tx: DossierTx) -> LinkTx:
    """The link tables inside the engine's unit of work ``tx`` (a SQLite store's)."""
    return LinkTx(sqlite_connection(tx))
