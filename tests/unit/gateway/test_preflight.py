"""``gateway.preflight``: the fixes name the settings file actually in use (gateway.yaml,
or a legacy gateway.json)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest

from gateway.errors import GatewayConfigError
from gateway.preflight import bind_problem, check_startup, port_problem
from gateway.settings import GatewaySettings

ORG = ("21930066200016", "93066")


def test_fixes_name_the_settings_file(tmp_path: Path) -> None:
    yaml = tmp_path / "gateway.yaml"
    taken = bind_problem("127.0.0.1", 8080, OSError(errno.EADDRINUSE, "in use"), settings_file=yaml)
    assert taken.fix.endswith(f"or choose another port with --port N (or lan_port in {yaml})")
    foreign = bind_problem("192.0.2.1", 8080, OSError(errno.EADDRNOTAVAIL, "x"), settings_file=yaml)
    assert foreign.fix == f"set lan_host in {yaml}, or pass --host"
    unknown = port_problem("no-such-host.invalid", 8080, settings_file=yaml)
    assert unknown is not None and unknown.fix == f"set lan_host in {yaml}, or pass --host"


def test_a_legacy_data_folder_is_told_about_its_gateway_json(tmp_path: Path) -> None:
    (tmp_path / "gateway.json").write_text("{}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        settings = GatewaySettings(tmp_path, *ORG, lan_port=port)
        with pytest.raises(GatewayConfigError) as caught:
            check_startup(settings)
    text = caught.value.diagnostics()
    assert f"127.0.0.1:{port} is already in use" in text
    assert f"(or lan_port in {tmp_path / 'gateway.json'})" in text
    assert "gateway.yaml" not in text
