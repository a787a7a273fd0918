"""``sceau hub``: run the central hub, and manage its directory.

Every command works on a hub data folder (``--data DIR``, default ``./hub-data``): the
SQLite database ``hub.db`` and the blob store ``blobs/``. The directory commands may run
while the hub serves (SQLite WAL; the hub reads the directory at each request, and
caches only bearer tokens).

Opening a beneficiary to a démarche is one command::

    sceau hub subscription add --org 21930066200016/93066 --process CERTDC \\
        --local-admin etat-civil@ville-saint-denis.fr

(subscriptions are created Actif; ``--inactive`` creates them Inactif, to activate later
with ``sceau hub subscription set-status --org … --process … Actif``).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from appliance.cli_hub_link import COMMANDS
from appliance.exit_codes import exit_code_for
from hub.config_file import load_hub_config
from hub.settings import HubConfig
from hub.upload_expiry import expire_uploads
from hub.uploads import Uploads
from hubee.directory import Directory
from hubee.errors import HubError, ValidationFailed
from hubee.model import OrgRef, OrgType, Process, Scope, Status, SubscriptionStatus
from hubee.retention import Retention
from hubee.services import HubDeps
from hubee.settings import HubSettings
from hubee.store import SubscriptionQuery

T = TypeVar("T")


class HubGroup(click.Group):
    """Translates hub errors to a message and an exit code (tracebacks with --verbose)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HubError as exc:
            if ctx.find_root().params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
            ctx.exit(exit_code_for(exc))


def _data_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("hub-data"),
        show_default=True,
        help="The hub's data folder (database and blobs).",
    )(f)


def _org_key(value: str) -> tuple[str, str]:
    siret, sep, branch = value.partition("/")
    if not sep:
        raise ValidationFailed("--org", f"{value!r}: write SIRET/BRANCH, e.g. 21930066200016/93066")
    return siret.strip(), branch.strip()


def _with_directory(data_dir: Path, work: Callable[[Directory], Awaitable[T]]) -> T:
    async def main() -> T:
        deps = await asyncio.to_thread(HubDeps.open, HubSettings(data_dir=data_dir))
        try:
            return await work(Directory(deps.store, deps.sink, deps.clock))
        finally:
            await deps.close()

    return asyncio.run(main())


@click.group(cls=HubGroup)
def hub() -> None:
    """The central hub: HubEE API v1 for operators (OSL) and instructing services (SI)."""


@hub.group()
def org() -> None:
    """Organizations: operators (OSL), instructing services (SI), the hub's admin."""


@org.command("add")
@_data_option
@click.option("--type", "org_type", type=click.Choice([t.value for t in OrgType]), required=True)
@click.option("--siret", required=True, help="companyRegister: the 14-digit SIRET.")
@click.option("--branch", required=True, help="branchCode: the routing code (e.g. INSEE code).")
@click.option("--name", default="", help="A readable name.")
def org_add(data_dir: Path, org_type: str, siret: str, branch: str, name: str) -> None:
    """Register an organization."""
    ref = OrgRef(OrgType(org_type), siret, branch)
    found = _with_directory(data_dir, lambda d: d.add_org(ref, name))
    click.echo(f"organization {found.ref.key} ({found.ref.type.value}) added: {found.name}")


@org.command("list")
@_data_option
def org_list(data_dir: Path) -> None:
    """List organizations."""
    for found in _with_directory(data_dir, lambda d: d.orgs()):
        click.echo(f"{found.ref.type.value:5} {found.ref.key:25} {found.name}")


@hub.group()
def process() -> None:
    """Démarches and their retention delays."""


@process.command("add")
@_data_option
@click.option("--code", required=True, help="processCode, e.g. CERTDC.")
@click.option("--name", required=True)
@click.option("--osl", "osl", default=None, help="The operator's SIRET/BRANCH (only it may send).")
@click.option("--file-deletion-days", type=click.IntRange(min=0), default=30, show_default=True)
@click.option(
    "--files-purged-after",
    type=click.Choice([s.value for s in Status]),
    default=Status.SI_RECEIVED.value,
    show_default=True,
    help="statusBeforeFileDeletion: the case status that starts the file-deletion delay.",
)
@click.option("--archiving-days", type=click.IntRange(min=0), default=30, show_default=True)
@click.option("--folder-deletion-days", type=click.IntRange(min=0), default=365, show_default=True)
@click.option("--max-attachment-size", type=click.IntRange(min=1), default=None, help="Bytes.")
def process_add(
    data_dir: Path,
    code: str,
    name: str,
    osl: str | None,
    file_deletion_days: int,
    files_purged_after: str,
    archiving_days: int,
    folder_deletion_days: int,
    max_attachment_size: int | None,
) -> None:
    """Register a démarche."""
    new = Process(
        code=code,
        name=name,
        status_before_file_deletion=Status(files_purged_after),
        time_before_file_deletion=file_deletion_days,
        time_before_archiving=archiving_days,
        time_before_folder_deletion=folder_deletion_days,
        attachment_max_size=max_attachment_size,
    )
    osl_ref = None if osl is None else OrgRef(OrgType.OSL, *_org_key(osl))
    stored = _with_directory(data_dir, lambda d: d.add_process(new, osl=osl_ref))
    click.echo(f"démarche {stored.code} added: {stored.name}")


@process.command("list")
@_data_option
def process_list(data_dir: Path) -> None:
    """List démarches."""
    for p in _with_directory(data_dir, lambda d: d.processes()):
        click.echo(
            f"{p.code:25} files -{p.time_before_file_deletion}d after {p.status_before_file_deletion.value}, "
            f"archive +{p.time_before_archiving}d, delete +{p.time_before_folder_deletion}d  {p.name}"
        )


