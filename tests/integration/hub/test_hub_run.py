"""``sceau hub init`` then ``sceau hub run`` as a real process: it serves over TLS (or
plain HTTP with ``--insecure-http``), reports its port, and stops on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _sceau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("insecure", [False, True], ids=["tls", "insecure-http"])
def test_hub_run_serves_until_terminated(tmp_path: Path, insecure: bool) -> None:
    data = tmp_path / "hub"
    made = _sceau("hub", "init", "--data", str(data), "--host", "127.0.0.1")
    assert made.returncode == 0, made.stderr
    extra = ["--insecure-http"] if insecure else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "hub",
            "run",
            "--data",
            str(data),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        scheme = "http" if insecure else "https"
        found = re.search(rf"listening on ({scheme}://127\.0\.0\.1:\d+)", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        context = None
        if not insecure:
            context = ssl.create_default_context(cafile=str(data / "keys" / "ca.pem"))
            context.minimum_version = ssl.TLSVersion.TLSv1_3  # 1.3 is offered and taken
        with urllib.request.urlopen(found[1] + "/readyz", timeout=10, context=context) as answer:  # noqa: S310
            assert json.load(answer) == {"status": "ready"}
        if insecure:  # without TLS the link API refuses everything, enrollment first
            for path, body, status in (
                ("/link/v1/enroll", b"{}", 403),
                ("/link/v1/notifications", None, 401),
            ):
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(found[1] + path, data=body, timeout=10)  # noqa: S310
                assert refused.value.code == status
                refused.value.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert (data / "hub.db").is_file() and (data / "journal.db").is_file()
        if insecure:
            assert process.stderr is not None and "insecure" in process.stderr.read().lower()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_hub_run_without_init_says_what_to_do(tmp_path: Path) -> None:
    done = _sceau("hub", "run", "--data", str(tmp_path / "nothing"), "--port", "0")
    assert done.returncode == 3
    assert "hub.yaml" in done.stderr and "sceau hub init" in done.stderr
