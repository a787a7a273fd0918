"""The ``sceau`` command line: one place turns errors into messages and exit codes."""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

import click

from appliance.exit_codes import ExitCode, exit_code_for
from trust.errors import TrustError

# Subcommands are imported on first use: `sceau verify` need not load the hub.
_COMMANDS = {
    "demo": ("appliance.cli_demo", "demo"),
    "evidence": ("appliance.cli_evidence", "evidence"),
    "gateway": ("appliance.cli_gateway", "gateway"),
    "hub": ("appliance.cli_hub", "hub"),
    "verify": ("appliance.cli_verify", "verify"),
}


class SceauGroup(click.Group):
    """Runs a command, translating errors to DESIGN.md exit codes.

    Tracebacks appear only with ``--verbose``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module, attr = _COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except TrustError as exc:
            _report(ctx, exc, exc.diagnostics())
            ctx.exit(exit_code_for(exc))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            _report(
                ctx,
                exc,
                f"internal error: {type(exc).__name__}: {exc}\n  → rerun with --verbose and report it",
            )
            ctx.exit(ExitCode.INTERNAL)


def _report(ctx: click.Context, exc: BaseException, text: str) -> None:
    root = ctx.find_root()
    if root.params.get("verbose"):
        traceback.print_exception(exc, file=sys.stderr)
    click.secho(f"error: {text}", fg="red", err=True)


@click.group(cls=SceauGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and debug output.")
@click.version_option(package_name="sceau")
def main(verbose: bool) -> None:
    """Sceau: secure exchange gateway with seals, RFC 3161 time and a Merkle journal."""
