"""SI side: notified cases appear in IN/<case-id>/, whole or not at all, over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from gateway.folders_adapter import FolderAdapter
from gateway.folders_settings import Side
from tests.integration.gateway_folders.scene import (
    TD,
    Certdc,
    answer,
    fast_settings,
    flaky_proxy,
    listing,
    running,
    until,
)
from tests.integration.hub.world import CERTDC_FILES, SampleFile

Run = Callable[..., None]


class Watcher:
    """Looks at IN/ as fast as it can, and keeps every state of a case folder it saw."""

    def __init__(self, case_dir: Path) -> None:
        self.case_dir = case_dir
        self.seen: set[tuple[tuple[str, int], ...]] = set()
        self.stop = threading.Event()

    def watch(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(FileNotFoundError):
                if self.case_dir.is_dir():
                    self.seen.add(
                        tuple(sorted((e.name, e.stat().st_size) for e in os.scandir(self.case_dir)))
                    )


def test_a_case_appears_in_in_whole_with_identical_files(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"
    (tmp_path / "samples").mkdir()
    files = list(CERTDC_FILES)
    for i in range(3):  # a wider window for a partial view (each under the harness's 1 MiB)
        big = tmp_path / "samples" / f"registre-{i}.bin"
        big.write_bytes(os.urandom(1_000_000))
        files.append(SampleFile(big, "PJ"))

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER20190860001", files)
        case_id = folder["cases"][0]["id"]
        watcher = Watcher(root / "IN" / case_id)
        watching = asyncio.ensure_future(asyncio.to_thread(watcher.watch))
        try:
            adapter = FolderAdapter(fast_settings(root, Side.SI), world.hub.url, world.si)
            async with running(adapter.run()):
                await until(lambda: (root / "IN" / case_id).is_dir())

                async def acknowledged() -> bool:
                    return await world.notifications() == []

                while not await acknowledged():
                    await asyncio.sleep(0.02)
        finally:
            watcher.stop.set()
            await watching

        case_dir = root / "IN" / case_id
        complete = tuple(sorted((p.name, p.stat().st_size) for p in case_dir.iterdir()))
        assert watcher.seen == {complete}, "IN/ showed a case folder before it was complete"
        for f in files:
            assert (case_dir / f.path.name).read_bytes() == f.data
        metadata = json.loads((case_dir / "metadata.json").read_bytes())
        assert metadata["kind"] == "case"
        assert metadata["caseId"] == case_id and metadata["processCode"] == "CERTDC"
        assert metadata["case"]["externalId"] == "ER20190860001-01"
        assert metadata["case"]["applicant"]["lastName"] == "Martin"
        assert metadata["transmitter"]["companyRegister"] == "11000201100044"
        assert {f["path"]: f["sha256"] for f in metadata["files"]} == {
            f.path.name: hashlib.sha256(f.data).hexdigest() for f in files
        }
        assert (await world.case(case_id))["status"] == "SI_RECEIVED"
        assert listing(root / ".sceau" / "incoming") == []
        assert listing(root / "FAILED") == []

    certdc_run(scenario)


def test_an_operator_message_lands_beside_the_case(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-EVENT-1")
        case_id = folder["cases"][0]["id"]
        adapter = FolderAdapter(fast_settings(root, Side.SI), world.hub.url, world.si)
        async with running(adapter.run()):
            await until(lambda: (root / "IN" / case_id).is_dir())
            created = await world.hub.call(
                "POST",
                f"{TD}/cases/{case_id}/events",
                token=world.osl_token,
                json_body={
                    "actionType": "SENDING_MESSAGE",
                    "message": "Merci de confirmer la réception.",
                    "notification": True,
                },
            )
            assert created.status == 201, created.body
            event_id = created.json()["id"]
            target = root / "IN" / f"{case_id}.event-{event_id}"
            await until(lambda: (target / "metadata.json").is_file())

            async def received() -> bool:
                reply = await world.hub.call(
                    "GET", f"{TD}/cases/{case_id}/events/{event_id}", token=world.osl_token
                )
                return bool(reply.json()["status"] == "RECEIVED")

            while not await received():
                await asyncio.sleep(0.02)

        metadata = json.loads((target / "metadata.json").read_bytes())
        assert metadata["kind"] == "event" and metadata["eventId"] == event_id
        assert metadata["event"]["message"] == "Merci de confirmer la réception."
        assert metadata["files"] == []
        assert await world.notifications() == []

    certdc_run(scenario)


def test_corrupted_downloads_end_as_si_intg_error(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"

    def attachment_download(request: web.Request) -> bool:
        return request.method == "GET" and "/attachments/" in request.path

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-CORRUPT-1")
        case_id = folder["cases"][0]["id"]
        async with flaky_proxy(world.hub.url) as proxy:
            proxy.corrupt = attachment_download
            settings = fast_settings(root, Side.SI, max_corrupted_downloads=2)
            adapter = FolderAdapter(settings, proxy.url, world.si)
            async with running(adapter.run()):
                await until(lambda: (root / "FAILED" / f"{case_id}.error").is_file())

                async def reported() -> bool:
                    return await world.notifications() == []

                while not await reported():
                    await asyncio.sleep(0.02)

        error = (root / "FAILED" / f"{case_id}.error").read_text()
        assert f"Case: {case_id}\n" in error
        assert "the bytes do not match the digest header" in error
        assert "marked SI_INTG_ERROR" in error
        assert (await world.case(case_id))["status"] == "SI_INTG_ERROR"
        assert listing(root / "IN") == listing(root / ".sceau" / "incoming") == []

    certdc_run(scenario)


def test_sender_file_names_are_made_safe_and_unique(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"
    files: list[SampleFile] = []
    for i, name in enumerate(["metadata.json", "scan.pdf", "SCAN.pdf", ".profile"]):
        path = tmp_path / f"sender{i}" / name
        path.parent.mkdir()
        path.write_bytes(f"file {i}".encode())
        files.append(SampleFile(path, "PJ"))

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-NAMES-1", files)
        case_id = folder["cases"][0]["id"]
        adapter = FolderAdapter(fast_settings(root, Side.SI), world.hub.url, world.si)
        async with running(adapter.run()):
            await until(lambda: (root / "IN" / case_id).is_dir())

        case_dir = root / "IN" / case_id
        assert listing(case_dir) == sorted(
            ["metadata.json", "metadata (2).json", "scan.pdf", "SCAN (2).pdf", "profile"]
        )
        metadata = json.loads((case_dir / "metadata.json").read_bytes())
        saved = {f["fileName"]: f["path"] for f in metadata["files"]}
        assert saved == {
            "metadata.json": "metadata (2).json",
            "scan.pdf": "scan.pdf",
            "SCAN.pdf": "SCAN (2).pdf",
            ".profile": "profile",
        }
        for f in files:
            assert (case_dir / saved[f.path.name]).read_bytes() == f.data

    certdc_run(scenario)


def test_an_unreachable_api_is_polled_again_until_it_answers(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"
    down = asyncio.Event()
    down.set()

    async def refuse(request: web.Request) -> web.StreamResponse | None:
        return answer(502) if down.is_set() and request.path.endswith("/notifications") else None

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-DOWN-1")
        case_id = folder["cases"][0]["id"]
        async with flaky_proxy(world.hub.url) as proxy:
            proxy.rules.append(refuse)
            adapter = FolderAdapter(fast_settings(root, Side.SI), proxy.url, world.si)
            async with running(adapter.run()):
                await until(lambda: adapter.rounds >= 3)
                assert adapter.last_error is not None and "answered 502" in adapter.last_error
                assert listing(root / "IN") == []
                down.clear()
                await until(lambda: (root / "IN" / case_id).is_dir())
                await until(lambda: adapter.last_error is None)

    certdc_run(scenario)
