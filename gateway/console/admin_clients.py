"""Clients et utilisateurs, part one: the LAN OAuth clients (one per démarche, as in
HubEE; :mod:`gateway.local_directory`). Add, revoke, reset the secret. A secret is shown
once, in the answer to the POST that made it (never stored in clear, never put in a
flash message or a log).

Revoking deletes the client and its tokens (the engine's ``tokens`` rows cascade);
resetting replaces the salted scrypt hash and ends the client's tokens. Both are
journaled under ``directory/<client id>``, like the engine's own directory facts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from gateway.console.admin_common import form_of, journal_action, render_admin
from gateway.console.keys import Caller, console_of
from gateway.console.pages import PageError, admin_page, flash, redirect, render, url
from gateway.errors import GatewayConfigError
from gateway.local_directory import add_client
from gateway.tables import GatewayTables
from hubee.credentials import hash_secret, new_salt, new_secret
from hubee.model import Scope
from hubee.store import StoreTx
from trust.journal import rfc3339


@dataclass(frozen=True)
class LanClient:
    client_id: str
    name: str | None
    process_code: str | None
    scope: str
    created_at: str


def lan_clients(tx: StoreTx) -> list[LanClient]:
    rows = (
        GatewayTables.of(tx)
        .conn.execute(
            "SELECT c.client_id, n.name, c.process_code, c.scope, c.created_at FROM clients c "
            "LEFT JOIN gw_client_names n ON n.client_id = c.client_id "
            "WHERE c.scope != 'ADMIN' ORDER BY c.process_code, n.name, c.client_id"
        )
        .fetchall()
    )
    return [LanClient(*r) for r in rows]


def revoke_client(tx: StoreTx, client_id: str, *, login: str, now: datetime) -> bool:
    tables = GatewayTables.of(tx)
    conn = tables.conn
    if (
        conn.execute(
            "SELECT 1 FROM clients WHERE client_id = ? AND scope != 'ADMIN'", (client_id,)
        ).fetchone()
        is None
    ):
        return False
    conn.execute("DELETE FROM tokens WHERE client_id = ?", (client_id,))
    conn.execute("DELETE FROM gw_client_names WHERE client_id = ?", (client_id,))
    conn.execute("DELETE FROM clients WHERE client_id = ?", (client_id,))
    tables.journal(
        "directory", f"directory/{client_id}", {"fact": "client.revoked", "by": login}, now
    )
    return True


def reset_secret(
    tx: StoreTx, client_id: str, salt: bytes, digest: bytes, *, login: str, now: datetime
) -> bool:
    tables = GatewayTables.of(tx)
    changed = tables.conn.execute(
        "UPDATE clients SET secret_salt = ?, secret_hash = ? WHERE client_id = ? "
        "AND scope != 'ADMIN'",
        (salt, digest, client_id),
    ).rowcount
    if not changed:
        return False
    tables.conn.execute("DELETE FROM tokens WHERE client_id = ?", (client_id,))
    tables.journal(
        "directory",
        f"directory/{client_id}",
        {"fact": "client.secret_reset", "by": login, "at": rfc3339(now)},
        now,
    )
    return True


async def secret_page(
    request: web.Request, *, title: str, what: str, ident: str, secret: str, back: str
) -> web.Response:
    response = await render(
        request,
        "admin/secret.html",
        {
            "title": title,
            "what": what,
            "ident": ident,
            "secret": secret,
            "back": back,
            "sections": (),
            "section": "admin/clients",
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@admin_page
async def add(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    form = await form_of(request)
    name = form.get("name", "").strip()
    process = form.get("process", "").strip()
    scope = Scope(runtime.identity.enrollment.org_type)
    try:
        if not process:
            raise GatewayConfigError("indiquez le code de la démarche")
        created = await add_client(
            runtime.services,
            runtime.store,
            name=name,
            company_register=runtime.settings.company_register,
            branch_code=runtime.settings.branch_code,
            process_code=process,
            scope=scope,
        )
    except GatewayConfigError as exc:
        await flash(request, caller, f"Client non créé : {exc.message}", kind="error")
        return redirect(url("admin/clients"))
    client_id = created.client.client_id
    await journal_action(request, caller, "client.add", client=client_id, process=process)
    return await secret_page(
        request,
        title="Client créé",
        what=f"Le client « {name} » ({scope.value}, démarche {process}) est créé.",
        ident=client_id,
        secret=created.secret,
        back="admin/clients",
    )


@admin_page
async def revoke(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    client_id = request.match_info["client"]
    login, now = caller.user.login, runtime.deps.clock()
    if not await runtime.store.write(lambda tx: revoke_client(tx, client_id, login=login, now=now)):
        raise PageError(404)
    runtime.drain.poke()
    await journal_action(request, caller, "client.revoke", client=client_id)
    await flash(
        request, caller, f"Le client {client_id} est révoqué : il ne peut plus se connecter."
    )
    return redirect(url("admin/clients"))


@admin_page
async def reset(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    client_id = request.match_info["client"]
    login, now = caller.user.login, runtime.deps.clock()
    secret, salt = new_secret(), new_salt()
    digest = await asyncio.to_thread(hash_secret, secret, salt)
    if not await runtime.store.write(
        lambda tx: reset_secret(tx, client_id, salt, digest, login=login, now=now)
    ):
        raise PageError(404)
    runtime.drain.poke()
    await journal_action(request, caller, "client.reset_secret", client=client_id)
    return await secret_page(
        request,
        title="Nouveau secret",
        what="Le secret du client est remplacé ; l'ancien ne fonctionne plus.",
        ident=client_id,
        secret=secret,
        back="admin/clients",
    )


@admin_page
async def page(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    runtime = console.runtime
    processes = sorted(p.code for p in await runtime.services.directory.processes())
    return await render_admin(
        request,
        "admin/clients.html",
        "admin/clients",
        {
            "clients": await runtime.store.read(lan_clients),
            "users": await console.accounts.all(),
            "processes": processes,
            "scope": runtime.identity.enrollment.org_type,
        },
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin/clients", page, name="admin-clients")
    router.add_post("/admin/clients/ajouter", add, name="admin-client-add")
    router.add_post("/admin/clients/{client}/revoquer", revoke, name="admin-client-revoke")
    router.add_post("/admin/clients/{client}/secret", reset, name="admin-client-reset")
