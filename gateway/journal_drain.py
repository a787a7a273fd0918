"""Moving journal entries from the outbox (``gateway.db``) into the Merkle journal
(``journal.db``): in commit order, exactly once, across crashes.

The two are separate SQLite files, so no transaction spans both. The drain keeps, in
``gateway.db``, how many journal entries it has accounted for (``journal_size``) and
the last outbox row they came from (``last_seq``). One round: read the next rows in
``seq`` order, append them to the journal (one group commit), then in one
``gateway.db`` transaction delete those rows, index them by subject, and advance the
two counters. A crash between the journal's commit and ``gateway.db``'s leaves the
journal ahead by exactly those rows: at start, :meth:`JournalDrain.recover` checks
that the journal's extra entries are byte for byte the next outbox rows, and accounts
for them without appending them again. A journal *behind* the recorded size (restored
from an older backup, or tampered with) stops the gateway: that is never repaired
silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from gateway.errors import GatewayConfigError
from gateway.journal_access import JournalAccess
from gateway.tables import GatewayTables
from gateway.wakeups import wait_event
from hubee.store import Store, StoreTx
from trust.journal_writer import AsyncJournalWriter

log = logging.getLogger("gateway.journal")
BATCH = 1000
_IDLE_POLL = 0.05  # seconds between looks at the outbox when nobody pokes the drain

Row = tuple[int, str, bytes]


class JournalDrain:
    def __init__(self, store: Store, writer: AsyncJournalWriter, journal: JournalAccess) -> None:
        self._store = store
        self._writer = writer
        self._journal = journal
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.size = 0  # journal entries accounted for
        self._last_seq = 0
        self.listeners: list[asyncio.Event] = []

    def poke(self) -> None:
        """Wake the drain (thread-safe: the engine's writer thread calls it)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._event.set)

    async def recover(self) -> None:
        """Account for entries a crash left in the journal but not in ``gateway.db``."""
        self._loop = asyncio.get_running_loop()
        recorded, last_seq = await self._store.read(_drain_state)
        actual = await self._journal.size()
        if actual < recorded:
            raise GatewayConfigError(
                f"the journal has {actual} entries but the gateway accounted for {recorded}",
                hint="journal.db is older than gateway.db (a partial restore?): restore both "
                "from the same backup. The gateway will not rewrite history.",
            )
        self.size, self._last_seq = recorded, last_seq
        if actual == recorded:
            return
        extra = actual - recorded
        rows = await self._store.read(lambda tx: _next_rows(tx, last_seq, extra))
        appended = await self._journal.entries(recorded, actual)
        if len(rows) != extra or [r[2] for r in rows] != appended:
            raise GatewayConfigError(
                f"the journal's last {extra} entries are not the gateway's next outbox rows",
                hint="journal.db and gateway.db do not belong together; restore both.",
            )
        await self._account(rows)
        log.info("journal: accounted for %d entries appended before a crash", extra)

    async def drain_once(self, limit: int = BATCH) -> int:
        """Move up to ``limit`` entries; returns how many."""
        last = self._last_seq
        rows = await self._store.read(lambda tx: _next_rows(tx, last, limit))
        if not rows:
            return 0
        indexes = await self._writer.append_many([r[2] for r in rows])
        if indexes[0] != self.size:
            raise GatewayConfigError(
                f"the journal grew outside the gateway (entry {indexes[0]}, expected {self.size})"
            )
        await self._account(rows)
        return len(rows)

    async def _account(self, rows: Sequence[Row]) -> None:
        first = self.size
        last_seq = rows[-1][0]
        size = first + len(rows)

        def work(tx: StoreTx) -> None:
            conn = GatewayTables.of(tx).conn
            conn.execute("DELETE FROM gw_journal_outbox WHERE seq <= ?", (last_seq,))
            conn.executemany(
                "INSERT OR IGNORE INTO gw_journal_index (subject, idx) VALUES (?, ?)",
                [(row[1], first + i) for i, row in enumerate(rows)],
            )
            conn.execute(
                "UPDATE gw_journal_drain SET journal_size = ?, last_seq = ? WHERE id = 1",
                (size, last_seq),
            )

        await self._store.write(work)
        self.size, self._last_seq = size, last_seq
        for listener in self.listeners:
            listener.set()

    async def run(self) -> None:
        """Drain until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                moved = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("journal drain failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if moved < BATCH:
                self._event.clear()
                await wait_event(self._event, _IDLE_POLL)

    async def pending(self) -> int:
        """Entries committed in ``gateway.db`` but not yet in the journal."""
        return await self._store.read(
            lambda tx: int(
                GatewayTables.of(tx)
                .conn.execute("SELECT count(*) FROM gw_journal_outbox")
                .fetchone()[0]
            )
        )

    async def wait_drained(self, timeout: float = 10.0) -> None:
        """Until everything committed so far is in the journal (tests, exports)."""
        async with asyncio.timeout(timeout):
            while await self.pending():
                self.poke()
                await asyncio.sleep(0.01)


def _drain_state(tx: StoreTx) -> tuple[int, int]:
    row = (
        GatewayTables.of(tx)
        .conn.execute("SELECT journal_size, last_seq FROM gw_journal_drain WHERE id = 1")
        .fetchone()
    )
    return int(row[0]), int(row[1])


def _next_rows(tx: StoreTx, after: int, limit: int) -> list[Row]:
    rows = (
        GatewayTables.of(tx)
        .conn.execute(
            "SELECT seq, subject, entry FROM gw_journal_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        .fetchall()
    )
    return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]


def subject_indexes(tx: StoreTx, subject: str) -> list[int]:
    """The journal indexes of ``subject``'s entries that the drain has moved, in order."""
    rows = (
        GatewayTables.of(tx)
        .conn.execute("SELECT idx FROM gw_journal_index WHERE subject = ? ORDER BY idx", (subject,))
        .fetchall()
    )
    return [int(r[0]) for r in rows]