@hub.group()
def subscription() -> None:
    """Subscriptions: which organization receives which démarche."""


@subscription.command("add")
@_data_option
@click.option("--org", "org_key", required=True, help="The subscriber's SIRET/BRANCH (an SI).")
@click.option("--process", "process_code", required=True)
@click.option("--local-admin", required=True, help="Email of the subscriber's local administrator.")
@click.option("--inactive", is_flag=True, help="Create it Inactif instead of Actif.")
@click.option("--datapass-id", type=int, default=0, show_default=True)
def subscription_add(
    data_dir: Path,
    org_key: str,
    process_code: str,
    local_admin: str,
    inactive: bool,
    datapass_id: int,
) -> None:
    """Subscribe an organization to a démarche (Actif unless --inactive)."""
    siret, branch = _org_key(org_key)

    async def work(d: Directory) -> str:
        found = await d.find_org(siret, branch)
        sub = await d.subscribe(
            process_code=process_code,
            subscriber=found.ref,
            activate=not inactive,
            datapass_id=datapass_id,
            local_admin_email=local_admin,
        )
        return f"subscription {sub.id}: {found.ref.key} → {process_code} ({sub.status.value})"

    click.echo(_with_directory(data_dir, work))


@subscription.command("set-status")
@_data_option
@click.argument("status", type=click.Choice([s.value for s in SubscriptionStatus]))
@click.option("--id", "sub_id", default=None, help="The subscription's id…")
@click.option("--org", "org_key", default=None, help="…or the subscriber's SIRET/BRANCH")
@click.option("--process", "process_code", default=None, help="…and the démarche.")
@click.option("--reason", default=None, help="Required to refuse (Refusé).")
def subscription_set_status(
    data_dir: Path,
    status: str,
    sub_id: str | None,
    org_key: str | None,
    process_code: str | None,
    reason: str | None,
) -> None:
    """Move a subscription: Inactif → Actif ⇄ Suspendu, or Inactif → Refusé."""
    if sub_id is None and (org_key is None or process_code is None):
        raise click.UsageError("give --id, or --org and --process")

    async def work(d: Directory) -> str:
        target = sub_id
        if target is None:
            assert org_key is not None and process_code is not None
            siret, branch = _org_key(org_key)
            found = await d.find_org(siret, branch)
            target = (await d.subscription_of(process_code, found.ref)).id
        sub = await d.set_subscription_status(target, SubscriptionStatus(status), reason=reason)
        return f"subscription {sub.id}: {sub.subscriber.ref.key} → {sub.process_code} ({sub.status.value})"

    click.echo(_with_directory(data_dir, work))


@subscription.command("list")
@_data_option
@click.option("--process", "process_code", default=None)
def subscription_list(data_dir: Path, process_code: str | None) -> None:
    """List subscriptions."""
    query = SubscriptionQuery(process_codes=(process_code,) if process_code else (), limit=10_000)
    found, _ = _with_directory(data_dir, lambda d: d.subscriptions(query))
    for s in found:
        click.echo(f"{s.id}  {s.process_code:20} {s.subscriber.ref.key:25} {s.status.value}")


@hub.group()
def client() -> None:
    """OAuth2 clients: one per démarche per organization."""


@client.command("add")
@_data_option
@click.option("--org", "org_key", required=True, help="The organization's SIRET/BRANCH.")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    default=None,
    help="Defaults to the organization's type.",
)
@click.option("--process", "process_code", default=None, help="The démarche (not for ADMIN).")
def client_add(data_dir: Path, org_key: str, scope: str | None, process_code: str | None) -> None:
    """Create a client; its secret is printed once and never stored in clear."""
    siret, branch = _org_key(org_key)

    async def work(d: Directory) -> tuple[str, str, str]:
        found = await d.find_org(siret, branch)
        wanted = Scope(scope) if scope else Scope(found.ref.type.value)
        made, secret = await d.add_client(org=found.ref, scope=wanted, process_code=process_code)
        return made.client_id, secret, wanted.value

    client_id, secret, granted = _with_directory(data_dir, work)
    click.echo(f"client_id:     {client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo(f"scope:         {granted}")
    click.echo("Keep the secret now: the hub stores only a hash of it.", err=True)


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@hub.command("purge")
@_data_option
@click.option(
    "--now",
    "when",
    default=None,
    callback=_instant,
    help="ISO 8601 time to purge as of (default: now).",
)
def purge(data_dir: Path, when: datetime) -> None:
    """Apply the démarches' retention delays: purge files, archive, delete; expire
    notifications nobody deleted and abandoned partial uploads (hub.yaml's
    upload_abandon_after_hours)."""
    has_settings = (data_dir / "hub.yaml").exists()
    config = load_hub_config(data_dir) if has_settings else HubConfig(data_dir=data_dir)

    async def main() -> dict[str, int]:
        deps = await asyncio.to_thread(HubDeps.open, HubSettings(data_dir=data_dir))
        try:
            report = await Retention(deps.store, deps.blobs, deps.sink).purge(now=when)
            expired = await expire_uploads(
                Uploads(config.uploads_dir),
                deps.store,
                deps.sink,
                now=when,
                after=config.upload_abandon_after,
            )
            return dict(report.__dict__) | {"uploads_expired": len(expired)}
        finally:
            await deps.close()

    for key, value in asyncio.run(main()).items():
        click.echo(f"{key}: {value}")


# Identity, serving over TLS, enrollment, gateways and the witness.
for _command in COMMANDS:
    hub.add_command(_command)


if __name__ == "__main__":
    hub()
