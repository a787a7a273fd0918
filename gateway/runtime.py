"""A gateway's open resources: the LAN engine and its store, blobs, journal, drain and
checkpoints; opened from the data directory, closed in reverse order.

Everything that talks to the hub (:mod:`gateway.link`) is started on top of this by
:mod:`gateway.service`; the CLI's offline commands (``client add``, ``evidence
export``, ``status``) open only this.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from gateway.checkpoints import Checkpoints
from gateway.encrypted_blobs import EncryptedBlobStore
from gateway.identity import GatewayIdentity, journal_origin
from gateway.journal_access import JournalAccess
from gateway.journal_drain import JournalDrain
from gateway.schema import GATEWAY_SCHEMA
from gateway.settings import GatewaySettings
from gateway.sink import GatewaySink
from gateway.upstream_routing import UpstreamRouting
from hubee.model import Clock, utc_now
from hubee.services import HubDeps, HubServices
from hubee.settings import HubSettings
from hubee.sqlite_store import SqliteStore
from trust.journal_writer import AsyncJournalWriter


def engine_settings(settings: GatewaySettings) -> HubSettings:
    """The LAN engine's settings: the gateway's limits, downloads journaled."""
    return HubSettings(
        data_dir=settings.data_dir,
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        max_attachment_bytes=settings.max_attachment_bytes,
        journal_downloads=True,
    )


@dataclass
class GatewayRuntime:
    settings: GatewaySettings
    identity: GatewayIdentity
    store: SqliteStore
    blobs: EncryptedBlobStore
    deps: HubDeps
    services: HubServices
    journal: JournalAccess
    writer: AsyncJournalWriter
    drain: JournalDrain
    checkpoints: Checkpoints
    sink: GatewaySink

    @property
    def engine_settings(self) -> HubSettings:
        return engine_settings(self.settings)

    @classmethod
    async def open(cls, settings: GatewaySettings, *, clock: Clock = utc_now) -> GatewayRuntime:
        identity = await asyncio.to_thread(GatewayIdentity.load, settings)
        paths = settings.paths
        blobs = await asyncio.to_thread(
            EncryptedBlobStore, paths.blobs, master_key=identity.blob_key
        )
        await asyncio.to_thread(blobs.clean_tmp)
        store = await asyncio.to_thread(SqliteStore, paths.db, extensions=[GATEWAY_SCHEMA])
        journal = await JournalAccess.open(paths.journal)
        writer = await AsyncJournalWriter.open(paths.journal)
        drain = JournalDrain(store, writer, journal)
        sink = GatewaySink(drain.poke)
        deps = HubDeps(store, blobs, sink, clock, routing=UpstreamRouting(sink, identity.seal))
        runtime = cls(
            settings=settings,
            identity=identity,
            store=store,
            blobs=blobs,
            deps=deps,
            services=HubServices.build(engine_settings(settings), deps),
            journal=journal,
            writer=writer,
            drain=drain,
            checkpoints=Checkpoints(
                journal,
                signer=identity.journal_signer,
                origin=journal_origin(settings),
                every_entries=settings.checkpoint_entries,
                every_seconds=settings.checkpoint_seconds,
                clock=clock,
            ),
            sink=sink,
        )
        try:
            await drain.recover()
        except BaseException:
            await runtime.close()
            raise
        return runtime

    async def close(self) -> None:
        await self.writer.aclose()
        await self.journal.close()
        await self.store.close()
