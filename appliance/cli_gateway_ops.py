"""``sceau gateway doctor | backup | restore | metrics-token``: operating a gateway.

See docs/OPERATIONS.md. Registered in ``appliance.cli_gateway._SUBCOMMANDS``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from pathlib import Path

import click

from appliance.exit_codes import ExitCode, exit_code_for
from gateway.errors import GatewayError

PASSPHRASE_ENV = "SCEAU_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name, not a secret

_data = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gateway-data"),
    show_default=True,
    help="The gateway's data folder.",
)
_passphrase_file = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"Read the passphrase from this file (else ${PASSPHRASE_ENV}, else a prompt).",
)


def _fail(ctx: click.Context, exc: GatewayError, code: int | None = None) -> None:
    if ctx.find_root().params.get("verbose"):
        traceback.print_exception(exc, file=sys.stderr)
    click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
    ctx.exit(code if code is not None else exit_code_for(exc))


def _passphrase(path: Path | None, *, confirm: bool) -> str:
    if path is not None:
        return path.read_text("utf-8").rstrip("\r\n")
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    return str(click.prompt("backup passphrase", hide_input=True, confirmation_prompt=confirm))


@click.command("doctor")
@_data
@click.pass_context
def doctor(ctx: click.Context, data_dir: Path) -> None:
    """Check hub (mTLS), certificates, clock against the TSA, disk, permissions, journal."""
    from gateway.doctor import Severity, diagnose, exit_code

    try:
        findings = asyncio.run(diagnose(data_dir))
    except GatewayError as exc:
        _fail(ctx, exc)
        return
    colour = {Severity.OK: "green", Severity.WARN: "yellow", Severity.FAIL: "red"}
    for f in findings:
        click.secho(f"{f.severity.value:>4}  {f.check:<12} {f.detail}", fg=colour[f.severity])
        if f.fix and f.severity is not Severity.OK:
            click.echo(f"      {'':<12} fix: {f.fix}")
    code = exit_code(findings)
    click.echo("all checks passed" if code == 0 else f"problems found (exit {code})")
    ctx.exit(code)


@click.command("backup")
@_data
@click.option(
    "-o", "--out", "target", type=click.Path(dir_okay=False, path_type=Path), required=True
)
@_passphrase_file
@click.pass_context
def backup(ctx: click.Context, data_dir: Path, target: Path, passphrase_file: Path | None) -> None:
    """An encrypted archive of keys, settings, databases (online) and blobs; safe while running."""
    from gateway.backup import create_backup

    passphrase = _passphrase(passphrase_file, confirm=True)
    try:
        done = create_backup(data_dir, target, passphrase=passphrase)
    except GatewayError as exc:
        _fail(ctx, exc)
        return
    click.echo(
        f"backup of {data_dir} written to {target}: {done.databases} databases, "
        f"{done.files} files, {done.bytes_in / 2**20:.1f} MiB before encryption"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@_data
@_passphrase_file
@click.pass_context
def restore(
    ctx: click.Context, archive: Path, data_dir: Path, passphrase_file: Path | None
) -> None:
    """Unpack a backup into a new data folder, then verify its journal."""
    from gateway.backup import BackupCorrupt, restore_backup
    from gateway.doctor import Severity, check_journal
    from gateway.settings import GatewaySettings

    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        count = restore_backup(archive, data_dir, passphrase=passphrase)
        finding = check_journal(GatewaySettings.load(data_dir))
    except BackupCorrupt as exc:
        _fail(ctx, exc, ExitCode.VERIFICATION_FAILED)
        return
    except GatewayError as exc:
        _fail(ctx, exc)
        return
    click.echo(f"restored {count} entries into {data_dir}; journal: {finding.detail}")
    if finding.severity is Severity.FAIL:
        click.secho(
            f"error: the restored journal does not verify; {finding.fix}", fg="red", err=True
        )
        ctx.exit(ExitCode.VERIFICATION_FAILED)
    click.echo(
        f"next: sceau gateway doctor --data {data_dir}, then sceau gateway run --data {data_dir}"
    )


@click.command("metrics-token")
@_data
def metrics_token(data_dir: Path) -> None:
    """A new bearer token for scraping /metrics from another machine (replaces the old one)."""
    from gateway.metrics import create_metrics_token
    from gateway.settings import GatewaySettings

    paths = GatewaySettings.load(data_dir).paths
    click.echo(create_metrics_token(paths))
