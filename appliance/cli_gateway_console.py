"""``sceau gateway user …`` and ``sceau gateway console …``: the console's accounts.

::

    sceau gateway user add marie --name "Marie Curie" --role agent --process CERTDC
    sceau gateway user add it --name "Service informatique" --role admin
    sceau gateway user list
    sceau gateway user reset-password marie
    sceau gateway user disable marie
    sceau gateway console url

A password is generated and shown once when none is given (``--password-file``);
only its argon2id hash is stored. Every change is an audit entry in the journal.
See docs/CONSOLE.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from gateway.errors import GatewayConfigError
from gateway.settings import GatewaySettings

T = TypeVar("T")
_FILE = click.Path(dir_okay=False, exists=True, path_type=Path)


def _data_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("gateway-data"),
        show_default=True,
        help="The gateway's data folder.",
    )(f)


def _with_runtime(data_dir: Path, work: Callable[[Any], Awaitable[T]]) -> T:
    from gateway.runtime import GatewayRuntime

    settings = GatewaySettings.load(data_dir)

    async def main() -> T:
        runtime = await GatewayRuntime.open(settings)
        try:
            # Audit entries wait in the journal outbox: the running gateway (or the
            # next open) drains them into the journal.
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


def _password(password_file: Path | None) -> tuple[str, bool]:
    """(password, generated?)."""
    from gateway.console.accounts import check_password, new_password

    if password_file is None:
        return new_password(), True
    text = password_file.read_text(encoding="utf-8").strip()
    if not text:
        raise GatewayConfigError(f"{password_file} is empty")
    return check_password(text), False


@click.group("user")
def user() -> None:
    """Console accounts: agents (per démarche) and admins (the IT dashboard)."""


@user.command("add")
@_data_option
@click.argument("login")
@click.option("--name", "display_name", required=True, help="Shown in the console's header.")
@click.option("--email", default=None, help="For notification e-mails (optional).")
@click.option("--role", type=click.Choice(["agent", "admin"]), required=True)
@click.option(
    "--process",
    "processes",
    multiple=True,
    help="A démarche the agent handles (repeatable); '*' for all. Not for admins.",
)
@click.option(
    "--password-file", type=_FILE, help="Read the password here instead of generating one."
)
def user_add(
    data_dir: Path,
    login: str,
    display_name: str,
    email: str | None,
    role: str,
    processes: tuple[str, ...],
    password_file: Path | None,
) -> None:
    """Create an account; a generated password is shown once."""
    from gateway.console.accounts import Accounts, Role, roles_of
    from gateway.console.audit import audit

    chosen = Role(role)
    if chosen is Role.ADMIN and processes:
        raise click.UsageError("an admin is gateway-wide: drop --process (see docs/CONSOLE.md)")
    roles = roles_of(chosen, processes)
    password, generated = _password(password_file)

    async def work(runtime: Any) -> None:
        now = datetime.now(UTC)
        await Accounts(runtime.store).add(
            login, display_name=display_name, email=email, roles=roles, password=password, now=now
        )
        await audit(runtime, "user.added", login=login, now=now, by="cli", role=role)

    _with_runtime(data_dir, work)
    scope = "all the gateway (IT dashboard)" if chosen is Role.ADMIN else ", ".join(processes)
    click.echo(f"console user {login} ({role}: {scope}) created")
    if generated:
        click.echo(f"  password: {password}")
        click.echo("  the password is shown only now; it is stored as an argon2id hash")


@user.command("list")
@_data_option
def user_list(data_dir: Path) -> None:
    """Accounts, their roles and state (never a password)."""
    from gateway.console.accounts import Accounts

    async def work(runtime: Any) -> list[Any]:
        return await Accounts(runtime.store).all()

    now = datetime.now(UTC)
    users = _with_runtime(data_dir, work)
    if not users:
        click.echo("no console users (add one: sceau gateway user add LOGIN --name … --role …)")
    for found in users:
        roles = ", ".join(f"{r.value}:{p}" for r, p in sorted(found.roles, key=str))
        state = "disabled" if found.disabled else "active"
        if found.locked_until is not None and found.locked_until > now:
            state = f"locked until {found.locked_until.isoformat(timespec='minutes')}"
        click.echo(f"{found.login}\t{found.display_name}\t{roles}\t{state}")


@user.command("reset-password")
@_data_option
@click.argument("login")
@click.option(
    "--password-file", type=_FILE, help="Read the password here instead of generating one."
)
def user_reset_password(data_dir: Path, login: str, password_file: Path | None) -> None:
    """A new password (shown once if generated); unlocks the account, ends its sessions."""
    from gateway.console.accounts import Accounts
    from gateway.console.audit import audit

    password, generated = _password(password_file)

    async def work(runtime: Any) -> None:
        await Accounts(runtime.store).set_password(login, password)
        await audit(runtime, "user.password-reset", login=login, now=datetime.now(UTC), by="cli")

    _with_runtime(data_dir, work)
    click.echo(f"password of {login} reset; its sessions are closed")
    if generated:
        click.echo(f"  password: {password}")
        click.echo("  the password is shown only now")


@user.command("disable")
@_data_option
@click.argument("login")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def user_disable(data_dir: Path, login: str, enable: bool) -> None:
    """Disable an account (its sessions end at once); --enable reverses it."""
    from gateway.console.accounts import Accounts
    from gateway.console.audit import audit

    async def work(runtime: Any) -> None:
        await Accounts(runtime.store).set_disabled(login, not enable)
        fact = "user.enabled" if enable else "user.disabled"
        await audit(runtime, fact, login=login, now=datetime.now(UTC), by="cli")

    _with_runtime(data_dir, work)
    click.echo(f"console user {login} {'enabled' if enable else 'disabled'}")


@click.group("console")
def console() -> None:
    """The agents' and IT's pages in the browser, served by `sceau gateway run`."""


@console.command("url")
@_data_option
def console_url_cmd(data_dir: Path) -> None:
    """Print the console's address (settings: lan_host, lan_port, console.public_url)."""
    from gateway.console.config import console_url

    click.echo(console_url(GatewaySettings.load(data_dir)))
