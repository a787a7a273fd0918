"""``sceau gateway``: set up, enroll and run a gateway; manage its LAN clients.

First boot::

    sceau gateway init --org 21930066200016/93066 --data /var/lib/sceau
    sceau gateway enroll --hub https://hub.example:8443 --token TOKEN --data /var/lib/sceau
    sceau gateway client add logiciel-etat-civil --process CERTDC --scope SI --data /var/lib/sceau
    sceau gateway run --data /var/lib/sceau

See docs/GATEWAY.md.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from appliance.exit_codes import exit_code_for
from appliance.logs import BIND_ERRNOS, log_format_option, start_logging
from gateway.errors import GatewayError
from gateway.identity import init_data_dir
from gateway.settings import GatewaySettings, parse_org
from hubee.errors import HubError
from hubee.model import Scope

T = TypeVar("T")

# Commands of other modules, imported on first use and listed only when present.
_SUBCOMMANDS = {
    "folders": ("appliance.cli_gateway_folders", "folders"),
    "webhooks": ("appliance.cli_gateway_webhooks", "webhooks"),
    "doctor": ("appliance.cli_gateway_ops", "doctor"),
    "backup": ("appliance.cli_gateway_ops", "backup"),
    "restore": ("appliance.cli_gateway_ops", "restore"),
    "metrics-token": ("appliance.cli_gateway_ops", "metrics_token"),
    "rotate-keys": ("appliance.cli_gateway_rotate", "rotate_keys"),
    "user": ("appliance.cli_gateway_console", "user"),
    "console": ("appliance.cli_gateway_console", "console"),
}


class GatewayGroup(click.Group):
    """Gateway and engine errors → a message and an exit code (tracebacks with --verbose)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        extra = [n for n, (m, _) in _SUBCOMMANDS.items() if importlib.util.find_spec(m)]
        return sorted({*super().list_commands(ctx), *extra})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SUBCOMMANDS and importlib.util.find_spec(_SUBCOMMANDS[cmd_name][0]):
            module, attr = _SUBCOMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (GatewayError, HubError) as exc:
            if ctx.find_root().params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
            ctx.exit(exit_code_for(exc))


def _data_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("gateway-data"),
        show_default=True,
        help="The gateway's data folder (keys, certificates, database, journal, blobs).",
    )(f)


def _run(work: Awaitable[T]) -> T:
    return asyncio.run(work)  # type: ignore[arg-type]


@click.group(cls=GatewayGroup)
def gateway() -> None:
    """The gateway: a HubEE API on the LAN, sealed and journaled exchanges with the hub."""


