"""``sceau gateway run`` and ``sceau hub run`` as real processes, started wrong: the port
taken, bad permissions, a missing key or certificate, a bad ``$SCEAU_LOG_FORMAT``. Each
exits 3 with a message that names the fault and its fix, and never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SCEAU = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "sceau")
NOBODY = 65534


def _sceau(*args: str, log_format: str = "json") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCEAU_LOG_FORMAT": log_format}
    return subprocess.run(
        [SCEAU, *args], capture_output=True, text=True, check=False, timeout=120, env=env
    )


def _refused(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    for text in expected:
        assert text in done.stderr, (text, done.stderr)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    data = tmp_path / "hub"
    made = _sceau("hub", "init", "--data", str(data), "--host", "127.0.0.1")
    assert made.returncode == 0, made.stderr
    return data


def test_gateway_port_taken(gateway_dir: Path, taken_port: int) -> None:
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", str(taken_port))
    _refused(done, f"127.0.0.1:{taken_port} is already in use", "--port N")


def test_gateway_key_readable_by_others(gateway_dir: Path) -> None:
    key = gateway_dir / "keys" / "seal.key"
    key.chmod(0o644)
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", "0")
    _refused(done, f"{key} is readable by group or others (mode 0644)", "chmod 600")


def test_gateway_keys_folder_open(gateway_dir: Path) -> None:
    (gateway_dir / "keys").chmod(0o755)
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", "0")
    _refused(done, "keys is readable by group or others (mode 0755)", "chmod 700")


def test_gateway_data_folder_of_another_user(gateway_dir: Path) -> None:
    os.chown(gateway_dir, NOBODY, -1)
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", "0")
    _refused(done, f"belongs to uid {NOBODY}", f"chown -R {os.geteuid()} {gateway_dir}")


def test_gateway_missing_certificate(gateway_dir: Path) -> None:
    (gateway_dir / "certs" / "tls.pem").unlink()
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", "0")
    _refused(done, "tls.pem is missing", "sceau gateway enroll --hub URL --token TOKEN")


def test_gateway_missing_key(gateway_dir: Path) -> None:
    (gateway_dir / "keys" / "journal.key").unlink()
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", "0")
    _refused(done, "journal.key is missing", "sceau gateway restore")


def test_gateway_not_enrolled(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    made = _sceau("gateway", "init", "--org", "21930066200016/93066", "--data", str(data))
    assert made.returncode == 0, made.stderr
    done = _sceau("gateway", "run", "--data", str(data), "--port", "0")
    _refused(
        done,
        "not enrolled with a hub yet",
        f"sceau gateway enroll --hub URL --token TOKEN --data {data}",
    )


def test_gateway_all_faults_at_once(gateway_dir: Path, taken_port: int) -> None:
    (gateway_dir / "keys" / "tls.key").chmod(0o640)
    (gateway_dir / "certs" / "seal.pem").unlink()
    done = _sceau("gateway", "run", "--data", str(gateway_dir), "--port", str(taken_port))
    _refused(
        done,
        "tls.key is readable",
        "seal.pem is missing",
        "is already in use",
        f"(or lan_port in {gateway_dir / 'gateway.yaml'})",
    )


def test_hub_port_taken(hub_dir: Path, taken_port: int) -> None:
    done = _sceau("hub", "run", "--data", str(hub_dir), "--port", str(taken_port))
    _refused(done, f"127.0.0.1:{taken_port} is already in use", "--port N")


def test_hub_key_readable_by_others(hub_dir: Path) -> None:
    (hub_dir / "keys" / "tsa.key").chmod(0o644)
    done = _sceau("hub", "run", "--data", str(hub_dir), "--port", "0")
    _refused(done, "tsa.key is readable by group or others (mode 0644)", "chmod 600")


def test_hub_data_folder_of_another_user(hub_dir: Path) -> None:
    os.chown(hub_dir, NOBODY, -1)
    done = _sceau("hub", "run", "--data", str(hub_dir), "--port", "0")
    _refused(done, f"belongs to uid {NOBODY}", f"chown -R {os.geteuid()} {hub_dir}")


def test_hub_missing_certificate(hub_dir: Path) -> None:
    (hub_dir / "keys" / "tls.pem").unlink()
    done = _sceau("hub", "run", "--data", str(hub_dir), "--port", "0")
    _refused(done, "tls.pem is missing", "restore")


def test_hub_never_initialised(tmp_path: Path) -> None:
    done = _sceau("hub", "run", "--data", str(tmp_path / "nothing"), "--port", "0")
    _refused(done, "hub.yaml", "sceau hub init")


@pytest.mark.parametrize("service", ["gateway", "hub"])
def test_a_bad_log_format_variable_is_a_configuration_error(service: str, tmp_path: Path) -> None:
    done = _sceau(service, "run", "--data", str(tmp_path / "none"), log_format="xml")
    _refused(
        done,
        "$SCEAU_LOG_FORMAT='xml' is not a log format",
        "the allowed values are json or text",
        "set SCEAU_LOG_FORMAT to json or text, or unset it",
    )
    assert not (tmp_path / "none").exists()  # refused before anything was opened
    # The option itself stays a usage error (click's choice: exit 2).
    usage = _sceau(service, "run", "--data", str(tmp_path), "--log-format", "xml")
    assert usage.returncode == 2 and "'xml' is not one of 'json', 'text'" in usage.stderr
