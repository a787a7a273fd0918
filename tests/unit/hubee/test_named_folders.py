"""Folders named by their caller (a gateway pushing a folder it sealed under that id)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from hubee.blobs import BlobStore
from hubee.commands import NewAttachment, NewCase, NewFolder
from hubee.directory import Directory
from hubee.errors import Conflict
from hubee.event_sink import TableSink
from hubee.folders import Folders
from hubee.model import Applicant, OrgRef, OrgType, PartnerInfo, Principal, Process, Scope
from hubee.sqlite_store import SqliteStore
from tests.integration.hub.harness import FakeClock

DGS = OrgRef(OrgType.OSL, "11000201100044", "DGS")
COMMUNE = OrgRef(OrgType.SI, "21930066200016", "93066")


def _folder(external_id: str, size: int = 10) -> NewFolder:
    return NewFolder(
        process_code="CERTDC",
        external_id=external_id,
        applicant=Applicant("Camille", "Martin"),
        cases=(NewCase(external_id + "-01", COMMUNE),),
        attachments=(
            NewAttachment("acte.pdf", "PJ", size, "application/pdf", (external_id + "-01",)),
        ),
    )


def test_a_named_folder_keeps_its_id_and_conflicts_are_refused(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "hub.db")
        clock = FakeClock()
        sink = TableSink()
        try:
            directory = Directory(store, sink, clock)
            dgs = await directory.add_org(DGS, "DGS")
            await directory.add_org(COMMUNE, "Saint-Denis")
            await directory.add_process(Process("CERTDC", "Certificat de décès"), osl=DGS)
            folders = Folders(
                store, BlobStore(tmp_path / "blobs"), sink, max_attachment_bytes=10**6
            )
            osl = Principal("gateway:x", dgs, Scope.OSL, "CERTDC")
            named = str(uuid.uuid4())
            kw = {"partner": PartnerInfo(), "now": clock()}
            folder, created = await folders.create(osl, _folder("A-1"), folder_id=named, **kw)  # type: ignore[arg-type]
            assert (folder.id, created) == (named, True)
            again, created = await folders.create(osl, _folder("A-1"), folder_id=named, **kw)  # type: ignore[arg-type]
            assert (again.id, created) == (named, False)
            with pytest.raises(Conflict, match="already folder"):  # same externalId, other id
                await folders.create(osl, _folder("A-1"), folder_id=str(uuid.uuid4()), **kw)  # type: ignore[arg-type]
            with pytest.raises(Conflict, match="already used"):  # same id, other folder
                await folders.create(osl, _folder("B-2"), folder_id=named, **kw)  # type: ignore[arg-type]
            drawn, _ = await folders.create(osl, _folder("C-3"), **kw)  # type: ignore[arg-type]
            assert drawn.id != named and uuid.UUID(drawn.id)
        finally:
            await store.close()

    asyncio.run(main())
