"""``sceau gateway user …`` and ``sceau gateway console url`` on a real data folder."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from appliance.cli import main
from gateway.console.accounts import Accounts, SignInOutcome
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from tests.integration.console.support import si_settings


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _check(data: Path, login: str, password: str) -> SignInOutcome:
    async def go() -> SignInOutcome:
        runtime = await GatewayRuntime.open(GatewaySettings.load(data))
        try:
            found = await Accounts(runtime.store).authenticate(
                login, password, now=datetime.now(UTC), max_failures=5, lockout=timedelta(minutes=1)
            )
            return found.outcome
        finally:
            await runtime.close()

    return asyncio.run(go())


def test_users_are_added_listed_reset_and_disabled(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    si_settings(data)
    added = _run(
        "gateway", "user", "add", "marie", "--data", str(data), "--name", "Marie Curie",
        "--role", "agent", "--process", "CERTDC", "--process", "ETATCIVIL",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    password = re.search(r"password: (\S+)", added.output)
    assert password is not None and "shown only now" in added.output
    assert _check(data, "marie", password.group(1)) is SignInOutcome.OK

    file = tmp_path / "it-password.txt"
    file.write_text("a long enough admin password\n")
    admin = _run(
        "gateway", "user", "add", "it", "--data", str(data), "--name", "Service informatique",
        "--role", "admin", "--password-file", str(file),
    )  # fmt: skip
    assert admin.exit_code == 0 and "password:" not in admin.output
    assert _check(data, "it", "a long enough admin password") is SignInOutcome.OK

    twice = _run("gateway", "user", "add", "marie", "--data", str(data), "--name", "X", "--role", "agent", "--process", "CERTDC")  # fmt: skip
    assert twice.exit_code == 3 and "exists" in twice.output
    bad = _run("gateway", "user", "add", "it2", "--data", str(data), "--name", "X", "--role", "admin", "--process", "CERTDC")  # fmt: skip
    assert bad.exit_code != 0 and "gateway-wide" in bad.output

    listed = _run("gateway", "user", "list", "--data", str(data))
    assert listed.exit_code == 0
    assert "marie\tMarie Curie\tagent:CERTDC, agent:ETATCIVIL\tactive" in listed.output
    assert "it\tService informatique\tadmin:*\tactive" in listed.output
    assert password.group(1) not in listed.output

    reset = _run("gateway", "user", "reset-password", "marie", "--data", str(data))
    fresh = re.search(r"password: (\S+)", reset.output)
    assert reset.exit_code == 0 and fresh is not None
    assert _check(data, "marie", password.group(1)) is SignInOutcome.BAD_CREDENTIALS
    assert _check(data, "marie", fresh.group(1)) is SignInOutcome.OK

    disabled = _run("gateway", "user", "disable", "marie", "--data", str(data))
    assert disabled.exit_code == 0
    assert _check(data, "marie", fresh.group(1)) is SignInOutcome.BAD_CREDENTIALS
    assert "disabled" in _run("gateway", "user", "list", "--data", str(data)).output

    url = _run("gateway", "console", "url", "--data", str(data))
    assert url.exit_code == 0 and url.output.strip() == "http://127.0.0.1:8080/console/"
