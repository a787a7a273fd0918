"""``sceau gateway status``: what a gateway is, what is queued, what lags, what failed.

:func:`gateway_status` reads everything from the data folder, so ``status`` works from
another process while ``sceau gateway run`` serves: the enrollment, our certificates'
expiry, the queues (journal, outbox, webhooks, watched folders), the last checkpoint with its
time-stamp and cosignature, and the last errors.

The running service's errors (the hub's feed, the TSA or the witness, and each
background task of gateway.yaml: watched folders, webhooks, purge) live in its memory;
:func:`record_errors` (a task of ``gateway run``) copies each change into the small
table ``gw_last_errors`` of ``gateway.db``, with its time, so that ``status`` shows
them (a task's row is keyed ``task:<its name>``). ``status`` also shows a key rotation
waiting to be finished (:mod:`gateway.rotation_state`). Only the error text is stored: messages name what failed (a URL, an HTTP
status, an exception type), never a credential or a dossier's content.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509

from gateway.checkpoints import CheckpointGap
from gateway.outbox import OutboxState, outbox_state
from gateway.rotation_state import PendingRotation, pending_rotation
from gateway.runtime import GatewayRuntime
from gateway.service_tasks import task_names
from gateway.settings import GatewayPaths, GatewaySettings
from gateway.tables import GatewayTables
from hubee.store import StoreTx

log = logging.getLogger("gateway.status")
CERT_WARN_DAYS = 30
HUB_FEED = "hub-feed"  # the long poll of the hub's feed (pull)
TSA_WITNESS = "tsa-witness"  # time-stamping or cosigning checkpoints
TASK_PREFIX = "task:"  # + a background task's name (gateway.service_tasks)
_TABLE = """CREATE TABLE IF NOT EXISTS gw_last_errors (
    source TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    at TEXT NOT NULL,
    cleared_at TEXT
)"""


class _Puller(Protocol):
    last_error: str | None


class _Task(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def current_error(self) -> str | None: ...


class RunningService(Protocol):
    """What :func:`gateway_status` reads of a running ``GatewayService``."""

    @property
    def puller(self) -> _Puller: ...

    @property
    def trust_error(self) -> str | None: ...

    @property
    def task_states(self) -> Sequence[_Task]: ...


def task_source(name: str) -> str:
    """The ``gw_last_errors`` key of a background task's error."""
    return TASK_PREFIX + name


@dataclass(frozen=True)
class CertificateExpiry:
    name: str
    not_after: datetime
    days_left: float

    @property
    def expiring(self) -> bool:
        return self.days_left < CERT_WARN_DAYS

    def to_json(self) -> dict[str, Any]:
        return {
            "notAfter": self.not_after.isoformat(),
            "daysLeft": round(self.days_left, 1),
            "warning": self.expiring,
        }


@dataclass(frozen=True)
class LastCheckpoint:
    size: int
    created_at: datetime
    stamped: bool
    witnessed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "createdAt": self.created_at.isoformat(),
            "timeStamped": self.stamped,
            "witnessed": self.witnessed,
        }


@dataclass(frozen=True)
class LastError:
    source: str
    message: str
    at: str
    cleared_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "at": self.at, "clearedAt": self.cleared_at}


@dataclass(frozen=True)
class BackgroundTask:
    """A task gateway.yaml asks ``run`` to start, with the last error it recorded."""

    name: str
    error: LastError | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "lastError": self.error.to_json() if self.error else None}


