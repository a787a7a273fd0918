"""OSL side: dossiers dropped in OUT/ become completed HubEE folders, over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway.folders_adapter import FolderAdapter
from gateway.folders_settings import Side
from tests.integration.gateway_folders.scene import (
    Certdc,
    answer,
    certdc_metadata,
    fast_settings,
    flaky_proxy,
    listing,
    running,
    until,
    write_dossier,
)
from tests.integration.hub.world import CERTDC_FILES
from tests.loopback_http import closed_port

Run = Callable[..., None]


def test_certdc_drop_is_created_completed_and_moved_to_sent(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: (root / "OUT").is_dir())
            await asyncio.to_thread(write_dossier, root / "OUT" / "deces-0001", certdc_metadata())
            await until(lambda: (root / "SENT" / "deces-0001" / "receipt.json").is_file())

        sent = root / "SENT" / "deces-0001"
        receipt = json.loads((sent / "receipt.json").read_bytes())
        folder = await world.folder(receipt["folderId"])
        assert folder["externalId"] == "ER20190860001"
        assert folder["globalStatus"] == "HUBEE_NOTIFIED"
        assert {(a["fileName"], a["type"], a["status"]) for a in folder["attachments"]} == {
            (f.path.name, f.type, "RECEIVED") for f in CERTDC_FILES
        }
        assert [c["id"] for c in receipt["cases"]] == [c["id"] for c in folder["cases"]]
        assert {a["fileName"]: a["sha256"] for a in receipt["attachments"]} == {
            f.path.name: hashlib.sha256(f.data).hexdigest() for f in CERTDC_FILES
        }
        notes = await world.notifications()
        assert [n["caseId"] for n in notes] == [folder["cases"][0]["id"]]
        assert listing(sent) == sorted(
            [f.path.name for f in CERTDC_FILES] + ["metadata.json", "receipt.json"]
        )
        assert listing(root / "OUT") == listing(root / "FAILED") == []
        assert listing(root / ".sceau" / "work") == []
        assert await world.journal_count("folder.created") == 1

    certdc_run(scenario)


def test_a_growing_dossier_is_not_taken_until_it_settles(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"
    dossier = root / "OUT" / "slow-copy"
    scan = dossier / "scan.pdf"

    def append() -> None:
        with scan.open("ab") as f:
            f.write(b"%" * 1024)

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(
            fast_settings(root, Side.OSL, settle_time=0.3), world.hub.url, world.osl
        )
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)
            await asyncio.to_thread(write_dossier, dossier, certdc_metadata())
            start = adapter.rounds
            while adapter.rounds < start + 40:  # ≥ 0.8 s of scans, while it keeps growing
                await asyncio.to_thread(append)
                await asyncio.sleep(0.02)
            assert dossier.is_dir(), "taken while a file was still growing"
            assert await world.journal_count("folder.created") == 0
            await until(lambda: (root / "SENT" / "slow-copy").is_dir())

        receipt = json.loads((root / "SENT" / "slow-copy" / "receipt.json").read_bytes())
        sizes = {a["fileName"]: a["size"] for a in receipt["attachments"]}
        assert sizes["scan.pdf"] == (root / "SENT" / "slow-copy" / "scan.pdf").stat().st_size
        assert sizes["scan.pdf"] >= 40 * 1024

    certdc_run(scenario)


@pytest.mark.parametrize("where", ["beside", "inside"])
def test_a_locked_dossier_waits_for_its_lock_to_go(
    certdc_run: Run, tmp_path: Path, where: str
) -> None:
    root = tmp_path / "CERTDC"
    dossier = root / "OUT" / "locked"
    lock = root / "OUT" / "locked.lock" if where == "beside" else dossier / ".lock"

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)

            def drop() -> None:
                write_dossier(dossier, certdc_metadata())
                lock.touch()

            await asyncio.to_thread(drop)
            start = adapter.rounds
            await until(lambda: adapter.rounds >= start + 15)  # 6× the settle time
            assert dossier.is_dir()
            assert await world.journal_count("folder.created") == 0
            await asyncio.to_thread(lock.unlink)
            await until(lambda: (root / "SENT" / "locked" / "receipt.json").is_file())

        receipt = json.loads((root / "SENT" / "locked" / "receipt.json").read_bytes())
        assert len(receipt["attachments"]) == 4  # the .lock itself is never an attachment

    certdc_run(scenario)


def _missing(key: str) -> dict[str, Any]:
    document = certdc_metadata()
    del document[key]
    return document


BAD: dict[str, tuple[Any, str]] = {
    "no-process": (_missing("processCode"), "metadata.json: field processCode missing"),
    "not-json": (b'{"processCode": "CERTDC",', "metadata.json is not valid JSON"),
    "no-metadata": (None, "metadata.json is missing"),
    "other-process": (
        certdc_metadata(processCode="RSABEI-RSABAI"),
        "processCode is 'RSABEI-RSABAI' but this folder is for the process 'CERTDC'",
    ),
    "absent-file": (
        certdc_metadata(files=[{"fileName": "absent.pdf"}]),
        "metadata.json lists absent.pdf, but the dossier has no such file",
    ),
    "traversal": (
        certdc_metadata(files=[{"fileName": "../../etc/passwd"}]),
        "'../../etc/passwd' is not a plain file name",
    ),
    "no-applicant-name": (
        certdc_metadata(applicant={"firstName": "Camille"}),
        "metadata.json: field applicant.lastName missing",
    ),
    "bad-siret": (
        certdc_metadata(
            recipients=[{"externalId": "X-01", "companyRegister": "2193", "branchCode": "1"}]
        ),
        "recipients[0].companyRegister is not a 14-digit SIRET",
    ),
    "unknown-org": (
        certdc_metadata(
            recipients=[
                {"externalId": "X-01", "companyRegister": "21750001600019", "branchCode": "75056"}
            ],
        ),
        "the gateway refused the folder: ",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_dossier_goes_to_failed_with_a_readable_error(
    certdc_run: Run, tmp_path: Path, name: str
) -> None:
    root = tmp_path / "CERTDC"
    metadata, expected = BAD[name]

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)
            await asyncio.to_thread(write_dossier, root / "OUT" / name, metadata)
            await until(lambda: (root / "FAILED" / f"{name}.error").is_file())

        error = (root / "FAILED" / f"{name}.error").read_text()
        assert expected in error, error
        assert error.startswith(f"Dossier: {name}\n")
        assert "\nWhat to do: " in error
        kept = root / "FAILED" / name
        assert sorted(p.name for p in kept.iterdir()) == sorted(
            [f.path.name for f in CERTDC_FILES] + ([] if metadata is None else ["metadata.json"])
        )
        assert listing(root / "OUT") == listing(root / "SENT") == []
        assert await world.journal_count("folder.created") == 0

    certdc_run(scenario)


def test_loose_files_and_subfolders_go_to_failed(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"

    def drop() -> None:
        (root / "OUT" / "acte.pdf").write_bytes(CERTDC_FILES[0].data)
        write_dossier(root / "OUT" / "nested", certdc_metadata())
        (root / "OUT" / "nested" / "more").mkdir()
        (root / "OUT" / ".hidden-temp").write_bytes(b"editor swap file")

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)
            await asyncio.to_thread(drop)
            await until(lambda: len(listing(root / "FAILED")) == 4)

        assert (
            "acte.pdf is a file, not a folder" in (root / "FAILED" / "acte.pdf.error").read_text()
        )
        assert (root / "FAILED" / "acte.pdf").read_bytes() == CERTDC_FILES[0].data
        assert "more is a subfolder" in (root / "FAILED" / "nested.error").read_text()
        assert listing(root / "OUT") == [".hidden-temp"]  # not a dossier: left alone

    certdc_run(scenario)


def test_no_subscription_fails_and_removes_the_unfinished_folder(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)
            await asyncio.to_thread(write_dossier, root / "OUT" / "nobody", certdc_metadata())
            await until(lambda: (root / "FAILED" / "nobody.error").is_file())

        error = (root / "FAILED" / "nobody.error").read_text()
        assert "the gateway refused to complete the folder" in error
        assert "is not subscribed (Actif) to CERTDC" in error
        assert "was deleted from the API" in error
        assert await world.journal_count("folder.created") == 1
        assert await world.rows("SELECT id FROM folders") == []

    certdc_run(scenario, subscribe=False)


def test_an_unavailable_api_is_retried_and_never_fails_the_dossier(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"
    down = asyncio.Event()

    async def refuse(request: web.Request) -> web.StreamResponse | None:
        creating = request.method == "POST" and request.path == "/teledossiers/v1/folders"
        return answer(503) if down.is_set() and creating else None

    async def scenario(world: Certdc) -> None:
        async with flaky_proxy(world.hub.url) as proxy:
            proxy.rules.append(refuse)
            down.set()
            adapter = FolderAdapter(fast_settings(root, Side.OSL), proxy.url, world.osl)
            async with running(adapter.run()):
                await until(lambda: adapter.rounds > 0)
                await asyncio.to_thread(write_dossier, root / "OUT" / "patient", certdc_metadata())
                await until(lambda: proxy.seen.count("POST /teledossiers/v1/folders") >= 3)
                assert listing(root / ".sceau" / "work") == ["patient"]
                assert listing(root / "FAILED") == listing(root / "SENT") == []
                down.clear()
                await until(lambda: (root / "SENT" / "patient").is_dir())
        assert await world.journal_count("folder.created") == 1

    certdc_run(scenario)


def test_an_expired_token_is_renewed(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)
            await asyncio.to_thread(write_dossier, root / "OUT" / "one", certdc_metadata("ONE"))
            await until(lambda: (root / "SENT" / "one").is_dir())
            world.hub.clock.advance(hours=2)  # past the engine's token lifetime (1 h)
            await asyncio.to_thread(write_dossier, root / "OUT" / "two", certdc_metadata("TWO"))
            await until(lambda: (root / "SENT" / "two").is_dir())
        assert await world.journal_count("folder.created") == 2

    certdc_run(scenario)


def test_the_same_dossier_dropped_again_is_not_a_second_folder(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"

    async def scenario(world: Certdc) -> None:
        adapter = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(adapter.run()):
            await until(lambda: adapter.rounds > 0)
            await asyncio.to_thread(write_dossier, root / "OUT" / "twice", certdc_metadata())
            await until(lambda: (root / "SENT" / "twice").is_dir())
            await asyncio.to_thread(write_dossier, root / "OUT" / "twice", certdc_metadata())
            await until(lambda: (root / "SENT" / "twice.1").is_dir())
            changed = certdc_metadata(applicant={"firstName": "Alex", "lastName": "Martin"})
            await asyncio.to_thread(write_dossier, root / "OUT" / "twice", changed)
            await until(lambda: (root / "FAILED" / "twice.error").is_file())

        first = json.loads((root / "SENT" / "twice" / "receipt.json").read_bytes())
        again = json.loads((root / "SENT" / "twice.1" / "receipt.json").read_bytes())
        assert first["folderId"] == again["folderId"]
        assert await world.journal_count("folder.created") == 1
        assert len(await world.notifications()) == 1
        error = (root / "FAILED" / "twice.error").read_text()
        assert "already has a folder with externalId ER20190860001 and other content" in error
        assert "give it a new externalId" in error

    certdc_run(scenario)


def test_a_silent_api_keeps_the_dossier_until_one_answers(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"
    nowhere = f"http://127.0.0.1:{closed_port()}"

    def last_error() -> str | None:
        conn = sqlite3.connect(root / ".sceau" / "state.db")
        try:
            row = conn.execute("SELECT last_error FROM outbound WHERE name = 'patient'").fetchone()
        finally:
            conn.close()
        return None if row is None else row[0]

    async def scenario(world: Certdc) -> None:
        silent = FolderAdapter(fast_settings(root, Side.OSL), nowhere, world.osl)
        async with running(silent.run()):
            await until(lambda: silent.rounds > 0)
            await asyncio.to_thread(write_dossier, root / "OUT" / "patient", certdc_metadata())
            await until(lambda: "did not answer" in (last_error() or ""))
            start = silent.rounds
            await until(lambda: silent.rounds > start + 5)
        assert listing(root / ".sceau" / "work") == ["patient"]
        assert listing(root / "FAILED") == listing(root / "SENT") == []

        answering = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(answering.run()):
            await until(lambda: (root / "SENT" / "patient" / "receipt.json").is_file())
        assert await world.journal_count("folder.created") == 1

    certdc_run(scenario)
