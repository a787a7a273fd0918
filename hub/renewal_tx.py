"""The key-rotation tables (``link_renewals``, ``link_retired_certificates``) inside one
unit of work of the engine's store, like :mod:`hub.link_tx` for the other link tables.

A renewal is ``pending`` from the gateway's request until it completes the switch
(``completed``), or until a later request replaces it (``superseded``). A retired
certificate no longer opens the link API (TLS) nor seals anything new (seal); it stays
in ``link_certificates`` so that what it did before stays attributable.
"""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hubee.sqlite_rows import dt, dt_required, ts
from hubee.sqlite_store import sqlite_connection
from hubee.store import DossierTx


class RenewalState(enum.Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class RenewalRecord:
    id: str
    gateway_id: str
    old_tls: str  # fingerprints (SHA-256 of the DER, hex)
    new_tls: str
    new_seal: str
    requested_at: datetime
    state: RenewalState
    closed_at: datetime | None = None


_COLUMNS = "id, gateway_id, old_tls, new_tls, new_seal, requested_at, state, closed_at"


def _record(row: Any) -> RenewalRecord:
    return RenewalRecord(
        id=str(row[0]),
        gateway_id=str(row[1]),
        old_tls=str(row[2]),
        new_tls=str(row[3]),
        new_seal=str(row[4]),
        requested_at=dt_required(str(row[5])),
        state=RenewalState(row[6]),
        closed_at=dt(None if row[7] is None else str(row[7])),
    )


class RenewalTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def insert(self, renewal: RenewalRecord) -> None:
        self._c.execute(
            f"INSERT INTO link_renewals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                renewal.id,
                renewal.gateway_id,
                renewal.old_tls,
                renewal.new_tls,
                renewal.new_seal,
                ts(renewal.requested_at),
                renewal.state.value,
                ts(renewal.closed_at),
            ),
        )

    def pending(self, gateway_id: str) -> list[RenewalRecord]:
        rows = self._c.execute(
            f"SELECT {_COLUMNS} FROM link_renewals WHERE gateway_id = ? AND state = ?",  # noqa: S608
            (gateway_id, RenewalState.PENDING.value),
        ).fetchall()
        return [_record(r) for r in rows]

    def by_new_tls(self, fingerprint: str) -> RenewalRecord | None:
        row = self._c.execute(
            f"SELECT {_COLUMNS} FROM link_renewals WHERE new_tls = ?",  # noqa: S608
            (fingerprint,),
        ).fetchone()
        return None if row is None else _record(row)

    def close(self, renewal_id: str, state: RenewalState, *, at: datetime) -> None:
        self._c.execute(
            "UPDATE link_renewals SET state = ?, closed_at = ? WHERE id = ?",
            (state.value, ts(at), renewal_id),
        )

    def retire(self, fingerprint: str, *, at: datetime, renewal_id: str) -> bool:
        cursor = self._c.execute(
            "INSERT OR IGNORE INTO link_retired_certificates (fingerprint, retired_at, "
            "renewal_id) VALUES (?, ?, ?)",
            (fingerprint, ts(at), renewal_id),
        )
        return cursor.rowcount == 1

    def retired_at(self, fingerprint: str) -> datetime | None:
        row = self._c.execute(
            "SELECT retired_at FROM link_retired_certificates WHERE fingerprint = ?",
            (fingerprint,),
        ).fetchone()
        return None if row is None else dt_required(str(row[0]))


def renewal_tx(tx: DossierTx) -> RenewalTx:
    """The key-rotation tables inside the engine's unit of work ``tx``."""
    return RenewalTx(sqlite_connection(tx))