@dataclass(frozen=True)
class GatewayStatus:
    org: str
    side: str
    journal_pending: int
    checkpoints: CheckpointGap
    outbox: OutboxState
    feed_cursor: int
    pull_error: str | None
    trust_error: str | None
    gateway_id: str = ""
    hub_url: str = ""
    certificates: tuple[CertificateExpiry, ...] = ()
    last_checkpoint: LastCheckpoint | None = None
    webhooks_pending: int | None = None
    folders: tuple[FolderQueue, ...] = ()
    errors: tuple[LastError, ...] = ()  # hub-feed and tsa-witness (tasks: in ``tasks``)
    tasks: tuple[BackgroundTask, ...] = ()
    rotation: PendingRotation | None = None

    @property
    def last_error(self) -> LastError | None:
        """The most recent error recorded, from any source."""
        return max(self.errors, key=lambda e: e.at, default=None)

    def to_json(self) -> dict[str, Any]:
        gap, out = self.checkpoints, self.outbox
        return {
            "organization": self.org,
            "side": self.side,
            "enrollment": {"gatewayId": self.gateway_id, "hubUrl": self.hub_url},
            "certificates": {c.name: c.to_json() for c in self.certificates},
            "journal": {"size": gap.journal_size, "waitingInOutbox": self.journal_pending},
            "checkpoints": {
                "total": gap.checkpoints,
                "unstamped": gap.unstamped,
                "unwitnessed": gap.unwitnessed,
                "latestStampedSize": gap.latest_stamped_size,
                "latest": self.last_checkpoint.to_json() if self.last_checkpoint else None,
                "lastError": self.trust_error,
            },
            "outbox": {
                "pending": out.pending,
                "failed": out.failed,
                "done": out.done,
                "oldestPendingAt": out.oldest_pending_at,
                "lastError": out.last_error,
            },
            "webhooks": {"pending": self.webhooks_pending},
            "folders": [f.to_json() for f in self.folders],
            "feed": {"cursor": self.feed_cursor, "lastError": self.pull_error},
            "errors": {e.source: e.to_json() for e in self.errors},
            "tasks": [t.to_json() for t in self.tasks],
            "rotation": self.rotation.to_json() if self.rotation else None,
        }


def certificate_expiry(paths: GatewayPaths, *, now: datetime) -> tuple[CertificateExpiry, ...]:
    """Our TLS and seal certificates' expiry (absent files are skipped). Blocks."""
    out = []
    for name, path in (("tls", paths.tls_cert), ("seal", paths.seal_cert)):
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        after = cert.not_valid_after_utc
        out.append(CertificateExpiry(name, after, (after - now).total_seconds() / 86400))
    return tuple(out)


