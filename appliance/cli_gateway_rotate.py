"""``sceau gateway rotate-keys``: new TLS and seal keys, certified by the hub, switched.

Stop the service first (the command refuses to switch beside a running one), run the
command, start the service again. Any failure leaves a working gateway (old pair, or
new pair once switched); running the command again resumes. See docs/KEYS.md.
Registered in ``appliance.cli_gateway._SUBCOMMANDS``.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import click

from appliance.exit_codes import exit_code_for
from gateway.errors import GatewayError
from gateway.rotation import RotationStep
from gateway.rotation import rotate_keys as rotate
from gateway.settings import GatewaySettings


@click.command("rotate-keys")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gateway-data"),
    show_default=True,
    help="The gateway's data folder.",
)
@click.pass_context
def rotate_keys(ctx: click.Context, data_dir: Path) -> None:
    """New TLS and seal keys: certified by the hub, switched, the old ones retired."""
    try:
        settings = GatewaySettings.load(data_dir)
        report = asyncio.run(rotate(settings, now=datetime.now(UTC)))
    except GatewayError as exc:
        if ctx.find_root().params.get("verbose"):
            traceback.print_exception(exc, file=sys.stderr)
        click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
        ctx.exit(exit_code_for(exc))
        return
    if RotationStep.CERTIFIED in report.steps:
        click.echo("new keys certified by the hub")
    if report.archive is not None:
        click.echo(f"switched; the replaced keys are kept in {report.archive}")
    retired = ", ".join(report.retired_serials) or "none left"
    click.echo(f"rotation completed with the hub; retired certificates: {retired}")
    click.echo(f"  TLS certificate  {report.tls_serial}")
    click.echo(f"  seal certificate {report.seal_serial}")
    click.echo("next: start the gateway service (it loads the new keys)")
