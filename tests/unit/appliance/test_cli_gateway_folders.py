"""``sceau gateway folders run`` and ``sceau gateway webhooks run``: arguments and exit codes.

(Running them end to end is tests/integration/gateway_folders/test_crash.py.)
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from appliance.cli_gateway_folders import folders
from appliance.cli_gateway_webhooks import webhooks
from appliance.exit_codes import ExitCode
from tests.loopback_http import closed_port


def _folders(*args: str) -> list[str]:
    return ["run", "--api", f"http://127.0.0.1:{closed_port()}", "--client-id", "c1", *args]


def test_a_secret_is_required_and_read_from_a_file(tmp_path: Path) -> None:
    root = ["--root", str(tmp_path / "r"), "--process", "CERTDC", "--side", "OSL"]
    missing = CliRunner().invoke(folders, _folders(*root), env={"SCEAU_CLIENT_SECRET": ""})
    assert missing.exit_code == ExitCode.USAGE
    assert "give the client secret" in missing.output
    empty = tmp_path / "empty.secret"
    empty.write_text("\n")
    refused = CliRunner().invoke(folders, _folders(*root, "--client-secret-file", str(empty)))
    assert refused.exit_code == ExitCode.USAGE and "the client secret is empty" in refused.output
    unreadable = CliRunner().invoke(
        folders, _folders(*root, "--client-secret-file", str(tmp_path / "absent"))
    )
    assert (
        unreadable.exit_code == ExitCode.USAGE
        and "cannot read the client secret" in unreadable.output
    )


def test_bad_settings_are_usage_errors_and_a_bad_root_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    root = ["--process", "CERTDC", "--side", "SI", "--client-secret", "s"]
    bad = CliRunner().invoke(
        folders, _folders("--root", str(tmp_path), *root, "--scan-interval", "0")
    )
    assert bad.exit_code == ExitCode.USAGE and "scan_interval must be positive" in bad.output
    side = CliRunner().invoke(
        folders, _folders("--root", str(tmp_path), "--process", "X", "--side", "BOTH")
    )
    assert side.exit_code == ExitCode.USAGE
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    broken = CliRunner().invoke(folders, _folders("--root", str(blocker / "CERTDC"), *root))
    assert broken.exit_code == ExitCode.CONFIGURATION
    assert "cannot prepare the watched folders" in broken.output
    assert "Check the path" in broken.output


def test_webhook_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    base = ["run", "--api", "http://127.0.0.1:1", "--client-id", "c1", "--client-secret", "s"]
    db = ["--db", str(tmp_path / "q.db")]
    short = CliRunner().invoke(
        webhooks, [*base, "--url", "http://app.lan/h", "--secret", "short", *db]
    )
    assert short.exit_code == ExitCode.USAGE and "at least 16 bytes" in short.output
    scheme = CliRunner().invoke(
        webhooks, [*base, "--url", "file:///etc/passwd", "--secret", "x" * 32, *db]
    )
    assert scheme.exit_code == ExitCode.USAGE and "must be http(s)" in scheme.output
    assert not (tmp_path / "q.db").exists()
