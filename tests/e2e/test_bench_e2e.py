"""``bench/bench_e2e.py`` in its tiny mode, so the benchmark cannot rot: a real hub and two
real gateways, three dossiers of each size notified at the SI side, a 1 MB attachment
back with its digest checked, and every figure present. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_e2e.py"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_end_to_end_bench_runs_in_its_tiny_mode(tmp_path: Path) -> None:
    out = tmp_path / "e2e.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--out", str(out), "--tmp", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(out.read_text(encoding="utf-8"))
    results = found["results"]
    assert "si_client_errors" not in results
    for name in ("burst_10KB", "burst_1MB"):
        assert results[name]["dossiers"] == 3
        assert results[name]["dossiers_per_s"] > 0
        assert set(results[name]["cpu_ms_per_dossier"]) == {
            "hub",
            "osl_gateway",
            "si_gateway",
            "load_generator",
        }
    assert results["burst_1MB"]["attachment_bytes"] == 1024 * 1024
    latency = results["latency_10KB"]
    assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    big = results["big_attachment"]
    assert big["bytes"] == 1024 * 1024 and big["digest_checked"] is True
    assert set(big["peak_rss_MB"]) == {"hub", "osl_gateway", "si_gateway"}
    assert all(rss > 10 for rss in big["peak_rss_MB"].values())
    assert set(found["limits"]) == {
        "sha256_MB_per_s",
        "p256_signs_per_s",
        "fsyncs_per_s",
        "durable_dossiers_per_s",
    }
    assert len(found["load_average_before"]) == 3
    assert "dossiers/s end to end" in done.stdout and "p99" in done.stdout
    assert not list(tmp_path.glob("sceau-bench-e2e-*")), "the data folders are removed"
