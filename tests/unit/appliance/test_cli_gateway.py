"""``sceau gateway`` (init, client add, status) and ``sceau evidence export``: files,
messages and exit codes. Enrollment itself is exercised against a real hub in
tests/integration/gateway/."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from appliance.cli import main
from appliance.exit_codes import ExitCode
from tests.unit.gateway.support import DGS, HubPki, enroll_offline


def sceau(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_init_writes_private_keys_and_refuses_to_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    done = sceau("gateway", "init", "--org", "21930066200016/93066", "--data", str(data))
    assert done.exit_code == 0, done.output
    for key in ("tls.key", "seal.key", "journal.key", "blob.key"):
        assert stat.S_IMODE((data / "keys" / key).stat().st_mode) == 0o600
    assert (data / "certs" / "tls.csr").read_text().startswith("-----BEGIN CERTIFICATE REQUEST")
    settings = yaml.safe_load((data / "gateway.yaml").read_text())
    assert settings["company_register"] == "21930066200016" and settings["lan_port"] == 8080
    again = sceau("gateway", "init", "--org", "21930066200016/93066", "--data", str(data))
    assert again.exit_code == ExitCode.CONFIGURATION and "already holds a gateway" in again.output
    bad = sceau("gateway", "init", "--org", "2193/93066", "--data", str(tmp_path / "x"))
    assert bad.exit_code == ExitCode.CONFIGURATION and "SIRET/BRANCH" in bad.output


def test_commands_need_an_enrolled_gateway(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    sceau("gateway", "init", "--org", "21930066200016/93066", "--data", str(data))
    status = sceau("gateway", "status", "--data", str(data))
    assert status.exit_code == ExitCode.CONFIGURATION and "enroll" in status.output
    (data / "gateway.yaml").write_text(
        'company_register: "21930066200016"\nbranch_code: "93066"\ncolour: blue\n'
    )
    odd = sceau("gateway", "status", "--data", str(data))
    assert odd.exit_code == ExitCode.CONFIGURATION
    assert 'gateway.yaml:3:1: unknown key "colour"' in odd.output
    missing = sceau("gateway", "status", "--data", str(tmp_path / "none"))
    assert missing.exit_code == ExitCode.CONFIGURATION


def test_client_add_shows_the_secret_once_and_status_reports(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "dgs", HubPki.create(), DGS, "OSL")
    data = str(settings.data_dir)
    added = sceau(
        "gateway",
        "client",
        "add",
        "logiciel-dgs",
        "--process",
        "CERTDC",
        "--scope",
        "OSL",
        "--data",
        data,
    )
    assert added.exit_code == 0, added.output
    secret = next(line.split()[-1] for line in added.output.splitlines() if "client_secret" in line)
    assert (
        len(secret) >= 40 and secret.encode() not in (settings.data_dir / "gateway.db").read_bytes()
    )
    twice = sceau(
        "gateway",
        "client",
        "add",
        "logiciel-dgs",
        "--process",
        "CERTDC",
        "--scope",
        "OSL",
        "--data",
        data,
    )
    assert twice.exit_code == ExitCode.CONFIGURATION and "exists" in twice.output
    wrong_side = sceau(
        "gateway", "client", "add", "other", "--process", "CERTDC", "--scope", "SI", "--data", data
    )
    assert wrong_side.exit_code == ExitCode.CONFIGURATION and "is OSL, not SI" in wrong_side.output
    status = sceau("gateway", "status", "--json", "--data", data)
    assert status.exit_code == 0, status.output
    found = json.loads(status.output)
    assert found["side"] == "OSL" and found["outbox"]["pending"] == 0
    assert found["checkpoints"]["unstamped"] == 0
    unknown = sceau(
        "evidence",
        "export",
        "6f1c0f9e-8f7a-4d0e-9a53-0d5f1e2b7c11",
        "-o",
        str(tmp_path / "x.asice"),
        "--data",
        data,
    )
    assert unknown.exit_code == ExitCode.USAGE and "no sealed dossier" in unknown.output
