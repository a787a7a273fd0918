"""``sceau hub init|run|enrollment-token|gateway|witness``: the hub's identity, serving
over TLS, and the gateways that enroll with it.

First boot::

    sceau hub init --data /var/lib/sceau-hub --name hub.example.fr --host hub.example.fr
    sceau hub run --data /var/lib/sceau-hub --host 0.0.0.0 --port 8443
    sceau hub enrollment-token 21930066200016/93066     # give it to the commune's gateway

The settings live in ``<data>/hub.yaml`` (written by ``init``); command-line options
override them for one run.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from appliance.exit_codes import ExitCode
from appliance.logs import BIND_ERRNOS, log_format_option, start_logging
from hub.admin import HubAdmin
from hub.app import serve_hub
from hub.config_file import load_hub_config, render_hub_yaml
from hub.errors import HubConfigError
from hub.identity import DEFAULT_HOSTS, create_identity
from hub.preflight import bind_problem, check_startup, raise_problems
from hub.runtime import HubRuntime
from hub.settings import HubConfig
from hubee.errors import ValidationFailed

T = TypeVar("T")


def load_config(data_dir: Path) -> HubConfig:
    """``<data>/hub.yaml`` as settings; refused when missing or wrong, naming file, line
    and key (:mod:`hub.config_file`)."""
    return load_hub_config(data_dir)


def _data_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("hub-data"),
        show_default=True,
        help="The hub's data folder.",
    )(f)


def _with_admin(data_dir: Path, work: Callable[[HubAdmin], Awaitable[T]]) -> T:
    async def main() -> T:
        admin = await HubAdmin.open(load_config(data_dir))
        try:
            return await work(admin)
        finally:
            await admin.close()

    return asyncio.run(main())


@click.command("init")
@_data_option
@click.option(
    "--name", default="sceau-hub", show_default=True, help="Journal origin and key names."
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="A DNS name or IP address for the TLS certificate (repeat; default: localhost, "
    "127.0.0.1, ::1).",
)
@click.option("--public-url", default=None, help="https://host:port gateways reach the hub at.")
def init(data_dir: Path, name: str, hosts: tuple[str, ...], public_url: str | None) -> None:
    """Create the hub's CA, TLS, TSA, witness and journal keys, and its settings file."""
    config = HubConfig(data_dir=data_dir, name=name, public_url=public_url)
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HubConfigError(f"cannot create {data_dir}: {exc.strerror}") from exc
    identity = create_identity(config, hosts=hosts or DEFAULT_HOSTS)
    if not config.settings_path.exists():
        config.settings_path.write_text(render_hub_yaml(config), encoding="utf-8")
    click.echo(f"hub initialised in {data_dir}")
    click.echo(f"  enrollment CA:    {config.keys_dir / 'ca.pem'}")
    click.echo(f"  CA SHA-256:       {identity.ca_fingerprint}")
    click.echo(f"  TLS names:        {', '.join(hosts or DEFAULT_HOSTS)}")
    click.echo(f"  witness key:      {identity.witness_key.encode()}")
    click.echo(f"  journal key:      {identity.journal_key.encode()}")
    click.echo(f"  settings:         {config.settings_path}")


@click.command("run")
@_data_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8443,
    show_default=True,
    help="0: let the system choose (the bound port is printed).",
)
@click.option("--token-ttl", type=click.IntRange(min=1), default=None, help="Seconds.")
@click.option("--max-attachment-bytes", type=click.IntRange(min=1), default=None)
@click.option("--require-digest", is_flag=True, default=None, help="Refuse uploads without digest.")
@click.option(
    "--insecure-http",
    is_flag=True,
    help="UNSAFE, for tests: plain HTTP; the link API then refuses every call.",
)
@log_format_option
def run(
    data_dir: Path,
    host: str,
    port: int,
    token_ttl: int | None,
    max_attachment_bytes: int | None,
    require_digest: bool | None,
    insecure_http: bool,
    log_format: str | None,
) -> None:
    """Serve the hub over TLS: HubEE API v1, link API (mTLS), /tsa, /metrics, /healthz, /readyz."""
    start_logging(log_format)
    config = load_config(data_dir)
    check_startup(config, host=host, port=port)
    overrides: dict[str, Any] = {}
    if token_ttl is not None:
        overrides["token_ttl"] = timedelta(seconds=token_ttl)
    if max_attachment_bytes is not None:
        overrides["max_attachment_bytes"] = max_attachment_bytes
    if require_digest:
        overrides["require_digest"] = True
    config = config.with_overrides(**overrides)
    if insecure_http:
        click.secho(
            "warning: --insecure-http: no TLS, the link API is unusable", fg="yellow", err=True
        )
    try:
        asyncio.run(_serve_until_stopped(config, host, port, insecure_http))
    except OSError as exc:  # taken between the preflight check and now
        if exc.errno not in BIND_ERRNOS:
            raise
        raise_problems([bind_problem(host, port, exc)])


