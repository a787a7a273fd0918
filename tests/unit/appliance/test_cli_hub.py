"""``sceau hub``: the directory commands, their messages and exit codes."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from appliance.cli import main
from appliance.exit_codes import ExitCode
from hubee.credentials import Authenticator
from hubee.model import utc_now
from hubee.services import HubDeps
from hubee.settings import HubSettings

SAINT_DENIS = "21930066200016/93066"
DGS = "11000201100044/DGS"


def sceau(data: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["hub", *args[:2], "--data", str(data), *args[2:]])


def opened(data: Path) -> Result:
    """A hub with DGS, Saint-Denis and CERTDC, and Saint-Denis opened to CERTDC."""
    assert (
        sceau(
            data,
            "org",
            "add",
            "--type",
            "OSL",
            "--siret",
            "11000201100044",
            "--branch",
            "DGS",
            "--name",
            "DGS",
        ).exit_code
        == 0
    )
    assert (
        sceau(
            data,
            "org",
            "add",
            "--type",
            "SI",
            "--siret",
            "21930066200016",
            "--branch",
            "93066",
            "--name",
            "Commune de Saint-Denis",
        ).exit_code
        == 0
    )
    assert (
        sceau(
            data,
            "process",
            "add",
            "--code",
            "CERTDC",
            "--name",
            "Certificat de décès",
            "--osl",
            DGS,
            "--archiving-days",
            "10",
        ).exit_code
        == 0
    )
    return sceau(
        data,
        "subscription",
        "add",
        "--org",
        SAINT_DENIS,
        "--process",
        "CERTDC",
        "--local-admin",
        "etat-civil@ville-saint-denis.fr",
    )


def test_opening_a_beneficiary_takes_one_command(tmp_path: Path) -> None:
    data = tmp_path / "hub-data"
    result = opened(data)
    assert result.exit_code == 0, result.output
    assert "21930066200016/93066 → CERTDC (Actif)" in result.output
    assert oct(data.stat().st_mode)[-3:] == "700"  # the data folder is the hub's alone
    listed = sceau(data, "subscription", "list")
    assert "CERTDC" in listed.output and "Actif" in listed.output
    assert "Commune de Saint-Denis" in sceau(data, "org", "list").output
    assert "archive +10d" in sceau(data, "process", "list").output

    suspended = sceau(
        data, "subscription", "set-status", "Suspendu", "--org", SAINT_DENIS, "--process", "CERTDC"
    )
    assert suspended.exit_code == 0 and "(Suspendu)" in suspended.output
    illegal = sceau(
        data, "subscription", "set-status", "Inactif", "--org", SAINT_DENIS, "--process", "CERTDC"
    )
    assert illegal.exit_code == ExitCode.USAGE
    assert "subscription-lifecycle" in illegal.output and "Traceback" not in illegal.output


def test_client_secret_is_printed_once_and_works(tmp_path: Path) -> None:
    data = tmp_path / "hub-data"
    opened(data)
    result = sceau(data, "client", "add", "--org", SAINT_DENIS, "--process", "CERTDC")
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client_id:\s+(\S+)", result.output)
    secret = re.search(r"client_secret:\s+(\S+)", result.output)
    assert client_id and secret and "scope:         SI" in result.output

    async def check() -> str:
        deps = await asyncio.to_thread(HubDeps.open, HubSettings(data_dir=data))
        try:
            auth = Authenticator(deps.store, ttl=timedelta(minutes=1))
            grant = await auth.grant(
                client_id=client_id[1], secret=secret[1], scope="SI", now=utc_now()
            )
            principal = await auth.authenticate(grant.access_token, now=utc_now())
            return principal.org.ref.key
        finally:
            await deps.close()

    assert asyncio.run(check()) == SAINT_DENIS
    stored = b"".join(p.read_bytes() for p in data.glob("hub.db*"))
    assert secret[1].encode() not in stored


def test_errors_become_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "hub-data"
    opened(data)
    again = sceau(
        data, "org", "add", "--type", "SI", "--siret", "21930066200016", "--branch", "93066"
    )
    assert again.exit_code == ExitCode.USAGE and "already exists" in again.output
    bad_siret = sceau(data, "org", "add", "--type", "SI", "--siret", "123", "--branch", "1")
    assert bad_siret.exit_code == ExitCode.USAGE and "companyRegister" in bad_siret.output
    bad_key = sceau(data, "client", "add", "--org", "21930066200016")
    assert bad_key.exit_code == ExitCode.USAGE and "SIRET/BRANCH" in bad_key.output
    unknown = sceau(
        data,
        "subscription",
        "add",
        "--org",
        "21930048000016/93048",
        "--process",
        "CERTDC",
        "--local-admin",
        "x@montreuil.fr",
    )
    assert unknown.exit_code == ExitCode.USAGE and "no organization" in unknown.output
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "hub.db").write_bytes(b"not a database" * 100)
    broken = sceau(corrupt, "org", "list")
    assert broken.exit_code == ExitCode.CONFIGURATION, broken.output
    assert "hub database" in broken.output and "Check the data directory" in broken.output
    missing = CliRunner().invoke(main, ["hub", "subscription", "set-status", "Actif"])
    assert missing.exit_code == ExitCode.USAGE and "--org and --process" in missing.output


def test_purge_runs_as_of_a_given_time(tmp_path: Path) -> None:
    data = tmp_path / "hub-data"
    opened(data)
    result = CliRunner().invoke(
        main, ["hub", "purge", "--data", str(data), "--now", "2030-01-01T00:00:00"]
    )
    assert result.exit_code == 0 and "folders_deleted: 0" in result.output
    bad = CliRunner().invoke(main, ["hub", "purge", "--data", str(data), "--now", "soon"])
    assert bad.exit_code == ExitCode.USAGE and "ISO 8601" in bad.output
