"""``sceau hub run`` as a real process: it serves, reports its port, and stops on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path


def test_hub_run_serves_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "hub",
            "run",
            "--data",
            str(tmp_path / "hub"),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        with urllib.request.urlopen(found[1] + "/readyz", timeout=10) as answer:  # noqa: S310
            assert json.load(answer) == {"status": "ready"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert (tmp_path / "hub" / "hub.db").is_file()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
