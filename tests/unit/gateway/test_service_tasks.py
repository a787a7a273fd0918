"""The supervised tasks of gateway.yaml: restarted after each failure, with the error
kept for status; the LAN API reached on loopback when bound to a wildcard address."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.errors import GatewayConfigError
from gateway.service_tasks import TaskState, check_secrets, lan_url, supervise
from gateway.settings import GatewaySettings
from gateway.settings_tasks import WatchedFolder

ORG = ("21930066200016", "93066")


def test_a_failing_task_is_restarted_and_its_error_kept() -> None:
    attempts: list[int] = []
    delays: list[int] = []
    running = asyncio.Event()

    async def start(state: TaskState) -> None:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise OSError(f"root not ready ({len(attempts)})")
        running.set()
        await asyncio.Event().wait()  # runs until cancelled

    def delay(failures: int) -> float:
        delays.append(failures)
        return 0.0

    async def main() -> TaskState:
        state = TaskState("watched folders CERTDC (SI)")
        task = asyncio.create_task(supervise(state, start, delay=delay))
        await asyncio.wait_for(running.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return state

    state = asyncio.run(main())
    assert attempts == [1, 2, 3] and delays == [1, 2]  # growing backoff, one per failure
    assert state.restarts == 2 and state.last_error == "OSError: root not ready (2)"


def test_lan_url_uses_loopback_for_wildcards(tmp_path: Path) -> None:
    wildcard = GatewaySettings(tmp_path, *ORG, lan_host="0.0.0.0")  # noqa: S104
    assert lan_url(wildcard, 81) == "http://127.0.0.1:81"
    assert lan_url(GatewaySettings(tmp_path, *ORG, lan_host="::"), 82) == "http://[::1]:82"
    assert lan_url(GatewaySettings(tmp_path, *ORG, lan_host="10.0.0.5"), 83) == "http://10.0.0.5:83"


def test_secret_files_are_checked_relative_to_the_data_folder(tmp_path: Path) -> None:
    folder = WatchedFolder("CERTDC", Path("files"), "SI", "client-1", Path("c.secret"))
    settings = GatewaySettings(tmp_path, *ORG, folders=(folder,))
    with pytest.raises(GatewayConfigError, match="cannot read the client secret"):
        check_secrets(settings)
    (tmp_path / "c.secret").write_text("\n")
    with pytest.raises(GatewayConfigError, match="is empty"):
        check_secrets(settings)
    (tmp_path / "c.secret").write_text("s3cret\n")
    check_secrets(settings)