@gateway.command("init")
@_data_option
@click.option("--org", "org", required=True, help="The organisation: SIRET/BRANCH.")
@click.option("--hub", "hub_url", default=None, help="The hub's URL (also set by enroll).")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="LAN HOST:PORT.")
@click.option("--checkpoint-entries", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option(
    "--checkpoint-seconds", type=click.FloatRange(min=0.1), default=10.0, show_default=True
)
@click.option("--tsa", "tsa_url", default=None, help="An RFC 3161 TSA URL instead of the hub's.")
def init_cmd(
    data_dir: Path,
    org: str,
    hub_url: str | None,
    listen: str,
    checkpoint_entries: int,
    checkpoint_seconds: float,
    tsa_url: str | None,
) -> None:
    """Create the data folder: TLS, seal and journal keys (0600), CSRs, blob key."""
    register, branch = parse_org(org)
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise click.UsageError(f"--listen {listen!r}: write HOST:PORT")
    settings = GatewaySettings(
        data_dir,
        register,
        branch,
        hub_url=hub_url,
        lan_host=host,
        lan_port=int(port),
        checkpoint_entries=checkpoint_entries,
        checkpoint_seconds=checkpoint_seconds,
        tsa_url=tsa_url,
    )
    written = init_data_dir(settings)
    click.echo(f"gateway for {settings.org_key} initialised in {data_dir}")
    for path in written:
        click.echo(f"  {path}")
    click.echo("next: sceau gateway enroll --hub URL --token TOKEN --data " + str(data_dir))


@gateway.command("enroll")
@_data_option
@click.option("--hub", "hub_url", required=True, help="The hub's URL (https://…).")
@click.option("--token", required=True, help="The one-time enrollment token from the hub.")
@click.option(
    "--hub-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The hub CA certificate to check the hub against (else the system's trust store).",
)
def enroll_cmd(data_dir: Path, hub_url: str, token: str, hub_ca: Path | None) -> None:
    """Send the CSRs with the token; keep the certificates, pin the hub CA."""
    from gateway.enrollment import enroll

    settings = GatewaySettings.load(data_dir)
    done = _run(
        enroll(
            settings, hub_url=hub_url.rstrip("/"), token=token, hub_ca=hub_ca, now=datetime.now(UTC)
        )
    )
    click.echo(f"enrolled with {done.hub_url} as gateway {done.gateway_id} ({done.org_type} side)")
    click.echo(f"  time-stamps from {done.tsa_url}; hub CA pinned in {settings.paths.hub_ca}")


@gateway.command("run")
@_data_option
@click.option(
    "--host",
    default=None,
    help="LAN address (default: lan_host in the data folder's gateway.yaml).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="0: chosen by the system."
)
@log_format_option
def run_cmd(data_dir: Path, host: str | None, port: int | None, log_format: str | None) -> None:
    """Serve the LAN HubEE API and keep the link with the hub until stopped."""
    from gateway.preflight import check_startup

    start_logging(log_format)
    settings = GatewaySettings.load(data_dir)
    if host is not None:
        settings = replace(settings, lan_host=host)
    if port is not None:
        settings = replace(settings, lan_port=port)
    check_startup(settings)
    _run(_serve_until_stopped(settings))


async def _serve_until_stopped(settings: GatewaySettings) -> None:
    from gateway.preflight import bind_problem, raise_problems
    from gateway.service import GatewayService

    service = await GatewayService.open(settings)
    try:
        try:
            await service.start()
        except OSError as exc:  # taken between the preflight check and now
            if exc.errno not in BIND_ERRNOS:
                raise
            where = settings.paths.settings
            raise_problems(
                [bind_problem(settings.lan_host, settings.lan_port, exc, settings_file=where)]
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(
            f"gateway {settings.org_key} listening on http://{settings.lan_host}:{service.port} "
            f"(hub: {service.link.base})"
        )
        sys.stdout.flush()
        await stop.wait()
    finally:
        await service.close()


@gateway.group("client")
def client() -> None:
    """LAN clients (OAuth2 client credentials), one per démarche."""


@client.command("add")
@_data_option
@click.argument("name")
@click.option("--process", "process_code", required=True, help="The démarche code, e.g. CERTDC.")
@click.option("--scope", type=click.Choice(["SI", "OSL"]), required=True)
def client_add(data_dir: Path, name: str, process_code: str, scope: str) -> None:
    """Create a client; its secret is shown once, and stored only hashed."""
    from gateway.local_directory import add_client
    from gateway.runtime import GatewayRuntime

    settings = GatewaySettings.load(data_dir)

    async def main() -> Any:
        runtime = await GatewayRuntime.open(settings)
        try:
            return await add_client(
                runtime.services,
                runtime.store,
                name=name,
                company_register=settings.company_register,
                branch_code=settings.branch_code,
                process_code=process_code,
                scope=Scope(scope),
            )
        finally:
            await runtime.close()

    created = _run(main())
    click.echo(f"client {created.name} ({scope}, {process_code}) created")
    click.echo(f"  client_id:     {created.client.client_id}")
    click.echo(f"  client_secret: {created.secret}")
    click.echo("  the secret is shown only now; it is stored hashed")


@gateway.command("status")
@_data_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(data_dir: Path, as_json: bool) -> None:
    """Enrollment, certificates, a pending key rotation, queues, last checkpoint (TSA,
    witness), background tasks, last errors."""
    from gateway.runtime import GatewayRuntime
    from gateway.status import gateway_status

    settings = GatewaySettings.load(data_dir)

    async def main() -> dict[str, Any]:
        runtime = await GatewayRuntime.open(settings)
        try:
            return (await gateway_status(runtime)).to_json()
        finally:
            await runtime.close()

    found = _run(main())
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    for line, colour in status_lines(found):
        click.secho(line, fg=colour)


def status_lines(found: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``status --json``'s document as readable lines, each with its colour (None: plain)."""
    cps, out, enr = found["checkpoints"], found["outbox"], found["enrollment"]
    lines: list[tuple[str, str | None]] = [
        (f"gateway {found['organization']} ({found['side']} side)", None),
        (f"  enrollment   gateway {enr['gatewayId']} with {enr['hubUrl']}", None),
    ]
    for name, cert in sorted(found["certificates"].items()):
        warn = cert["warning"]
        note = "  RENEW SOON: sceau gateway rotate-keys or enroll again" if warn else ""
        lines.append(
            (
                f"  cert {name:<7} expires {cert['notAfter'][:10]}, {cert['daysLeft']:.0f} days left{note}",
                "yellow" if warn else None,
            )
        )
    rotation = found.get("rotation")
    if rotation:
        lines.append(
            (f"  key rotation {rotation['stage'].upper()}: {rotation['summary']}", "yellow")
        )
        lines.append((f"               to finish: {rotation['fix']}", "yellow"))
    lines.append(
        (
            f"  journal      {found['journal']['size']} entries, "
            f"{found['journal']['waitingInOutbox']} waiting",
            None,
        )
    )
    lines.append(
        (
            f"  checkpoints  {cps['total']}: {cps['unstamped']} not time-stamped, "
            f"{cps['unwitnessed']} not witnessed",
            None,
        )
    )
    latest = cps["latest"]
    if latest:
        tsa = "time-stamped" if latest["timeStamped"] else "NOT time-stamped"
        witness = "witnessed" if latest["witnessed"] else "NOT witnessed"
        ok = latest["timeStamped"] and latest["witnessed"]
        lines.append(
            (
                f"  last         size {latest['size']} at {latest['createdAt'][:19]}Z: {tsa}, {witness}",
                None if ok else "yellow",
            )
        )
    lines.append(
        (
            f"  to the hub   {out['pending']} pending, {out['failed']} refused, {out['done']} done",
            None,
        )
    )
    if out["lastError"]:
        lines.append((f"               last refusal or failure: {out['lastError']}", "yellow"))
    if found["webhooks"]["pending"] is not None:
        lines.append((f"  webhooks     {found['webhooks']['pending']} pending", None))
    for folder in found.get("folders", []):
        lines.append(
            (
                f"  folders      {folder['process']} ({folder['side']}): "
                f"{folder['sending']} sending, {folder['receiving']} receiving",
                None,
            )
        )
    for task in found.get("tasks", []):
        err = task["lastError"]
        if err is None:
            lines.append((f"  task         {task['name']}: no error recorded", None))
            continue
        state = f"recovered {err['clearedAt'][:19]}" if err["clearedAt"] else "CURRENT"
        lines.append(
            (
                f"  task         {task['name']}: last error at {err['at'][:19]} ({state}): "
                f"{err['message']}",
                None if err["clearedAt"] else "red",
            )
        )
    lines.append((f"  feed cursor  {found['feed']['cursor']}", None))
    errors = found["errors"]
    if not errors:
        lines.append(("  last error   none recorded", None))
    for source, err in sorted(errors.items(), key=lambda kv: kv[1]["at"], reverse=True):
        state = f"recovered {err['clearedAt'][:19]}" if err["clearedAt"] else "CURRENT"
        lines.append(
            (
                f"  last error   {source} at {err['at'][:19]} ({state}): {err['message']}",
                None if err["clearedAt"] else "red",
            )
        )
    return lines
