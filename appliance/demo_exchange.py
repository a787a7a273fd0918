"""``sceau demo``: the whole exchange end to end on loopback.

A hub over TLS with its built-in TSA and witness; four gateways (the DGS and the CNAF as
operators, the commune of Saint-Denis and the Seine-Saint-Denis conseil départemental as
recipients), each initialised, enrolled with a one-time token (CSR → certificates) and
exchanging over mutual TLS; sample dossiers of ``samples/hubee/JDD`` sent by the
operators' software through their gateway's LAN HubEE API, received by the recipients'
software (the API, or a watched folder), answered DONE or REFUSED, the decision seen
back at the operator; then every dossier's evidence bundles, exported from both sides
and verified with ``sceau verify`` and ``openssl cms -verify``.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from appliance.demo_cast import DOSSIERS
from appliance.demo_console import DemoConsole, add_console_accounts
from appliance.demo_evidence import collect, verify
from appliance.demo_lan import HubeeClient
from appliance.demo_lifecycle import (
    Outcome,
    await_decision,
    receive_by_api,
    receive_by_folder,
    send,
)
from appliance.demo_services import DemoStepFailed
from appliance.demo_world import Credentials, World, api_client_name, build


def _width() -> int:
    # Wide enough for the summary table when the output is a file or a pipe.
    return max(shutil.get_terminal_size((120, 24)).columns, 110)


def run_exchange_demo(*, keep: bool, out: Path | None = None) -> bool:
    """Run it all; True only if every dossier ended as expected and every bundle verified."""
    console = Console(file=sys.stdout, highlight=False, width=_width())
    work = out or Path(tempfile.mkdtemp(prefix="sceau-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_main(console, work, keep=keep))
    finally:
        if out is None and not keep:
            shutil.rmtree(work, ignore_errors=True)


async def _main(console: Console, work: Path, *, keep: bool) -> bool:
    started = time.perf_counter()
    console.print(
        "[bold]Sceau demo[/]: a hub, four gateways enrolled over mTLS, the HubEE sample "
        "dossiers end to end, every evidence bundle verified"
    )
    world = World(work)
    outcomes = [Outcome(d) for d in DOSSIERS]
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    ok = False
    try:
        with progress:
            ok = await _phases(console, progress, world, outcomes)
        _summary(console, outcomes)
        if keep and ok:
            _print_keep(console, world)
            _print_console(console, await add_console_accounts(world))
    except DemoStepFailed as exc:
        console.print(f"[bold red]✗ the demo could not go on:[/] {escape(str(exc))}")
        ok = False
    except BaseException:
        await world.stop()
        raise
    elapsed = time.perf_counter() - started
    verdict = "[bold green]all dossiers exchanged and every bundle verified[/]"
    if not ok:
        verdict = "[bold red]failures: see above[/]"
        for service in world.services():
            console.print(
                f"[dim]--- {service.name} ({service.log}) ---\n{escape(service.tail())}[/]"
            )
    console.print(f"{verdict} in {elapsed:.1f} s")
    if keep and ok:
        await _wait_for_interrupt()
    await world.stop()
    return ok


async def _phases(
    console: Console, progress: Progress, world: World, outcomes: list[Outcome]
) -> bool:
    task = progress.add_task("starting")
    t0 = time.perf_counter()

    def step(text: str) -> None:
        progress.update(task, description=text)

    await build(world, step)
    console.print(
        f"  [green]✓[/] hub at {world.hub.url if world.hub else '?'}, "
        f"{len(world.gateways)} gateways enrolled and running "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    t0 = time.perf_counter()
    step(f"exchanging {len(outcomes)} dossiers over the LAN APIs and the hub")
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(
            *(_lifecycle(session, world, o) for o in outcomes), return_exceptions=True
        )
        for o, result in zip(outcomes, results, strict=True):
            if isinstance(result, BaseException):
                o.error = str(result) or type(result).__name__
        console.print(f"  [green]✓[/] exchanges done ({time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        step("exporting evidence bundles (GET /evidence) and verifying them")
        bundles = world.work / "bundles"
        bundles.mkdir(exist_ok=True)
        fetched = await asyncio.gather(
            *(_evidence(session, world, o, bundles) for o in outcomes if not o.error),
            return_exceptions=True,
        )
        for o, result in zip([o for o in outcomes if not o.error], fetched, strict=True):
            if isinstance(result, BaseException):
                o.error = f"evidence: {result}"
    console.print(f"  [green]✓[/] bundles exported and verified ({time.perf_counter() - t0:.1f} s)")
    return all(o.ok for o in outcomes)


def _client(session: aiohttp.ClientSession, world: World, slug: str, name: str) -> HubeeClient:
    gateway = world.gateways[slug]
    creds: Credentials = gateway.clients[name]
    return HubeeClient(session, gateway.service.url, creds.client_id, creds.secret, creds.scope)


async def _lifecycle(session: aiohttp.ClientSession, world: World, out: Outcome) -> None:
    d = out.dossier
    osl = _client(session, world, d.operator.slug, api_client_name(d, "OSL"))
    si = _client(session, world, d.recipient.slug, api_client_name(d, "SI"))
    await send(osl, out)
    if d.watched_folder:
        await receive_by_folder(si, world.folder_roots[d.process], out)
    else:
        await receive_by_api(si, out)
    await await_decision(osl, out)


async def _evidence(
    session: aiohttp.ClientSession, world: World, out: Outcome, folder: Path
) -> None:
    d = out.dossier
    osl = _client(session, world, d.operator.slug, api_client_name(d, "OSL"))
    si = _client(session, world, d.recipient.slug, api_client_name(d, "SI"))
    for side, path in await collect(out, osl=osl, si=si, folder=folder):
        org = d.operator if side == "operator" else d.recipient
        checks = await asyncio.to_thread(
            verify, path, hub_ca=world.hub_ca, gateway_data=world.gateways[org.slug].data
        )
        for name, good in checks.items():
            out.verified[f"{side}: {name}"] = good


def _summary(console: Console, outcomes: list[Outcome]) -> None:
    table = Table(title="Dossiers, end to end", title_justify="left")
    table.add_column("dossier", no_wrap=True)
    table.add_column("process", no_wrap=True)
    table.add_column("route", no_wrap=True)
    table.add_column("status at operator", no_wrap=True)
    table.add_column("completion → delivery", justify="right", no_wrap=True)
    table.add_column("bundles verified", no_wrap=True)
    for o in outcomes:
        d = o.dossier
        via = "watched folder" if d.watched_folder else "API"
        colour = "green" if o.final_status == d.decision else "red"
        latency = f"{o.delivery_ms:.0f} ms" if o.delivery_ms is not None else "—"
        good = sum(o.verified.values())
        bundles = f"{len(o.bundles)}/2, {good}/{len(o.verified)} checks" if o.verified else "—"
        table.add_row(
            d.external_id,
            d.process,
            f"{d.operator.branch} → {d.recipient.slug}, {via}",
            f"[{colour}]{o.final_status}[/]" + ("" if o.receipt_seen else " [red](no receipt)[/]"),
            latency,
            f"[{'green' if o.ok else 'red'}]{'✓' if o.ok else '✗'}[/] {bundles}",
        )
    console.print(table)
    for o in outcomes:
        if o.dossier.decision == "REFUSED" and o.message_seen:
            console.print(f"  {o.dossier.external_id}: refused with « {escape(o.message_seen)} »")
        if o.error:
            console.print(f"  [red]{o.dossier.external_id}: {escape(o.error)}[/]")
        for name, good in o.verified.items():
            if not good:
                console.print(f"  [red]{o.dossier.external_id}: {escape(name)} failed[/]")


def _print_keep(console: Console, world: World) -> None:
    console.print(
        f"\n[bold]Services left running (--keep); Ctrl-C stops them, the data stays in {world.work}:[/]"
    )
    if world.hub:
        console.print(f"  {'hub':<11} {world.hub.url}   data {world.hub_data}   CA {world.hub_ca}")
    for gw in world.gateways.values():
        console.print(f"  {gw.org.slug:<11} {gw.service.url}   data {gw.data}")
        for name, c in gw.clients.items():
            console.print(f"      client {name} ({c.scope}): {c.client_id} / {c.secret}")
    for code, root in world.folder_roots.items():
        console.print(f"  watched folders for {code}: {root}")
    console.print(f"  {'bundles':<11} {world.work / 'bundles'}")


def _print_console(console: Console, found: DemoConsole | None) -> None:
    if found is None:
        return
    console.print(f"  {'console':<11} {found.url}   (agents' pages and the IT dashboard)")
    for account in found.accounts:
        console.print(f"      {account.role:<6} {account.login} / {account.password}")


async def _wait_for_interrupt() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
