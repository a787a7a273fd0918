"""Everything a running hub holds: the engine's resources and the link's services.

:meth:`HubRuntime.open` opens the data folder (``hub.db`` with the link tables,
``blobs/``, ``journal.db``, ``uploads/``) and loads the identity; the caller owns the
runtime and closes it. :func:`hub.app.make_hub_app` serves it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hub.enrollment import Enrollment
from hub.evidence_journal import EvidenceJournal, EvidencePolicy
from hub.fact_sink import HubSink, RingingStore
from hub.feed import Feed, FeedBell
from hub.feed_consumed import ConsumedNotifications
from hub.gateways import Gateways
from hub.identity import HubIdentity, load_identity
from hub.link_cases import LinkCases
from hub.link_folders import LinkFolders
from hub.link_schema import LINK_SCHEMA
from hub.receipts import Receipts
from hub.seal_checks import SealChecker
from hub.settings import HubConfig
from hub.uploads import Uploads
from hub.witness import Witness
from hubee.blobs import BlobStore
from hubee.errors import StorageFailure
from hubee.model import Clock, utc_now
from hubee.services import HubDeps, HubServices
from hubee.sqlite_store import SqliteStore
from trust.tsp import InProcessTimeStamper


@dataclass(frozen=True)
class LinkServices:
    """The link API's services, over the engine's store."""

    config: HubConfig
    identity: HubIdentity
    clock: Clock
    gateways: Gateways
    enrollment: Enrollment
    feed: Feed
    folders: LinkFolders
    cases: LinkCases
    receipts: Receipts
    witness: Witness
    consumed: ConsumedNotifications
    uploads: Uploads


def _open_deps(config: HubConfig, sink: HubSink, bell: FeedBell, clock: Clock) -> HubDeps:
    try:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config.uploads_dir.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StorageFailure(f"cannot create the data folder {config.data_dir}: {exc}") from exc
    engine = config.engine
    blobs = BlobStore(engine.blob_dir)
    blobs.clean_tmp()
    store = SqliteStore(engine.db_path, extensions=(LINK_SCHEMA,))
    return HubDeps(RingingStore(store, sink, bell), blobs, sink, clock)


@dataclass(frozen=True)
class HubRuntime:
    config: HubConfig
    identity: HubIdentity
    deps: HubDeps
    store: RingingStore
    sink: HubSink
    bell: FeedBell
    services: HubServices
    link: LinkServices
    evidence: EvidenceJournal

    @classmethod
    async def open(cls, config: HubConfig, *, clock: Clock = utc_now) -> HubRuntime:
        identity = await asyncio.to_thread(load_identity, config)
        sink, bell = HubSink(), FeedBell()
        deps = await asyncio.to_thread(_open_deps, config, sink, bell, clock)
        store = deps.store
        assert isinstance(store, RingingStore)
        services = HubServices.build(config.engine, deps)
        gateways = Gateways(store, sink, retired_seal_grace=config.retired_seal_grace)
        seals = SealChecker(gateways, [identity.ca_certificate])
        uploads = Uploads(config.uploads_dir)
        link = LinkServices(
            config=config,
            identity=identity,
            clock=clock,
            gateways=gateways,
            enrollment=Enrollment(
                store, sink, identity.ca, certificate_days=config.certificate_days
            ),
            feed=Feed(store, bell),
            folders=LinkFolders(services, store, sink, seals, uploads),
            cases=LinkCases(services, store, sink, seals, uploads),
            receipts=Receipts(store, sink, seals),
            witness=Witness(store, sink, signer=identity.witness, key_name=config.witness_key_name),
            consumed=ConsumedNotifications(store, sink),
            uploads=uploads,
        )
        evidence = EvidenceJournal(
            store=store,
            path=config.journal_path,
            signer=identity.journal,
            stamper=InProcessTimeStamper(
                responder=identity.tsa.respond, anchors=[identity.ca_certificate]
            ),
            policy=EvidencePolicy(
                origin=config.name,
                every_entries=config.checkpoint_every_entries,
                every=config.checkpoint_every,
            ),
            clock=clock,
        )
        try:
            await evidence.open()
        except BaseException:
            await deps.close()
            raise
        store.add_fact_listener(evidence.wake)
        return cls(config, identity, deps, store, sink, bell, services, link, evidence)

    async def close(self) -> None:
        self.bell.close()
        try:
            await self.evidence.drain()
        finally:
            await self.evidence.close()
            await self.deps.close()
