"""``sceau gateway status`` and ``doctor`` (real subprocesses) show a key rotation left
waiting for the hub, with the command that finishes it; ``status`` shows the background
tasks of gateway.yaml with the last error the running service recorded for each."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.key_switch import RotationPaths
from gateway.rotation import _certify, _stage, _switch
from gateway.settings import GatewaySettings
from gateway.settings_tasks import PurgeSettings, WatchedFolder
from tests.integration.gateway.world import DGS, close_hub, enrolled_settings, open_hub

SCEAU = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "sceau")


def _sceau(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCEAU, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _status(data: Path) -> dict[str, Any]:
    done = _sceau("gateway", "status", "--json", "--data", data)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_rotation_waiting_for_the_hub_is_shown_with_its_fix(tmp_path: Path) -> None:
    async def main() -> GatewaySettings:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
            rotation = RotationPaths(settings.paths)
            await asyncio.to_thread(_stage, settings, rotation)
            await _certify(settings, rotation, now=datetime.now(UTC))
            await asyncio.to_thread(_switch, settings, rotation)
        finally:
            await close_hub(hub)  # gone before the completion
        return settings

    settings = asyncio.run(main())
    data = settings.paths.root
    assert RotationPaths(settings.paths).complete.exists()
    fix = f"sceau gateway rotate-keys --data {data} (the service may keep running) to complete"

    found = _status(data)["rotation"]
    assert found["stage"] == "switched" and found["fix"] == fix and found["since"]
    text = _sceau("gateway", "status", "--data", data)
    assert text.returncode == 0, text.stderr
    assert "key rotation SWITCHED: switched to the new keys, the hub not told yet" in text.stdout
    assert f"to finish: {fix}" in text.stdout

    doctor = _sceau("gateway", "doctor", "--data", data)
    assert doctor.returncode == 4, doctor.stdout + doctor.stderr  # the hub is gone
    lines = doctor.stdout.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.split()[1:2] == ["rotation"]]
    assert lines[at].split()[0] == "warn" and "hub not told" in lines[at]
    assert lines[at + 1].split() == ["fix:", *fix.split()]

    # The hub still unreachable: rotate-keys says so and the state stays pending.
    again = _sceau("gateway", "rotate-keys", "--data", data)
    assert again.returncode == 4, again.stderr
    assert _status(data)["rotation"]["stage"] == "switched"


def test_status_shows_each_background_task_and_its_recorded_error(gateway_dir: Path) -> None:
    secret = gateway_dir / "folder.secret"
    secret.write_text("not-the-secret\n")
    secret.chmod(0o600)
    folder = WatchedFolder("CERTDC", Path("certdc"), "SI", "no-such-client", secret, 0.2, 0.2)
    settings = replace(
        GatewaySettings.load(gateway_dir), folders=(folder,), purge=PurgeSettings(enabled=True)
    )
    settings.save()
    configured = _status(gateway_dir)["tasks"]
    assert configured == [
        {"name": "watched folders CERTDC (SI)", "lastError": None},
        {"name": "retention purge", "lastError": None},
    ]
    env = {k: v for k, v in os.environ.items() if k != "SCEAU_LOG_FORMAT"}
    log = gateway_dir.parent / "gateway.log"  # a file: a full pipe would block the service
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [SCEAU, "gateway", "run", "--data", str(gateway_dir), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert re.search(r"listening on http://127\.0\.0\.1:\d+", line), line
        deadline = time.monotonic() + 60
        while True:
            tasks = {t["name"]: t["lastError"] for t in _status(gateway_dir)["tasks"]}
            if tasks["watched folders CERTDC (SI)"] is not None:
                break
            assert time.monotonic() < deadline, "no task error recorded: " + log.read_text()
            time.sleep(0.5)
        text = _sceau("gateway", "status", "--data", gateway_dir)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    error = tasks["watched folders CERTDC (SI)"]
    assert error["clearedAt"] is None and error["at"] and error["message"]
    assert "not-the-secret" not in error["message"]
    assert tasks["retention purge"] is None  # it ran without failing
    assert text.returncode == 0, text.stderr
    assert "task         watched folders CERTDC (SI): last error at" in text.stdout
    assert "(CURRENT)" in text.stdout
    assert "task         retention purge: no error recorded" in text.stdout
