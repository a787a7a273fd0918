"""The engine's extension points: extension tables in the same transaction, folder
routing, download journaling, blob reading, and a full disk. Each default keeps the
hub's behaviour (the hub's own suite runs with the defaults)."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest

from hubee.blobs import BlobStore, storage_error
from hubee.commands import FolderUpdate, NewAttachment, NewCase, NewFolder
from hubee.errors import InsufficientStorage, StorageFailure, ValidationFailed
from hubee.http_errors import status_for
from hubee.model import (
    Applicant,
    Folder,
    Organization,
    OrgRef,
    OrgType,
    PartnerInfo,
    Principal,
    Process,
    Scope,
    Status,
)
from hubee.routing import record_folder_status, require_attachments_received
from hubee.services import HubDeps, HubServices
from hubee.settings import HubSettings
from hubee.sqlite_schema import SchemaExtension, migrate_extensions
from hubee.sqlite_store import SqliteStore, sqlite_connection
from hubee.store import DossierTx, StoreTx
from tests.integration.hub.harness import FakeClock

T = TypeVar("T")
OSL = OrgRef(OrgType.OSL, "11000201100044", "DGS")
UNKNOWN = OrgRef(OrgType.SI, "21930066200016", "93066")
EXT = SchemaExtension("test", ("CREATE TABLE ext_rows (v TEXT NOT NULL)",))


@dataclass
class RecordingSink:
    facts: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)

    def record(
        self, tx: DossierTx, kind: str, subject: str, at: datetime, data: dict[str, object]
    ) -> None:
        self.facts.append((kind, subject, data))


class UpstreamRouting:
    """A gateway-like routing: unknown recipients are created; completion only marks."""

    def __init__(self, sink: RecordingSink) -> None:
        self.sink = sink
        self.completed: list[str] = []

    def recipient(self, tx: StoreTx, ref: OrgRef) -> Organization | None:
        found = tx.org_by_ref(ref.company_register, ref.branch_code)
        if found is None:
            found = Organization(f"remote-{ref.branch_code}", ref, ref.key)
            tx.insert_org(found, at=datetime.now().astimezone())
        return found

    def complete(self, tx: StoreTx, folder: Folder, now: datetime) -> Status:
        require_attachments_received(folder)
        record_folder_status(
            self.sink, tx, folder.id, folder.global_status, Status.HUBEE_COMPLETED, now
        )
        sqlite_connection(tx).execute("INSERT INTO ext_rows (v) VALUES (?)", (folder.id,))
        self.completed.append(folder.id)
        return Status.HUBEE_COMPLETED


def run(
    tmp_path: Path,
    scenario: Callable[[HubServices, RecordingSink, SqliteStore], Awaitable[T]],
    *,
    routing: bool = False,
    journal_downloads: bool = False,
) -> T:
    async def main() -> T:
        store = SqliteStore(tmp_path / "hub.db", extensions=[EXT])
        blobs = await asyncio.to_thread(BlobStore, tmp_path / "blobs")
        sink = RecordingSink()
        deps = HubDeps(
            store, blobs, sink, FakeClock(), routing=UpstreamRouting(sink) if routing else None
        )
        settings = HubSettings(tmp_path, journal_downloads=journal_downloads)
        try:
            return await scenario(HubServices.build(settings, deps), sink, store)
        finally:
            await store.close()

    return asyncio.run(main())


async def _operator(hub: HubServices) -> Principal:
    org = await hub.directory.add_org(OSL, "DGS")
    await hub.directory.add_process(Process("CERTDC", "Certificat de décès"), osl=OSL)
    return Principal("client", org, Scope.OSL, "CERTDC")


def _folder(data: bytes) -> NewFolder:
    return NewFolder(
        "CERTDC",
        "EXT-1",
        Applicant("Camille", "Martin"),
        (NewCase("EXT-1-01", UNKNOWN),),
        (NewAttachment("acte.pdf", "Acte", len(data), "application/pdf", ("EXT-1-01",)),),
    )


async def _chunks(data: bytes):  # type: ignore[no-untyped-def]
    yield data


def test_extension_tables_migrate_once_and_refuse_a_newer_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    migrate_extensions(conn, [EXT])
    migrate_extensions(conn, [EXT])  # a restart changes nothing
    two = SchemaExtension("test", (*EXT.migrations, "CREATE TABLE ext_more (x INTEGER)"))
    migrate_extensions(conn, [two])
    assert conn.execute("SELECT version FROM extension_schema").fetchall() == [(2,)]
    with pytest.raises(StorageFailure, match="newer than this program"):
        migrate_extensions(conn, [EXT])


def test_extension_rows_commit_and_roll_back_with_the_unit(tmp_path: Path) -> None:
    async def scenario(hub: HubServices, sink: RecordingSink, store: SqliteStore) -> None:
        def half(tx: StoreTx) -> None:
            sqlite_connection(tx).execute("INSERT INTO ext_rows VALUES ('lost')")
            tx.insert_process(Process("A", "a"), at=FakeClock()())
            raise ValidationFailed("x", "refused after both writes")

        with pytest.raises(ValidationFailed):
            await store.write(half)
        await store.write(
            lambda tx: sqlite_connection(tx).execute("INSERT INTO ext_rows VALUES ('kept')")
        )
        rows = await store.read(
            lambda tx: sqlite_connection(tx).execute("SELECT v FROM ext_rows").fetchall()
        )
        assert rows == [("kept",)]
        assert await store.read(lambda tx: tx.processes()) == []
        with pytest.raises(TypeError):
            sqlite_connection(object())

    run(tmp_path, scenario)


def test_the_default_routing_refuses_unknown_recipients(tmp_path: Path) -> None:
    async def scenario(hub: HubServices, sink: RecordingSink, store: SqliteStore) -> None:
        osl = await _operator(hub)
        with pytest.raises(ValidationFailed, match="no organization 21930066200016/93066"):
            await hub.folders.create(osl, _folder(b"x"), partner=PartnerInfo(), now=FakeClock()())

    run(tmp_path, scenario)


def test_a_routing_takes_unknown_recipients_and_the_completion(tmp_path: Path) -> None:
    data = b"%PDF-1.7 acte"

    async def scenario(hub: HubServices, sink: RecordingSink, store: SqliteStore) -> None:
        osl = await _operator(hub)
        now = FakeClock()()
        folder, _ = await hub.folders.create(osl, _folder(data), partner=PartnerInfo(), now=now)
        with pytest.raises(Exception, match="attachments-first"):
            await hub.folders.update(osl, folder.id, FolderUpdate(Status.HUBEE_COMPLETED), now=now)
        await hub.attachments.receive_for_folder(
            osl,
            folder.id,
            folder.attachments[0].id,
            _chunks(data),
            digest=None,
            content_length=len(data),
            now=now,
        )
        await hub.folders.update(osl, folder.id, FolderUpdate(Status.HUBEE_COMPLETED), now=now)
        stored = await hub.folders.get(osl, folder.id)
        # The routing decided: completed, not delivered, nobody notified.
        assert stored.global_status is Status.HUBEE_COMPLETED
        assert [c.status for c in stored.cases] == [Status.HUBEE_RECEIVED]
        assert not [f for f in sink.facts if f[0] == "notification.created"]
        rows = await store.read(
            lambda tx: sqlite_connection(tx).execute("SELECT v FROM ext_rows").fetchall()
        )
        assert rows == [(folder.id,)]

    run(tmp_path, scenario, routing=True)


def test_downloads_are_journaled_only_when_asked(tmp_path: Path) -> None:
    data = b"%PDF-1.7 acte"

    def scenario_for(expect: bool) -> Callable[..., Awaitable[None]]:
        async def scenario(hub: HubServices, sink: RecordingSink, store: SqliteStore) -> None:
            osl = await _operator(hub)
            now = FakeClock()()
            folder, _ = await hub.folders.create(osl, _folder(data), partner=PartnerInfo(), now=now)
            att = folder.attachments[0]
            await hub.attachments.receive_for_folder(
                osl, folder.id, att.id, _chunks(data), digest=None, content_length=None, now=now
            )
            found = await hub.attachments.for_case(osl, folder.cases[0].id, att.id, now=now)
            assert found.plain and found.chunks is not None
            assert b"".join(await asyncio.to_thread(lambda: list(found.chunks()))) == data  # type: ignore[misc]
            downloads = [f for f in sink.facts if f[0] == "attachment.downloaded"]
            if expect:
                assert downloads == [
                    (
                        "attachment.downloaded",
                        att.id,
                        {
                            "case": folder.cases[0].id,
                            "client": "client",
                            "org": OSL.key,
                            "sha256": found.attachment.sha256,
                            "fileName": "acte.pdf",
                        },
                    )
                ]
            else:
                assert downloads == []

        return scenario

    run(tmp_path / "off", scenario_for(False), routing=True)
    run(tmp_path / "on", scenario_for(True), routing=True, journal_downloads=True)


def test_a_full_disk_is_507_and_other_failures_503() -> None:
    full = storage_error(OSError(errno.ENOSPC, "No space left on device"), "x")
    assert isinstance(full, InsufficientStorage) and status_for(full) == 507
    other = storage_error(OSError(errno.EIO, "I/O error"), "x")
    assert not isinstance(other, InsufficientStorage) and status_for(other) == 503


def test_a_full_disk_mid_blob_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    writer = blobs.writer(limit=10)

    def no_space(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("hubee.blobs.os.write", no_space)
    with pytest.raises(InsufficientStorage):
        writer.write(b"0123456789")
    monkeypatch.undo()
    writer.discard()
    assert list(blobs.tmp_dir.iterdir()) == []
