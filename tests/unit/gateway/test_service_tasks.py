"""The supervised tasks of gateway.yaml: restarted after each failure, with the error
kept for status (the adapter's own once it runs); the LAN API reached on loopback when
bound to a wildcard address."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.errors import GatewayConfigError
from gateway.service_tasks import TaskState, check_secrets, lan_url, supervise, task_names
from gateway.settings import GatewaySettings
from gateway.settings_tasks import PurgeSettings, WatchedFolder, Webhook, WebhooksSettings

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
    (tmp_path / "c.secret").chmod(0o600)
    check_secrets(settings)


def test_current_error_follows_the_adapter_once_it_has_run_a_round() -> None:
    class Adapter:
        rounds = 0
        last_error: str | None = "login refused"

    state = TaskState("watched folders CERTDC (OSL)", last_error="OSError: root not ready")
    assert state.current_error == "OSError: root not ready"  # nothing running yet
    adapter = Adapter()
    state.running = adapter
    assert state.current_error == "OSError: root not ready"  # no round run yet
    adapter.rounds = 1
    assert state.current_error == "login refused"  # the adapter's own round failed
    adapter.last_error = None
    assert state.current_error is None  # its last round went well
    state.running = object()  # a dispatcher or a purge report: the restart error
    state.last_error = None
    assert state.current_error is None


def test_the_tasks_named_are_those_gateway_yaml_enables(tmp_path: Path) -> None:
    folder = WatchedFolder("CERTDC", Path("files"), "SI", "client-1", Path("c.secret"))
    hook = Webhook("client-2", Path("c2.secret"), "https://crm.example/hook", Path("k"))
    settings = GatewaySettings(
        tmp_path, *ORG, folders=(folder,), webhooks=WebhooksSettings(False, (hook,))
    )
    assert task_names(settings) == ("watched folders CERTDC (SI)",)
    settings = GatewaySettings(
        tmp_path,
        *ORG,
        folders=(folder,),
        webhooks=WebhooksSettings(True, (hook,)),
        purge=PurgeSettings(enabled=True),
    )
    assert task_names(settings) == (
        "watched folders CERTDC (SI)",
        "webhook of client-2",
        "retention purge",
    )
