"""``sceau gateway folders run``: one process's watched folders against a HubEE API.

The gateway runs its folder adapters itself (inside ``sceau gateway run``); this command
runs one alone, against any HubEE v1 API (a gateway's LAN API, or a hub), for testing
or for a machine that only shares folders::

    sceau gateway folders run --api http://gateway.lan:8443 --client-id ID \\
        --client-secret-file secret.txt --root /srv/hubee/CERTDC --process CERTDC --side OSL

It stops cleanly on SIGINT or SIGTERM; whatever was in flight resumes at the next start.
See docs/FOLDERS.md.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from appliance.exit_codes import ExitCode
from gateway.folders_adapter import FolderAdapter
from gateway.folders_api import ClientCredentials
from gateway.folders_errors import FolderError
from gateway.folders_settings import FolderSettings, Side


def read_secret(value: str | None, file: Path | None, *, what: str) -> str:
    """A secret from ``--x-secret``/its environment variable, or from ``--x-secret-file``."""
    if file is not None:
        try:
            secret = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.UsageError(f"cannot read {what} from {file}: {exc.strerror}") from None
    elif value:
        secret = value
    else:
        raise click.UsageError(f"give {what} with its option, its environment variable, or a file")
    if not secret:
        raise click.UsageError(f"{what} is empty")
    return secret


def run_until_signal(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main``; SIGINT/SIGTERM cancel it (a clean stop, not an error)."""

    async def supervised() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    asyncio.run(supervised())


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@click.group("folders")
def folders() -> None:
    """Watched folders: OUT/ → HubEE folders (OSL side), notified cases → IN/ (SI side)."""


@folders.command("run")
@click.option("--api", "api_url", required=True, help="Base URL of the HubEE API.")
@click.option("--client-id", required=True, help="OAuth2 client of this process and side.")
@click.option("--client-secret", envvar="SCEAU_CLIENT_SECRET", help="Or SCEAU_CLIENT_SECRET.")
@click.option(
    "--client-secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file holding the client secret (kept out of the process list).",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The process's folder: OUT/, IN/, SENT/, FAILED/ are created in it.",
)
@click.option("--process", "process_code", required=True, help="The process (démarche) code.")
@click.option("--side", type=click.Choice(["OSL", "SI"], case_sensitive=False), required=True)
@click.option("--scan-interval", type=float, default=2.0, show_default=True, help="Seconds.")
@click.option(
    "--settle",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds a dossier must not change.",
)
def run(
    api_url: str,
    client_id: str,
    client_secret: str | None,
    client_secret_file: Path | None,
    root: Path,
    process_code: str,
    side: str,
    scan_interval: float,
    settle: float,
) -> None:
    """Run the watched folders of one process until stopped."""
    secret = read_secret(client_secret, client_secret_file, what="the client secret")
    try:
        settings = FolderSettings(
            root=root,
            process_code=process_code,
            side=Side(side.upper()),
            scan_interval=scan_interval,
            settle_time=settle,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging()
    adapter = FolderAdapter(settings, api_url, ClientCredentials(client_id, secret))
    try:
        run_until_signal(adapter.run())
    except FolderError as exc:
        click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
        click.get_current_context().exit(ExitCode.CONFIGURATION)


if (
    __name__ == "__main__"
):  # python -m appliance.cli_gateway_folders run … (tests, before registration)
    folders()
