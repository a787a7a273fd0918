"""Prometheus ``GET /metrics`` for the hub.

Two kinds of figures:

- **durable**, read from ``hub.db`` and ``journal.db`` at scrape time (a restart loses
  none): gateways enrolled and revoked, folders and cases by démarche and status,
  witness cosignatures and alerts, feed items, the evidence journal's size;
- **this process's counters**, kept by a middleware since start (Prometheus handles
  the reset at a restart): requests and errors by route, requests in flight (the feed's
  long polls are the feed waiters), RFC 3161 answers from ``POST /tsa``.

Access mirrors the gateway's (``gateway.metrics``): only a peer with
``Authorization: Bearer <token>`` where the token is the content of
``keys/metrics.token`` (``sceau hub metrics-token``), loopback peers included; else 401
with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3). Only ``/healthz`` and
``/readyz`` answer anyone. No personal data: counts by
démarche, status and route template (``/link/v1/cases/{caseId}``, never an id).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

from hub.runtime import HubRuntime
from hubee.sqlite_store import sqlite_connection
from hubee.store import StoreTx
from trust.bearer_file import bearer_matches, create_token_file

FEED_ROUTE = "/link/v1/notifications"
TSA_ROUTE = "/tsa"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Count:
    labels: tuple[str, ...]
    value: int


@dataclass(frozen=True)
class HubSnapshot:
    gateways: tuple[Count, ...]  # (state,)
    folders: tuple[Count, ...]  # (process, status)
    cases: tuple[Count, ...]  # (process, status)
    cosignatures: int
    witness_alerts: int
    feed_items: int
    journal_size: int


class RequestCounters:
    """This process's request figures, in their own registry (one per application)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "sceau_hub_requests",
            "HTTP requests answered, by route template, method and status class.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.errors = Counter(
            "sceau_hub_request_errors",
            "HTTP requests answered 5xx or failed, by route template.",
            ("route",),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "sceau_hub_requests_in_flight",
            "Requests being served, by route template.",
            ("route",),
            registry=self.registry,
        )
        self.feed_waiters = Gauge(
            "sceau_hub_feed_waiters",
            "Gateways' long polls of the link feed waiting now.",
            registry=self.registry,
        )
        self.tsa_tokens = Counter(
            "sceau_hub_tsa_responses",
            "RFC 3161 responses given by POST /tsa (time-stamp tokens issued).",
            registry=self.registry,
        )


COUNTERS: web.AppKey[RequestCounters] = web.AppKey("hub.metrics.counters", RequestCounters)
RUNTIME: web.AppKey[HubRuntime] = web.AppKey("hub.metrics.runtime", HubRuntime)


def _route(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


def _middleware(counters: RequestCounters) -> Middleware:
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = _route(request)
        waiting = route == FEED_ROUTE
        counters.in_flight.labels(route).inc()
        if waiting:
            counters.feed_waiters.inc()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            counters.in_flight.labels(route).dec()
            if waiting:
                counters.feed_waiters.dec()
            counters.requests.labels(route, request.method, f"{status // 100}xx").inc()
            if status >= 500:
                counters.errors.labels(route).inc()
            if route == TSA_ROUTE and status == 200:
                counters.tsa_tokens.inc()

    return count


def _db_figures(tx: StoreTx) -> tuple[tuple[Count, ...], ...]:
    conn = sqlite_connection(tx)

    def counts(sql: str) -> tuple[Count, ...]:
        return tuple(
            Count(tuple(str(v) for v in row[:-1]), int(row[-1])) for row in conn.execute(sql)
        )

    return (
        counts(
            "SELECT CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END, count(*)"
            " FROM link_gateways GROUP BY 1"
        ),
        counts("SELECT process_code, global_status, count(*) FROM folders GROUP BY 1, 2"),
        counts(
            "SELECT f.process_code, c.status, count(*) FROM cases c"
            " JOIN folders f ON f.id = c.folder_id GROUP BY 1, 2"
        ),
        counts("SELECT 'witnessed', count(*) FROM link_witnessed"),
        counts("SELECT 'alerts', count(*) FROM link_witness_alerts"),
        counts("SELECT 'feed', coalesce(max(cursor), 0) FROM link_feed"),
    )


def _journal_size(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        last = conn.execute("SELECT max(idx) FROM entries").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()
    return 0 if last is None else int(last) + 1


async def snapshot(runtime: HubRuntime) -> HubSnapshot:
    gateways, folders, cases, witnessed, alerts, feed = await runtime.store.read(_db_figures)
    size = await asyncio.to_thread(_journal_size, runtime.config.journal_path)
    return HubSnapshot(
        gateways=gateways,
        folders=folders,
        cases=cases,
        cosignatures=witnessed[0].value,
        witness_alerts=alerts[0].value,
        feed_items=feed[0].value,
        journal_size=size,
    )


def exposition(snap: HubSnapshot, counters: RequestCounters | None = None) -> bytes:
    reg = CollectorRegistry(auto_describe=False)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"sceau_hub_{name}", doc, labels, registry=reg)

    gateways = gauge("gateways", "Gateways enrolled, by state (active, revoked).", ("state",))
    for state in ("active", "revoked"):
        gateways.labels(state).set(0)
    for c in snap.gateways:
        gateways.labels(*c.labels).set(c.value)
    folders = gauge("folders", "Folders, by démarche and global status.", ("process", "status"))
    for c in snap.folders:
        folders.labels(*c.labels).set(c.value)
    cases = gauge("cases", "Cases, by démarche and status.", ("process", "status"))
    for c in snap.cases:
        cases.labels(*c.labels).set(c.value)
    gauge("witness_cosignatures", "Gateway checkpoints the witness cosigned.").set(
        snap.cosignatures
    )
    gauge("witness_alerts", "Checkpoints the witness refused (investigate each).").set(
        snap.witness_alerts
    )
    gauge("feed_items", "Items ever put on the gateways' feeds (the last cursor).").set(
        snap.feed_items
    )
    gauge("journal_entries", "Entries in the hub's evidence journal.").set(snap.journal_size)
    body = generate_latest(reg)
    if counters is not None:
        body += generate_latest(counters.registry)
    return body


def metrics_token_path(keys_dir: Path) -> Path:
    return keys_dir / "metrics.token"


def create_metrics_token(keys_dir: Path) -> str:
    """A new bearer token for remote scrapers (0600); replaces the previous one."""
    return create_token_file(metrics_token_path(keys_dir))


CHALLENGE = 'Bearer realm="sceau-metrics"'
REFUSAL = (
    "metrics: send Authorization: Bearer <the content of keys/metrics.token>;"
    " make one with: sceau hub metrics-token --data DIR"
)


def _authorised(header: str, keys_dir: Path) -> bool:
    """Whether ``header`` (the Authorization header) bears the metrics token; no token
    file: nobody is."""
    return bearer_matches(header, metrics_token_path(keys_dir))


async def get_metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    header = request.headers.get("Authorization", "")
    if not await asyncio.to_thread(_authorised, header, runtime.config.keys_dir):
        challenge = CHALLENGE + (', error="invalid_token"' if header else "")
        return web.Response(status=401, text=REFUSAL, headers={"WWW-Authenticate": challenge})
    body = exposition(await snapshot(runtime), request.app.get(COUNTERS))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics(app: web.Application, runtime: HubRuntime) -> None:
    """Mount ``GET /metrics`` and the request-counting middleware (outermost)."""
    counters = RequestCounters()
    app[COUNTERS] = counters
    app[RUNTIME] = runtime
    app.middlewares.insert(0, _middleware(counters))
    app.router.add_get("/metrics", get_metrics)