async def _serve_until_stopped(config: HubConfig, host: str, port: int, insecure: bool) -> None:
    runtime = await HubRuntime.open(config)
    try:
        runner, bound = await serve_hub(runtime, host=host, port=port, insecure_http=insecure)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheme = "http" if insecure else "https"
        click.echo(f"hub listening on {scheme}://{host}:{bound} (data: {config.data_dir})")
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        await runtime.close()


def _org_key(value: str) -> tuple[str, str]:
    siret, sep, branch = value.partition("/")
    if not sep:
        raise ValidationFailed("ORG", f"{value!r}: write SIRET/BRANCH, e.g. 21930066200016/93066")
    return siret.strip(), branch.strip()


@click.command("enrollment-token")
@_data_option
@click.argument("org_key", metavar="ORG")
@click.option(
    "--ttl",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Hours (default: hub.yaml, 24).",
)
def enrollment_token(data_dir: Path, org_key: str, ttl: float | None) -> None:
    """Print a one-time enrollment token for ORG (SIRET/BRANCH); it is stored hashed."""
    siret, branch = _org_key(org_key)
    config = load_config(data_dir)
    lifetime = config.enrollment_token_ttl if ttl is None else timedelta(hours=ttl)

    async def work(admin: HubAdmin) -> tuple[str, str, datetime]:
        token, org, expires = await admin.tokens.new_token(
            siret, branch, now=datetime.now(UTC), ttl=lifetime
        )
        return token, f"{org.ref.key} ({org.name})", expires

    token, org, expires = _with_admin(data_dir, work)
    click.echo(token)
    click.echo(
        f"one-time token for {org}, valid until {expires:%Y-%m-%dT%H:%M:%SZ}; shown once",
        err=True,
    )


@click.group("gateway")
def gateway() -> None:
    """Gateways enrolled with this hub."""


@gateway.command("list")
@_data_option
def gateway_list(data_dir: Path) -> None:
    """List gateways: id, organisation, state, last witnessed checkpoint size."""
    for record in _with_admin(data_dir, lambda a: a.gateways.listing()):
        gw = record.gateway
        state = f"revoked {gw.revoked_at:%Y-%m-%d}" if gw.revoked_at else "active"
        witnessed = record.last_witnessed.size if record.last_witnessed else "-"
        click.echo(
            f"{gw.id}  {record.org.ref.key:25} {state:18} witnessed:{witnessed}  {record.org.name}"
        )


@gateway.command("revoke")
@_data_option
@click.argument("gateway_id")
@click.option("--reason", default="revoked by the hub's operator", show_default=True)
def gateway_revoke(data_dir: Path, gateway_id: str, reason: str) -> None:
    """Revoke a gateway: its certificates are refused (403) from its next request."""
    found = _with_admin(
        data_dir, lambda a: a.gateways.revoke(gateway_id, reason=reason, now=datetime.now(UTC))
    )
    click.echo(f"gateway {found.id} revoked ({found.revoked_reason})")


@click.group("witness")
def witness() -> None:
    """The checkpoint witness."""


@witness.command("alerts")
@_data_option
def witness_alerts(data_dir: Path) -> None:
    """List checkpoints the witness refused (exit 1 if there are any)."""
    alerts = _with_admin(data_dir, lambda a: a.gateways.alerts())
    for alert in alerts:
        click.echo(f"{alert.at:%Y-%m-%dT%H:%M:%SZ}  gateway {alert.gateway_id}  {alert.reason}")
    if alerts:
        sys.exit(ExitCode.VERIFICATION_FAILED)
    click.echo("no witness alerts", err=True)


@click.command("metrics-token")
@_data_option
def metrics_token(data_dir: Path) -> None:
    """A new bearer token for scraping /metrics from another machine (replaces the old one)."""
    from hub.metrics import create_metrics_token

    config = load_config(data_dir)
    if not config.keys_dir.is_dir():
        raise HubConfigError(
            f"{config.keys_dir} does not exist", hint=f"sceau hub init --data {data_dir}"
        )
    click.echo(create_metrics_token(config.keys_dir))


COMMANDS: tuple[click.Command, ...] = (
    init,
    run,
    enrollment_token,
    gateway,
    witness,
    metrics_token,
)
