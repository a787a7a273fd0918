"""Stopping the adapters between steps: on restart, nothing is lost or done twice.

The adapter task is cancelled while the engine holds one of its requests (an upload,
the completion, a download), which is what a stop or a crash at that point looks like
from the engine's side; then a fresh adapter on the same root finishes the job. With
``lose_state`` the state database is deleted as well, to show that the folder's
externalId and content digest alone prevent a second folder.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

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

Run = Callable[..., None]


def _state_row(root: Path, name: str) -> tuple[str | None, str | None]:
    conn = sqlite3.connect(root / ".sceau" / "state.db")
    try:
        row = conn.execute(
            "SELECT digest, folder_id FROM outbound WHERE name = ?", (name,)
        ).fetchone()
    finally:
        conn.close()
    assert row is not None
    return row[0], row[1]


def _drop_state(root: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (root / ".sceau" / f"state.db{suffix}").unlink(missing_ok=True)


class Hold:
    """A proxy rule that holds the n-th matching request until released (then 503)."""

    def __init__(self, method: str, prefix: str, nth: int = 1) -> None:
        self.method, self.prefix, self.nth = method, prefix, nth
        self.count = 0
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, request: web.Request) -> web.StreamResponse | None:
        if request.method != self.method or not request.path.startswith(self.prefix):
            return None
        self.count += 1
        if self.count != self.nth:
            return None
        self.holding.set()
        await self.release.wait()
        return answer(503)


@pytest.mark.parametrize("lose_state", [False, True], ids=["state-kept", "state-lost"])
@pytest.mark.parametrize("stage", ["second-upload", "completion"])
def test_an_osl_adapter_stopped_mid_way_resumes_with_one_folder(
    certdc_run: Run, tmp_path: Path, stage: str, lose_state: bool
) -> None:
    root = tmp_path / "CERTDC"
    name = "interrupted"
    folders = "/teledossiers/v1/folders/"
    hold = Hold("PUT", folders, nth=2) if stage == "second-upload" else Hold("PATCH", folders)

    async def scenario(world: Certdc) -> None:
        async with flaky_proxy(world.hub.url) as proxy:
            proxy.rules.append(hold)
            first = FolderAdapter(fast_settings(root, Side.OSL), proxy.url, world.osl)
            async with running(first.run()):
                await until(lambda: first.rounds > 0)
                await asyncio.to_thread(write_dossier, root / "OUT" / name, certdc_metadata())
                await asyncio.wait_for(hold.holding.wait(), 15)
            hold.release.set()

        digest, folder_id = _state_row(root, name)
        assert digest is not None and folder_id is not None
        assert listing(root / ".sceau" / "work") == [name]
        assert listing(root / "SENT") == listing(root / "FAILED") == []
        folder = await world.folder(folder_id)
        assert folder["globalStatus"] == "HUBEE_RECEIVED"
        received = [a for a in folder["attachments"] if a["status"] == "RECEIVED"]
        assert len(received) == (1 if stage == "second-upload" else 4)
        if lose_state:
            _drop_state(root)

        second = FolderAdapter(fast_settings(root, Side.OSL), world.hub.url, world.osl)
        async with running(second.run()):
            await until(lambda: (root / "SENT" / name / "receipt.json").is_file())

        receipt = json.loads((root / "SENT" / name / "receipt.json").read_bytes())
        assert receipt["folderId"] == folder_id
        assert receipt["contentDigest"] == digest
        assert (await world.folder(folder_id))["globalStatus"] == "HUBEE_NOTIFIED"
        assert await world.journal_count("folder.created") == 1
        assert await world.journal_count("attachment.received") == len(CERTDC_FILES)
        assert await world.journal_count("notification.created") == 1
        assert listing(root / ".sceau" / "work") == []

    certdc_run(scenario)


@pytest.mark.parametrize("lose_state", [False, True], ids=["state-kept", "state-lost"])
def test_an_si_adapter_stopped_mid_download_writes_the_case_once(
    certdc_run: Run, tmp_path: Path, lose_state: bool
) -> None:
    root = tmp_path / "CERTDC"
    hold = Hold("GET", "/teledossiers/v1/cases/", nth=3)  # the case, 1st file, then hold the 2nd

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-RESTART-1")
        case_id = folder["cases"][0]["id"]
        async with flaky_proxy(world.hub.url) as proxy:
            proxy.rules.append(hold)
            first = FolderAdapter(fast_settings(root, Side.SI), proxy.url, world.si)
            async with running(first.run()):
                await asyncio.wait_for(hold.holding.wait(), 15)
                staged = root / ".sceau" / "incoming" / case_id
                assert await asyncio.to_thread(staged.is_dir)
            hold.release.set()

        assert listing(root / "IN") == []  # nothing half-written is ever visible
        if lose_state:
            _drop_state(root)
        second = FolderAdapter(fast_settings(root, Side.SI), world.hub.url, world.si)
        async with running(second.run()):
            await until(lambda: (root / "IN" / case_id / "metadata.json").is_file())
            await until(lambda: second.rounds > 3)

        case_dir = root / "IN" / case_id
        for f in CERTDC_FILES:
            assert (case_dir / f.path.name).read_bytes() == f.data
        assert listing(root / ".sceau" / "incoming") == []
        assert await world.notifications() == []
        assert (await world.case(case_id))["status"] == "SI_RECEIVED"

    certdc_run(scenario)


def test_a_case_taken_from_in_before_its_acknowledgement_is_not_written_again(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"

    async def refuse_acks(request: web.Request) -> web.StreamResponse | None:
        return answer(503) if request.method in ("PATCH", "DELETE") else None

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-ACK-1")
        case_id = folder["cases"][0]["id"]
        async with flaky_proxy(world.hub.url) as proxy:
            proxy.rules.append(refuse_acks)
            first = FolderAdapter(fast_settings(root, Side.SI), proxy.url, world.si)
            async with running(first.run()):
                await until(lambda: (root / "IN" / case_id).is_dir())
                await until(
                    lambda: proxy.seen.count(f"PATCH /teledossiers/v1/cases/{case_id}") >= 2
                )
        assert len(await world.notifications()) == 1  # not acknowledged: the API refused

        taken = tmp_path / "taken-by-the-application"
        await asyncio.to_thread((root / "IN" / case_id).rename, taken)
        second = FolderAdapter(fast_settings(root, Side.SI), world.hub.url, world.si)
        async with running(second.run()):
            await until(lambda: second.rounds > 0)

            async def acknowledged() -> bool:
                return await world.notifications() == []

            while not await acknowledged():
                await asyncio.sleep(0.02)
            await until(lambda: second.rounds > 5)

        assert listing(root / "IN") == []  # not delivered twice
        assert (await world.case(case_id))["status"] == "SI_RECEIVED"
        assert await world.journal_count("attachment.downloaded") == len(CERTDC_FILES)

    certdc_run(scenario, journal_downloads=True)  # as a gateway does
