"""A bad settings file stops ``sceau gateway run`` and ``sceau hub run`` as real processes
with exit code 3 and a message naming file, line and key, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _sceau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_gateway_run_with_a_bad_config_exits_3_naming_the_line(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    made = _sceau("gateway", "init", "--org", "21930066200016/93066", "--data", str(data))
    assert made.returncode == 0, made.stderr
    config = data / "gateway.yaml"
    text = config.read_text().replace("lan_port: 8080", "lan_prot: 8080")
    config.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("lan_prot:"))
    done = _sceau("gateway", "run", "--data", str(data))
    assert done.returncode == 3, done.stderr
    assert f'gateway.yaml:{line}:1: unknown key "lan_prot" (did you mean "lan_port"?)' in (
        done.stderr
    )
    assert "Traceback" not in done.stderr + done.stdout
    config.write_text(text.replace("lan_prot: 8080", "lan_port: {8080"))
    broken = _sceau("gateway", "run", "--data", str(data))
    assert broken.returncode == 3 and "YAML syntax error" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_hub_run_with_a_bad_config_exits_3_naming_the_line(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    made = _sceau("hub", "init", "--data", str(data), "--host", "127.0.0.1")
    assert made.returncode == 0, made.stderr
    config = data / "hub.yaml"
    text = config.read_text().replace("certificate_days: 825", "certificate_days: -1")
    config.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("certificate_days"))
    done = _sceau("hub", "run", "--data", str(data), "--port", "0")
    assert done.returncode == 3, done.stderr
    assert f"hub.yaml:{line}:19: certificate_days: expected an integer ≥ 1, got -1" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
