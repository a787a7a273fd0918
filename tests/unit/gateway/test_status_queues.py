"""``gateway.status``: the webhook and watched-folder queues read from their SQLite files,
the persisted last errors (set, replaced, cleared), and the background tasks' errors
persisted by the running service and shown per configured task; a failed write is
retried without logging the failure again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import gateway.status as status_module
from appliance.cli_gateway import status_lines
from gateway.folders_state import STAGED, FolderState
from gateway.runtime import GatewayRuntime
from gateway.service_tasks import TaskState
from gateway.settings_tasks import PurgeSettings, WatchedFolder
from gateway.status import (
    HUB_FEED,
    TSA_WITNESS,
    GatewayStatus,
    LastError,
    folder_queues,
    gateway_status,
    read_errors,
    record_error,
    record_errors,
    task_source,
    webhooks_pending,
)
from gateway.webhooks_queue import WebhookQueue
from tests.unit.gateway.support import DGS, HubPki, enroll_offline


def test_webhook_and_folder_queues(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    assert webhooks_pending(settings.paths) is None
    assert folder_queues(settings) == ()
    settings.paths.webhooks.mkdir()
    for name, keys in (("crm", ["n1", "n2"]), ("ged", ["n3"])):
        queue = WebhookQueue(settings.paths.webhooks / f"{name}.db")
        for key in keys:
            queue.add(key, b"{}", now=1.0)
        queue.close()
    done = WebhookQueue(settings.paths.webhooks / "ged.db")
    done.mark_delivered("n3", now=2.0, result="204")
    done.close()
    assert webhooks_pending(settings.paths) == 2
    secret = tmp_path / "secret"
    secret.write_text("s")
    folders = (
        WatchedFolder("CERTDC", Path("out-certdc"), "OSL", "client-1", secret),
        WatchedFolder("RSA", Path("in-rsa"), "SI", "client-2", secret),
    )
    settings = replace(settings, folders=folders)
    layout = folders[0].folder_settings(settings.data_dir).layout
    layout.state_db.parent.mkdir(parents=True)
    state = FolderState(layout.state_db)
    state.claim("dossier-a", now=1.0)
    state.claim("dossier-b", now=1.0)
    state.set_inbound("case-1", STAGED, now=1.0)
    state.close()
    (queue,) = folder_queues(settings)  # the SI folder has no state file yet
    assert (queue.process, queue.side, queue.sending, queue.receiving) == ("CERTDC", "OSL", 2, 1)


def test_last_errors_are_kept_replaced_and_cleared(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    times = iter(datetime(2026, 1, 1, 12, minute, tzinfo=UTC) for minute in range(10))

    async def main() -> list[tuple[str, str, str, str | None]]:
        runtime = await GatewayRuntime.open(settings, clock=lambda: next(times))
        try:
            assert await runtime.store.read(read_errors) == ()
            await record_error(runtime, HUB_FEED, "hub down")
            await record_error(runtime, TSA_WITNESS, "TSA timeout")
            await record_error(runtime, HUB_FEED, "hub still down")
            await record_error(runtime, TSA_WITNESS, None)
            found = await runtime.store.read(read_errors)
            return [(e.source, e.message, e.at, e.cleared_at) for e in found]
        finally:
            await runtime.close()

    assert asyncio.run(main()) == [
        (HUB_FEED, "hub still down", "2026-01-01T12:02:00+00:00", None),
        (TSA_WITNESS, "TSA timeout", "2026-01-01T12:01:00+00:00", "2026-01-01T12:03:00+00:00"),
    ]


def test_background_task_errors_are_persisted_and_shown_per_configured_task(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s")
    folder = WatchedFolder("CERTDC", Path("out-certdc"), "OSL", "client-1", secret)
    settings = replace(
        enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL"),
        folders=(folder,),
        purge=PurgeSettings(enabled=True),
    )
    folder_task = TaskState("watched folders CERTDC (OSL)", last_error="OSError: no root")
    purge_task = TaskState("retention purge", last_error="StoreError: disk full")

    class Puller:
        last_error: str | None = None

    class Service:
        puller = Puller()
        trust_error: str | None = None
        task_states = (folder_task, purge_task)

    async def main() -> tuple[GatewayStatus, tuple[LastError, ...]]:
        runtime = await GatewayRuntime.open(settings)
        recorder = asyncio.create_task(record_errors(runtime, Service(), every=0.01))
        try:

            async def rows() -> dict[str, LastError]:
                return {e.source: e for e in await runtime.store.read(read_errors)}

            while len(await rows()) < 2:
                await asyncio.sleep(0.01)
            purge_task.last_error = None  # the next purge went well: cleared
            while (await rows())[task_source("retention purge")].cleared_at is None:
                await asyncio.sleep(0.01)
            return await gateway_status(runtime), tuple((await rows()).values())
        finally:
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await runtime.close()

    status, recorded = asyncio.run(main())
    assert {e.source for e in recorded} == {
        "task:watched folders CERTDC (OSL)",
        "task:retention purge",
    }
    assert status.errors == ()  # the hub-feed and tsa-witness errors only
    folder_view, purge_view = status.tasks
    assert folder_view.name == "watched folders CERTDC (OSL)"
    assert folder_view.error is not None and folder_view.error.message == "OSError: no root"
    assert folder_view.error.cleared_at is None
    assert purge_view.error is not None and purge_view.error.cleared_at is not None
    doc = status.to_json()
    assert doc["tasks"][0]["lastError"]["message"] == "OSError: no root"
    assert doc["rotation"] is None
    text = "\n".join(line for line, _ in status_lines(doc))
    assert "task         watched folders CERTDC (OSL): last error at " in text
    assert "(CURRENT): OSError: no root" in text
    assert "task         retention purge: last error at " in text and "(recovered " in text
    assert "key rotation" not in text


def test_a_failing_write_does_not_repeat_the_failing_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    writes: list[str | None] = []

    async def flaky(runtime: GatewayRuntime, source: str, message: str | None) -> None:
        writes.append(message)
        if len(writes) <= 3:  # the disk is full for three ticks
            raise OSError(28, "No space left on device")
        await record_error(runtime, source, message)

    monkeypatch.setattr(status_module, "record_error", flaky)

    class Puller:
        last_error: str | None = "hub down"

    class Service:
        puller = Puller()
        trust_error: str | None = None
        task_states = ()

    handler = _Records()
    logger = logging.getLogger("gateway.status")
    logger.addHandler(handler)

    async def main() -> tuple[LastError, ...]:
        runtime = await GatewayRuntime.open(settings)
        recorder = asyncio.create_task(record_errors(runtime, Service(), every=0.01))
        try:
            while len(writes) < 4:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # a few more ticks: nothing more to write or log
            return await runtime.store.read(read_errors)
        finally:
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await runtime.close()

    try:
        recorded = asyncio.run(main())
    finally:
        logger.removeHandler(handler)
    assert writes == ["hub down"] * 4  # retried until written, then left alone
    assert [(e.source, e.message) for e in recorded] == [(HUB_FEED, "hub down")]
    failing = [r for r in handler.records if r.getMessage().startswith("hub-feed failing")]
    assert len(failing) == 1
    assert sum("could not record" in r.getMessage() for r in handler.records) == 3


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
