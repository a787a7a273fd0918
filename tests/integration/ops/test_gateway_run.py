"""``sceau gateway run`` as a real process whose hub is gone: its stderr (a pipe) is
JSON, one object a line; it records the hub's feed error in gateway.db, so that
``sceau gateway status`` in another process and ``/metrics`` show it; SIGTERM stops it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.ops.test_hub_metrics import parse, value

SCEAU = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "sceau")


def _status(data: Path) -> dict[str, Any]:
    done = subprocess.run(
        [SCEAU, "gateway", "status", "--json", "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_gateway_run_logs_json_and_persists_the_hub_error(gateway_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SCEAU_LOG_FORMAT"}
    minted = subprocess.run(
        [SCEAU, "gateway", "metrics-token", "--data", str(gateway_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert minted.returncode == 0, minted.stderr
    process = subprocess.Popen(
        [SCEAU, "gateway", "run", "--data", str(gateway_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, line + process.stderr.read()
        deadline = time.monotonic() + 60
        while True:
            errors = _status(gateway_dir)["errors"]
            if "hub-feed" in errors:
                break
            assert time.monotonic() < deadline, "the feed error was never recorded"
            time.sleep(0.5)
        assert errors["hub-feed"]["clearedAt"] is None and errors["hub-feed"]["message"]
        token = (gateway_dir / "keys" / "metrics.token").read_text().strip()
        scrape = urllib.request.Request(  # noqa: S310
            found[1] + "/metrics", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(scrape, timeout=10) as answer:  # noqa: S310
            m = parse(answer.read().decode())
        assert value(m, "sceau_gateway_error_active", source="hub-feed") == 1
        assert value(m, "sceau_gateway_hub_feed_error") == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        logs = process.stderr.read().splitlines()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    records = [json.loads(x) for x in logs]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    failing = [r for r in records if r["message"].startswith("hub-feed failing")]
    assert len(failing) == 1, logs  # logged once, not at every retry
    assert failing[0]["level"] == "warning" and failing[0]["source"] == "hub-feed"