def _count(db: Path, sql: str) -> int | None:
    """``sql``'s count in the SQLite file ``db``, read-only; None if absent or unreadable."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def webhooks_pending(paths: GatewayPaths) -> int | None:
    """Deliveries waiting in the webhook queues (``webhooks/*.db``); None: no webhook."""
    folder = paths.webhooks
    counts = [
        _count(db, "SELECT count(*) FROM deliveries WHERE state = 'pending'")
        for db in (sorted(folder.glob("*.db")) if folder.is_dir() else [])
    ]
    found = [n for n in counts if n is not None]
    return sum(found) if found else None


@dataclass(frozen=True)
class FolderQueue:
    """One watched folder's work in progress (its ``.sceau/state.db``)."""

    process: str
    side: str
    sending: int  # dossiers taken from OUT/, not yet in SENT/ or FAILED/
    receiving: int  # cases or events being written into IN/ or waiting for a retry

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "side": self.side,
            "sending": self.sending,
            "receiving": self.receiving,
        }


def folder_queues(settings: GatewaySettings) -> tuple[FolderQueue, ...]:
    """The watched folders' queues (those whose state file exists yet). Blocks."""
    out = []
    for folder in settings.folders:
        db = folder.folder_settings(settings.data_dir).layout.state_db
        sending = _count(db, "SELECT count(*) FROM outbound")
        receiving = _count(db, "SELECT count(*) FROM inbound WHERE state IN ('staged', 'retrying')")
        if sending is not None and receiving is not None:
            out.append(FolderQueue(folder.process, folder.side, sending, receiving))
    return tuple(out)


def read_errors(tx: StoreTx) -> tuple[LastError, ...]:
    conn = GatewayTables.of(tx).conn
    try:
        rows = conn.execute(
            "SELECT source, message, at, cleared_at FROM gw_last_errors ORDER BY source"
        ).fetchall()
    except sqlite3.OperationalError:  # no error ever recorded: no table yet
        return ()
    return tuple(LastError(str(s), str(m), str(a), c) for s, m, a, c in rows)


def _write_error(tx: StoreTx, source: str, message: str | None, at: str) -> None:
    conn = GatewayTables.of(tx).conn
    conn.execute(_TABLE)
    if message is None:
        conn.execute(
            "UPDATE gw_last_errors SET cleared_at = ? WHERE source = ? AND cleared_at IS NULL",
            (at, source),
        )
    else:
        conn.execute(
            "INSERT INTO gw_last_errors (source, message, at, cleared_at) VALUES (?, ?, ?, NULL)"
            " ON CONFLICT (source) DO UPDATE SET message = excluded.message, at = excluded.at,"
            " cleared_at = NULL",
            (source, message[:2000], at),
        )


async def record_error(runtime: GatewayRuntime, source: str, message: str | None) -> None:
    """Persist ``source``'s error (None: it recovered), stamped with the runtime's clock."""
    at = runtime.deps.clock().isoformat()
    await runtime.store.write(lambda tx: _write_error(tx, source, message, at))


async def record_errors(
    runtime: GatewayRuntime, service: RunningService, *, every: float = 1.0
) -> None:
    """Copy the service's in-memory errors to ``gw_last_errors`` at each change, until
    cancelled (a task of ``gateway run``); log each failure once and each recovery (the
    background tasks' failures are logged by ``gateway.tasks`` already)."""
    seen: dict[str, str | None] = {}  # as persisted
    logged: dict[str, str | None] = {}  # as logged (a write may fail: logged once all the same)
    while True:
        sources = [
            (HUB_FEED, service.puller.last_error),
            (TSA_WITNESS, service.trust_error),
        ]
        tasks = [(task_source(t.name), t.current_error) for t in service.task_states]
        for source, now in sources + tasks:
            if now == seen.get(source):
                continue
            if not source.startswith(TASK_PREFIX) and now != logged.get(source):
                if now is None:
                    log.info("%s recovered", source, extra={"source": source})
                elif logged.get(source) is None:
                    log.warning("%s failing: %s", source, now, extra={"source": source})
                logged[source] = now
            try:
                await record_error(runtime, source, now)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a full disk: retried at the next tick
                log.warning("could not record the %s error in gateway.db", source)
                continue
            seen[source] = now
        await asyncio.sleep(every)


async def gateway_status(
    runtime: GatewayRuntime, service: RunningService | None = None
) -> GatewayStatus:
    """What is queued, what lags, what failed last; from the data folder (and ``service``'s
    live errors when given)."""
    settings, enrollment = runtime.settings, runtime.identity.enrollment
    cursor = await runtime.store.read(lambda tx: GatewayTables.of(tx).state("feed_cursor"))
    latest = await runtime.journal.latest_checkpoint()
    gap = await runtime.checkpoints.gap()
    last = None
    if latest is not None:
        last = LastCheckpoint(
            latest.size,
            latest.created_at,
            stamped=latest.tsr is not None,
            witnessed=latest.cosigned_note is not None,
        )
    now = runtime.deps.clock()
    recorded = await runtime.store.read(read_errors)
    by_source = {e.source: e for e in recorded}
    tasks = tuple(
        BackgroundTask(name, by_source.get(task_source(name))) for name in task_names(settings)
    )
    return GatewayStatus(
        org=settings.org_key,
        side=enrollment.org_type,
        journal_pending=await runtime.drain.pending(),
        checkpoints=gap,
        outbox=await runtime.store.read(outbox_state),
        feed_cursor=int(cursor or 0),
        pull_error=service.puller.last_error if service else None,
        trust_error=service.trust_error if service else None,
        gateway_id=enrollment.gateway_id,
        hub_url=settings.hub_url or enrollment.hub_url,
        certificates=await asyncio.to_thread(certificate_expiry, settings.paths, now=now),
        last_checkpoint=last,
        webhooks_pending=await asyncio.to_thread(webhooks_pending, settings.paths),
        folders=await asyncio.to_thread(folder_queues, settings),
        errors=tuple(e for e in recorded if not e.source.startswith(TASK_PREFIX)),
        tasks=tasks,
        rotation=await asyncio.to_thread(pending_rotation, settings.paths),
    )
