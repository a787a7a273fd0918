"""``sceau demo`` as a newcomer runs it: a subprocess, exit 0, and the summary."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appliance.demo_cast import DOSSIERS


def _sceau(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "160"},
        check=False,
    )


@pytest.mark.timeout(180)
def test_the_exchange_demo_runs_green_with_its_summary() -> None:
    done = _sceau("demo", timeout=170)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    out = done.stdout
    assert "4 gateways enrolled and running" in out
    assert "Dossiers, end to end" in out
    for dossier in DOSSIERS:
        row = next(line for line in out.splitlines() if dossier.external_id in line)
        assert dossier.process in row and dossier.decision in row
        assert "✓ 2/2, 6/6 checks" in row and " ms " in row
    assert "refused with « dossier incomplet" in out
    assert "all dossiers exchanged and every bundle verified in" in out


@pytest.mark.timeout(120)
def test_the_trust_only_demo_still_runs_green() -> None:
    done = _sceau("demo", "--trust-only", timeout=110)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "all evidence verified" in done.stdout
