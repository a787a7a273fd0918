"""Kill -9: the folder adapter as a real process (the CLI), killed at chosen points.

The adapter talks to the engine through a proxy in the test process. A kill point is a
request: the proxy lets the engine do it, then SIGKILLs the adapter before the answer
goes back, so the adapter dies not knowing what the engine did (the worst moment).
After each kill a new process starts on the same root; the last one runs to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from gateway.folders_api import ClientCredentials
from tests.integration.gateway_folders.scene import (
    Certdc,
    certdc_metadata,
    flaky_proxy,
    listing,
    until,
    write_dossier,
)
from tests.integration.hub.world import CERTDC_FILES, SampleFile

Run = Callable[..., None]
MAIN = Path(__file__).resolve().parents[3]


class AdapterProcess:
    """``python -m appliance.cli_gateway_folders run …``, killed on demand."""

    def __init__(self, root: Path, side: str, api: str, credentials: ClientCredentials) -> None:
        self.root, self.side, self.api, self.credentials = root, side, api, credentials
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    @contextlib.asynccontextmanager
    async def started(self) -> AsyncIterator[asyncio.subprocess.Process]:
        secret = self.root.parent / f"{self.side}.secret"
        await asyncio.to_thread(secret.write_text, self.credentials.client_secret)
        log = await asyncio.to_thread((self.root.parent / f"{self.side}.log").open, "ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "appliance.cli_gateway_folders",
            "run",
            "--api",
            self.api,
            "--client-id",
            self.credentials.client_id,
            "--client-secret-file",
            str(secret),
            "--root",
            str(self.root),
            "--process",
            "CERTDC",
            "--side",
            self.side,
            "--scan-interval",
            "0.05",
            "--settle",
            "0.1",
            cwd=MAIN,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
        self.process = process
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            await asyncio.to_thread(log.close)


class KillPoints:
    """After the engine has answered the listed requests, SIGKILL the adapter (once each)."""

    def __init__(self, adapter: AdapterProcess, points: list[tuple[str, str, int]]) -> None:
        self.adapter = adapter
        self.points = points
        self.counts: dict[tuple[str, str], int] = {}
        self.killed = asyncio.Event()

    async def __call__(self, request: web.Request) -> None:
        if not self.points:
            return
        method, prefix, nth = self.points[0]
        if request.method != method or not request.path.startswith(prefix):
            return
        key = (method, prefix)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] == nth and self.adapter.process is not None:
            self.points.pop(0)
            self.counts.clear()
            self.adapter.process.send_signal(signal.SIGKILL)
            self.adapter.kills += 1
            self.killed.set()


async def run_until_killed(adapter: AdapterProcess, kills: KillPoints) -> None:
    async with adapter.started() as process:
        await asyncio.wait_for(kills.killed.wait(), 60)
        kills.killed.clear()
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL


@pytest.mark.slow
def test_osl_adapter_killed_at_every_step_sends_one_folder(certdc_run: Run, tmp_path: Path) -> None:
    root = tmp_path / "CERTDC"
    big = tmp_path / "registre.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    folders = "/teledossiers/v1/folders"

    async def scenario(world: Certdc) -> None:
        async with flaky_proxy(world.hub.url) as proxy:
            adapter = AdapterProcess(root, "OSL", proxy.url, world.osl)
            kills = KillPoints(
                adapter,
                [
                    ("POST", folders, 1),  # created, but the adapter never learns the id
                    ("PUT", folders, 2),  # two files uploaded
                    ("PATCH", folders, 1),  # completed, no receipt yet
                ],
            )
            proxy.after.append(kills)

            def drop() -> None:
                write_dossier(root / "OUT" / "killed", certdc_metadata())
                os.link(big, root / "OUT" / "killed" / big.name)

            (root / "OUT").mkdir(parents=True)
            await asyncio.to_thread(drop)
            for _ in range(3):
                await run_until_killed(adapter, kills)
            assert adapter.kills == 3
            assert listing(root / "SENT") == []
            async with adapter.started() as process:
                await until(
                    lambda: (root / "SENT" / "killed" / "receipt.json").is_file(), timeout=60
                )
                process.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(process.wait(), 30) == 0  # a clean stop

        receipt = json.loads((root / "SENT" / "killed" / "receipt.json").read_bytes())
        folder = await world.folder(receipt["folderId"])
        assert folder["globalStatus"] == "HUBEE_NOTIFIED"
        assert {a["status"] for a in folder["attachments"]} == {"RECEIVED"}
        assert await world.journal_count("folder.created") == 1
        assert await world.journal_count("attachment.received") == len(CERTDC_FILES) + 1
        assert await world.journal_count("notification.created") == 1
        assert listing(root / "FAILED") == listing(root / ".sceau" / "work") == []

    certdc_run(scenario)


@pytest.mark.slow
def test_si_adapter_killed_at_every_step_delivers_the_case_once(
    certdc_run: Run, tmp_path: Path
) -> None:
    root = tmp_path / "CERTDC"
    files = list(CERTDC_FILES)
    for i in range(2):
        path = tmp_path / f"piece-{i}.bin"
        path.write_bytes(os.urandom(900_000))
        files.append(SampleFile(path, "PJ"))
    cases = "/teledossiers/v1/cases/"

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-KILL-SI", files)
        case_id = folder["cases"][0]["id"]
        async with flaky_proxy(world.hub.url) as proxy:
            adapter = AdapterProcess(root, "SI", proxy.url, world.si)
            kills = KillPoints(
                adapter,
                [
                    ("GET", cases, 3),  # the case and two files downloaded, staged only
                    ("PATCH", cases, 1),  # in IN/, SI_RECEIVED, notification not deleted
                ],
            )
            proxy.after.append(kills)
            for _ in range(2):
                await run_until_killed(adapter, kills)
            assert (root / "IN" / case_id).is_dir()  # delivered before the second kill
            await asyncio.to_thread((root / "IN" / case_id).rename, tmp_path / "taken")
            async with adapter.started() as process:

                async def acknowledged() -> bool:
                    return await world.notifications() == []

                while not await acknowledged():
                    await asyncio.sleep(0.05)
                process.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(process.wait(), 30) == 0

        taken = tmp_path / "taken"
        for f in files:
            assert (taken / f.path.name).read_bytes() == f.data
        assert listing(root / "IN") == []  # taken by the application, never written again
        assert listing(root / ".sceau" / "incoming") == []
        assert (await world.case(case_id))["status"] == "SI_RECEIVED"

    certdc_run(scenario)
