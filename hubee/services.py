"""Wiring: the hub's resources (:class:`HubDeps`) and the services built on them."""

from __future__ import annotations

from dataclasses import dataclass

from hubee.attachments import Attachments
from hubee.blobs import BlobStore
from hubee.cases import Cases
from hubee.credentials import Authenticator
from hubee.directory import Directory
from hubee.errors import StorageFailure
from hubee.event_sink import EventSink, TableSink
from hubee.folders import Folders
from hubee.model import Clock, utc_now
from hubee.notifications import Notifications
from hubee.retention import Retention
from hubee.routing import FolderRouting
from hubee.settings import HubSettings
from hubee.sqlite_store import SqliteStore
from hubee.store import Store


@dataclass(frozen=True)
class HubDeps:
    """What the hub runs on: storage, blobs, the journal hook and the clock."""

    store: Store
    blobs: BlobStore
    sink: EventSink
    clock: Clock
    # Where completed folders go; None: the hub's own routing (hubee.routing.LocalRouting).
    routing: FolderRouting | None = None

    @classmethod
    def open(cls, settings: HubSettings, *, clock: Clock = utc_now) -> HubDeps:
        """Open (creating and migrating as needed) the data directory. Blocks."""
        try:
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageFailure(
                f"cannot create the data folder {settings.data_dir}: {exc}"
            ) from exc
        blobs = BlobStore(settings.blob_dir)
        blobs.clean_tmp()
        return cls(SqliteStore(settings.db_path), blobs, TableSink(), clock)

    async def close(self) -> None:
        await self.store.close()


@dataclass(frozen=True)
class HubServices:
    settings: HubSettings
    clock: Clock
    auth: Authenticator
    directory: Directory
    folders: Folders
    cases: Cases
    attachments: Attachments
    notifications: Notifications
    retention: Retention

    @classmethod
    def build(cls, settings: HubSettings, deps: HubDeps) -> HubServices:
        cases = Cases(deps.store, deps.blobs, deps.sink)
        return cls(
            settings=settings,
            clock=deps.clock,
            auth=Authenticator(deps.store, ttl=settings.token_ttl),
            directory=Directory(deps.store, deps.sink, deps.clock),
            folders=Folders(
                deps.store,
                deps.blobs,
                deps.sink,
                max_attachment_bytes=settings.max_attachment_bytes,
                routing=deps.routing,
            ),
            cases=cases,
            attachments=Attachments(
                deps.store,
                deps.blobs,
                deps.sink,
                cases,
                max_attachment_bytes=settings.max_attachment_bytes,
                require_digest=settings.require_digest,
                journal_downloads=settings.journal_downloads,
            ),
            notifications=Notifications(deps.store, deps.sink),
            retention=Retention(deps.store, deps.blobs, deps.sink),
        )
