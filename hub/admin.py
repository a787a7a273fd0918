"""The hub's data folder opened for administration, beside (or without) a running hub.

:class:`HubAdmin` gives the operator's commands (``sceau hub enrollment-token``,
``gateway list|revoke``, ``witness alerts``) the registry and tokens, over the same
database (SQLite WAL: safe while the hub serves). It never drains the outbox into the
evidence journal: the running hub does, within ``checkpoint_every``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hub.enrollment import EnrollmentTokens
from hub.fact_sink import HubSink
from hub.gateways import Gateways
from hub.link_schema import LINK_SCHEMA
from hub.settings import HubConfig
from hubee.blobs import BlobStore
from hubee.errors import StorageFailure
from hubee.model import Clock, utc_now
from hubee.services import HubDeps
from hubee.sqlite_store import SqliteStore


def _open(config: HubConfig, clock: Clock) -> HubDeps:
    if not config.data_dir.is_dir():
        raise StorageFailure(
            f"no hub data folder at {config.data_dir}",
            hint="Run `sceau hub init --data DIR` first.",
        )
    engine = config.engine
    sink = HubSink()
    return HubDeps(
        SqliteStore(engine.db_path, extensions=(LINK_SCHEMA,)),
        BlobStore(engine.blob_dir),
        sink,
        clock,
    )


@dataclass(frozen=True)
class HubAdmin:
    deps: HubDeps
    gateways: Gateways
    tokens: EnrollmentTokens

    @classmethod
    async def open(cls, config: HubConfig, *, clock: Clock = utc_now) -> HubAdmin:
        deps = await asyncio.to_thread(_open, config, clock)
        sink = deps.sink
        assert isinstance(sink, HubSink)
        return cls(deps, Gateways(deps.store, sink), EnrollmentTokens(deps.store, sink))

    async def close(self) -> None:
        await self.deps.close()
