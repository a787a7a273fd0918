"""Kill -9 at random points: both gateways run as real processes (``sceau gateway
run``) and are killed with SIGKILL, again and again, while an operator's software
deposits dossiers and the exchange runs. After the last restart every dossier has
arrived exactly once, nothing is left queued or refused, and both journals verify."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sqlite3
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.local_directory import add_client
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from hubee.model import Scope
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    close_hub,
    enrolled_settings,
    eventually,
    open_hub,
)
from tests.unit.gateway.support import LanClient, b64_sha256, certdc_folder
from trust.checkpoint import VerifierKey
from trust.journal_verify import verify_journal

DOSSIERS = 6
KILLS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    settings: GatewaySettings
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        log = (self.settings.data_dir / "run.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "appliance",
            "gateway",
            "run",
            "--data",
            str(self.settings.data_dir),
            "--port",
            str(self.port),
            stdout=log,
            stderr=log,
        )
        log.close()

        async def up() -> bool:
            try:
                async with session.get(self.base + "/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(up, timeout=30, what=f"{self.name} to start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)


async def _client(settings: GatewaySettings, process: str, scope: Scope) -> tuple[str, str]:
    runtime = await GatewayRuntime.open(settings)
    try:
        created = await add_client(
            runtime.services,
            runtime.store,
            name=f"app-{scope.value}",
            company_register=settings.company_register,
            branch_code=settings.branch_code,
            process_code=process,
            scope=scope,
        )
        return created.client.client_id, created.secret
    finally:
        await runtime.close()


async def _retrying(client: LanClient, creds: tuple[str, str, str], *args: Any, **kw: Any) -> Any:
    """One HubEE call, repeated while the gateway is down or restarting."""
    while True:
        try:
            if not client.token:
                await client.login(*creds)
            reply = await client.call(*args, **kw)
            if reply.status == 401:
                client.token = ""
                continue
            if reply.status < 500:
                return reply
        except (aiohttp.ClientError, AssertionError, OSError):
            client.token = ""
        await asyncio.sleep(0.1)


@pytest.mark.timeout(400)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("SCEAU_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"crash test seed: {seed} (SCEAU_CRASH_SEED to replay)")

    async def main() -> None:
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            osl = Proc("dgs", await enrolled_settings(hub, tmp_path / "dgs", DGS), _free_port())
            si = Proc(
                "sd", await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS), _free_port()
            )
            osl_creds = (*await _client(osl.settings, "CERTDC", Scope.OSL), "OSL")
            si_creds = (*await _client(si.settings, "CERTDC", Scope.SI), "SI")
            session = await stack.enter_async_context(aiohttp.ClientSession())
            for proc in (osl, si):
                await proc.start(session)
                stack.push_async_callback(proc.stop)
            dgs = LanClient(session, osl.base)
            recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)

            async def operator() -> None:
                for n in range(DOSSIERS):
                    body, files = certdc_folder(recipient, f"ER-CRASH-{n:02d}")
                    created = await _retrying(
                        dgs, osl_creds, "POST", "/teledossiers/v1/folders", json_body=body
                    )
                    assert created.status in (200, 201), created.body
                    folder = created.json()
                    for meta, data in zip(folder["attachments"], files, strict=True):
                        put = await _retrying(
                            dgs,
                            osl_creds,
                            "PUT",
                            f"/teledossiers/v1/folders/{folder['id']}/attachments/{meta['id']}",
                            data=data,
                            headers={"digest": b64_sha256(data)},
                        )
                        assert put.status == 204, put.body
                    done = await _retrying(
                        dgs,
                        osl_creds,
                        "PATCH",
                        f"/teledossiers/v1/folders/{folder['id']}",
                        json_body={"globalStatus": "HUBEE_COMPLETED"},
                    )
                    assert done.status == 204, done.body

            async def killer() -> None:
                for _ in range(KILLS):
                    await asyncio.sleep(rng.uniform(0.2, 1.2))
                    victim = rng.choice([osl, si])
                    await victim.kill()
                    await asyncio.sleep(rng.uniform(0.0, 0.3))
                    await victim.start(session)

            await asyncio.gather(operator(), killer())
            commune = LanClient(session, si.base)

            async def all_arrived() -> list[dict[str, Any]] | None:
                found = await _retrying(
                    commune, si_creds, "GET", "/teledossiers/v1/notifications?maxResult=100"
                )
                items = found.json()
                return items if len(items) >= DOSSIERS else None

            notes = await eventually(all_arrived, timeout=120, what="every dossier at the SI")
            external = []
            for note in notes:
                case = await _retrying(
                    commune, si_creds, "GET", f"/teledossiers/v1/cases/{note['caseId']}"
                )
                external.append(case.json()["externalId"])
                for attachment in case.json()["attachments"]:
                    got = await _retrying(
                        commune,
                        si_creds,
                        "GET",
                        f"/teledossiers/v1/cases/{note['caseId']}/attachments/{attachment['id']}",
                    )
                    assert got.status == 200 and got.headers["digest"] == b64_sha256(got.body)
            assert sorted(external) == [f"ER-CRASH-{n:02d}-01" for n in range(DOSSIERS)]
            hub_db = sqlite3.connect(hub.runtime.config.engine.db_path)
            try:
                assert hub_db.execute("SELECT count(*) FROM folders").fetchone() == (DOSSIERS,)
                assert hub_db.execute("SELECT count(*) FROM cases").fetchone() == (DOSSIERS,)
            finally:
                hub_db.close()
            for proc in (osl, si):
                await proc.stop()
                _check_gateway(proc.settings)

    asyncio.run(main())


def _check_gateway(settings: GatewaySettings) -> None:
    paths = settings.paths
    db = sqlite3.connect(paths.db)
    try:
        states = dict(db.execute("SELECT state, count(*) FROM gw_link_outbox GROUP BY state"))
        assert states.get("failed", 0) == 0 and states.get("pending", 0) == 0, states
        assert db.execute("SELECT count(*) FROM gw_refused").fetchone() == (0,)
        (journal_size,) = db.execute("SELECT journal_size FROM gw_journal_drain").fetchone()
    finally:
        db.close()
    key = VerifierKey.parse(paths.journal_vkey.read_text().strip())
    witness = VerifierKey.parse(paths.witness_vkey.read_text().strip())
    result = verify_journal(paths.journal, journal_keys=[key], witness_keys=[witness])
    assert result.ok, result.reasons
    journal = sqlite3.connect(paths.journal)
    try:
        (size,) = journal.execute("SELECT count(*) FROM entries").fetchone()
    finally:
        journal.close()
    assert size >= journal_size > 0
