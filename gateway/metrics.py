"""Prometheus ``GET /metrics`` for the gateway, computed from the stores at scrape time.

Every figure is read from ``gateway.db``, the journal, the webhook and watched-folder
queues and the certificates when the scrape comes, so nothing in the exchange code
counts anything, and a restart loses no figure (the queues and counts are durable). The
two error flags (TSA or witness, the hub's feed) are the running service's last
attempt, given by ``errors``; ``error_active`` and ``last_error_timestamp_seconds`` come
from the errors it persisted (:mod:`gateway.status`). The list is in docs/OPERATIONS.md.

Access (DESIGN.md: nothing unauthenticated but health): ``/metrics`` answers only a
peer presenting ``Authorization: Bearer <token>`` where the token is the content of
``keys/metrics.token`` (created with ``sceau gateway metrics-token``), loopback peers
included: any local process could otherwise read them. Anything else gets 401 with a
``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3). The figures carry no personal
data: counts by démarche and status, queue depths, certificate days left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiohttp import web
from cryptography import x509
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from gateway.lan import RUNTIME
from gateway.runtime import GatewayRuntime
from gateway.service_tasks import task_names
from gateway.settings import GatewayPaths
from gateway.status import (
    TASK_PREFIX,
    FolderQueue,
    LastError,
    folder_queues,
    read_errors,
    task_source,
    webhooks_pending,
)
from gateway.tables import GatewayTables
from hubee.store import StoreTx
from trust.bearer_file import bearer_matches, create_token_file

ErrorSource = Callable[[], tuple[str | None, str | None]]
ERRORS: web.AppKey[ErrorSource] = web.AppKey("gateway.metrics.errors")
# The console's sign-ins refused without a password check since the start, by reason
# (in memory only: gateway.console.signin_guard); set by the console when mounted.
SignInRefusals = Callable[[], dict[str, int]]
SIGNIN_REFUSALS: web.AppKey[SignInRefusals] = web.AppKey("gateway.metrics.signin_refusals")
metrics_routes = web.RouteTableDef()


@dataclass(frozen=True)
class DossierCount:
    direction: str  # "out": sent by this organisation; "in": received from another
    process: str
    status: str
    count: int


@dataclass(frozen=True)
class MetricsSnapshot:
    dossiers: tuple[DossierCount, ...]
    outbox: dict[str, int]
    outbox_retries: int
    journal_size: int
    journal_waiting: int
    checkpoints: int
    unstamped: int
    unwitnessed: int
    feed_cursor: int
    cert_days_left: dict[str, float] = field(default_factory=dict)
    hub_error: bool = False
    trust_error: bool = False
    lag_entries: int = 0  # journal entries not yet under a time-stamped checkpoint
    unstamped_age: float = 0.0  # seconds since the oldest checkpoint without time-stamp
    unwitnessed_age: float = 0.0  # seconds since the oldest checkpoint without cosignature
    webhooks_pending: int | None = None
    folders: tuple[FolderQueue, ...] = ()
    errors: tuple[LastError, ...] = ()  # the last error of each source, persisted
    signin_refusals: dict[str, int] = field(default_factory=dict)  # by reason, since start


def _db_figures(
    tx: StoreTx, org: tuple[str, str]
) -> tuple[tuple[DossierCount, ...], dict[str, int], int, int]:
    conn = GatewayTables.of(tx).conn
    rows = conn.execute(
        "SELECT CASE WHEN o.company_register = ? AND o.branch_code = ? THEN 'out' ELSE 'in' END,"
        " f.process_code, c.status, count(*) FROM cases c JOIN folders f ON f.id = c.folder_id"
        " JOIN organizations o ON o.id = f.transmitter_org_id GROUP BY 1, 2, 3",
        org,
    ).fetchall()
    dossiers = tuple(DossierCount(str(d), str(p), str(s), int(n)) for d, p, s, n in rows)
    outbox = {"pending": 0, "failed": 0, "done": 0}
    outbox.update(
        {
            str(s): int(n)
            for s, n in conn.execute("SELECT state, count(*) FROM gw_link_outbox GROUP BY state")
        }
    )
    retries = int(
        conn.execute("SELECT coalesce(sum(attempts), 0) FROM gw_link_outbox").fetchone()[0]
    )
    cursor = GatewayTables.of(tx).state("feed_cursor")
    return dossiers, outbox, retries, int(cursor or 0)


def certificate_days_left(paths: GatewayPaths, *, now: datetime) -> dict[str, float]:
    """Days until each of our certificates (and the pinned hub CA) expires; absent: skipped."""
    out: dict[str, float] = {}
    for name, path in (
        ("tls", paths.tls_cert),
        ("seal", paths.seal_cert),
        ("hub-ca", paths.hub_ca),
    ):
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        out[name] = (cert.not_valid_after_utc - now).total_seconds() / 86400
    return out


async def snapshot(
    runtime: GatewayRuntime,
    *,
    now: datetime,
    errors: ErrorSource | None = None,
    signin_refusals: SignInRefusals | None = None,
) -> MetricsSnapshot:
    settings = runtime.settings
    org = (settings.company_register, settings.branch_code)
    dossiers, outbox, retries, cursor = await runtime.store.read(lambda tx: _db_figures(tx, org))
    gap = await runtime.checkpoints.gap()
    records = await runtime.journal.checkpoints()
    witnessed = max((r.size for r in records if r.cosigned_note is not None), default=-1)

    def age(pending: list[datetime]) -> float:
        return max(0.0, (now - min(pending)).total_seconds()) if pending else 0.0

    hub_error, trust_error = errors() if errors is not None else (None, None)
    # A task's error is kept only while gateway.yaml still has the task.
    tasks = {task_source(name) for name in task_names(settings)}
    recorded = await runtime.store.read(read_errors)
    return MetricsSnapshot(
        dossiers=dossiers,
        outbox=outbox,
        outbox_retries=retries,
        journal_size=gap.journal_size,
        journal_waiting=await runtime.drain.pending(),
        checkpoints=gap.checkpoints,
        unstamped=gap.unstamped,
        unwitnessed=gap.unwitnessed,
        feed_cursor=cursor,
        cert_days_left=await asyncio.to_thread(certificate_days_left, settings.paths, now=now),
        hub_error=hub_error is not None,
        trust_error=trust_error is not None,
        lag_entries=gap.journal_size - (gap.latest_stamped_size or 0),
        unstamped_age=age([r.created_at for r in records if r.tsr is None]),
        unwitnessed_age=age(
            [r.created_at for r in records if r.cosigned_note is None and r.size > witnessed]
        ),
        webhooks_pending=await asyncio.to_thread(webhooks_pending, settings.paths),
        signin_refusals=signin_refusals() if signin_refusals is not None else {},
        folders=await asyncio.to_thread(folder_queues, settings),
        errors=tuple(
            e for e in recorded if e.source in tasks or not e.source.startswith(TASK_PREFIX)
        ),
    )


def exposition(snap: MetricsSnapshot) -> bytes:
    """The Prometheus text format of one snapshot (a fresh registry per scrape)."""
    reg = CollectorRegistry(auto_describe=False)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"sceau_gateway_{name}", doc, labels, registry=reg)

    dossiers = gauge(
        "dossiers",
        "Cases here, by direction (out: sent, in: received), démarche and status.",
        ("direction", "process", "status"),
    )
    for d in snap.dossiers:
        dossiers.labels(d.direction, d.process, d.status).set(d.count)
    outbox = gauge(
        "outbox_items", "Work for the hub, by state (pending is the queue depth).", ("state",)
    )
    for state, n in snap.outbox.items():
        outbox.labels(state).set(n)
    gauge(
        "outbox_retries", "Failed attempts recorded on outbox items (each was retried or refused)."
    ).set(snap.outbox_retries)
    gauge("journal_entries", "Entries in the Merkle journal.").set(snap.journal_size)
    gauge("journal_outbox_entries", "Journal entries committed but not yet in the journal.").set(
        snap.journal_waiting
    )
    gauge("checkpoints", "Signed checkpoints.").set(snap.checkpoints)
    gauge("checkpoints_unstamped", "Checkpoints waiting for their RFC 3161 time-stamp.").set(
        snap.unstamped
    )
    gauge("checkpoints_unwitnessed", "Checkpoints waiting for the hub's cosignature.").set(
        snap.unwitnessed
    )
    gauge("feed_cursor", "Last feed item processed.").set(snap.feed_cursor)
    gauge("hub_feed_error", "1 when the last long-poll of the hub's feed failed.").set(
        int(snap.hub_error)
    )
    gauge("tsa_witness_error", "1 when the last time-stamp or cosignature attempt failed.").set(
        int(snap.trust_error)
    )
    gauge(
        "checkpoint_lag_entries",
        "Journal entries not yet under a time-stamped checkpoint (evidence not exportable yet).",
    ).set(snap.lag_entries)
    gauge(
        "checkpoint_unstamped_age_seconds",
        "Age of the oldest checkpoint still waiting for its time-stamp (0: none waits).",
    ).set(round(snap.unstamped_age, 3))
    gauge(
        "checkpoint_unwitnessed_age_seconds",
        "Age of the oldest checkpoint still waiting for the hub's cosignature (0: none waits).",
    ).set(round(snap.unwitnessed_age, 3))
    if snap.webhooks_pending is not None:
        gauge("webhook_deliveries_pending", "Webhook deliveries queued, not yet accepted.").set(
            snap.webhooks_pending
        )
    if snap.folders:
        folders = gauge(
            "folder_items",
            "Watched folders' work in progress: sending (taken from OUT/, not yet in SENT/ or "
            "FAILED/) and receiving (being written into IN/ or retried).",
            ("process", "side", "queue"),
        )
        for f in snap.folders:
            folders.labels(f.process, f.side, "sending").set(f.sending)
            folders.labels(f.process, f.side, "receiving").set(f.receiving)
    active = gauge(
        "error_active",
        "1 while the source's last error is not cleared (hub-feed: the hub's feed; "
        "tsa-witness: time-stamps or cosignatures).",
        ("source",),
    )
    last_at = gauge(
        "last_error_timestamp_seconds", "When the source last failed (Unix time).", ("source",)
    )
    for err in snap.errors:
        active.labels(err.source).set(0 if err.cleared_at else 1)
        last_at.labels(err.source).set(datetime.fromisoformat(err.at).timestamp())
    if snap.signin_refusals:
        refused = gauge(
            "console_signin_refusals",
            "Console sign-ins refused without a password check since the service started "
            "(locked: the account is locked; rate: too many failures from the address).",
            ("reason",),
        )
        for why, n in snap.signin_refusals.items():
            refused.labels(why).set(n)
    days = gauge("certificate_days_left", "Days before the certificate expires.", ("certificate",))
    for name, left in snap.cert_days_left.items():
        days.labels(name).set(round(left, 3))
    return generate_latest(reg)


def metrics_token_path(paths: GatewayPaths) -> Path:
    return paths.keys / "metrics.token"


def create_metrics_token(paths: GatewayPaths) -> str:
    """A new bearer token for remote scrapers (0600); replaces the previous one."""
    return create_token_file(metrics_token_path(paths))


CHALLENGE = 'Bearer realm="sceau-metrics"'
REFUSAL = (
    "metrics: send Authorization: Bearer <the content of keys/metrics.token>;"
    " make one with: sceau gateway metrics-token --data DIR"
)


def _authorised(header: str, paths: GatewayPaths) -> bool:
    """Whether ``header`` (the Authorization header) bears the metrics token; no token
    file: nobody is."""
    return bearer_matches(header, metrics_token_path(paths))


@metrics_routes.get("/metrics")
async def get_metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    header = request.headers.get("Authorization", "")
    if not await asyncio.to_thread(_authorised, header, runtime.settings.paths):
        challenge = CHALLENGE + (', error="invalid_token"' if header else "")
        return web.Response(status=401, text=REFUSAL, headers={"WWW-Authenticate": challenge})
    snap = await snapshot(
        runtime,
        now=runtime.deps.clock(),
        errors=request.app.get(ERRORS),
        signin_refusals=request.app.get(SIGNIN_REFUSALS),
    )
    return web.Response(body=exposition(snap), headers={"Content-Type": CONTENT_TYPE_LATEST})
