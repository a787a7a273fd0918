"""Clients et utilisateurs, part two: the console's users (:mod:`gateway.console.accounts`).

Add (a generated password, shown once), reset the password (a new generated one,
shown once; the user's sessions end), disable or enable again. An admin cannot disable
their own account (so that a gateway is never left without one by mistake).
"""

from __future__ import annotations

from aiohttp import web

from gateway.console.accounts import Role, new_password, roles_of
from gateway.console.admin_clients import secret_page
from gateway.console.admin_common import form_of, journal_action
from gateway.console.keys import Caller, console_of
from gateway.console.pages import admin_page, flash, redirect, url
from gateway.errors import GatewayConfigError

_BACK = "admin/clients"


@admin_page
async def add(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    form = await form_of(request)
    login = form.get("login", "").strip().lower()
    role_text = form.get("role", "agent")
    processes = [p.strip() for p in form.get("processes", "").replace(",", " ").split() if p]
    password = new_password()
    try:
        role = Role(role_text)
        user = await console.accounts.add(
            login,
            display_name=form.get("name", ""),
            email=form.get("email", "").strip() or None,
            roles=roles_of(role, processes),
            password=password,
            now=console.runtime.deps.clock(),
        )
    except ValueError:
        await flash(request, caller, "Utilisateur non créé : rôle inconnu.", kind="error")
        return redirect(url(_BACK))
    except GatewayConfigError as exc:
        await flash(request, caller, f"Utilisateur non créé : {exc.message}", kind="error")
        return redirect(url(_BACK))
    await journal_action(request, caller, "user.add", user=user.login, role=role.value)
    return await secret_page(
        request,
        title="Utilisateur créé",
        what=f"Le compte « {user.login} » ({user.display_name}) est créé.",
        ident=user.login,
        secret=password,
        back=_BACK,
    )


@admin_page
async def reset_password(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    login = request.match_info["login"]
    password = new_password()
    try:
        await console.accounts.set_password(login, password)
    except GatewayConfigError:
        await flash(request, caller, "Cet utilisateur n'existe pas.", kind="error")
        return redirect(url(_BACK))
    await journal_action(request, caller, "user.reset_password", user=login)
    return await secret_page(
        request,
        title="Nouveau mot de passe",
        what="Le mot de passe est remplacé ; les sessions ouvertes de ce compte sont fermées.",
        ident=login,
        secret=password,
        back=_BACK,
    )


@admin_page
async def set_disabled(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    login = request.match_info["login"]
    disable = request.match_info["action"] == "desactiver"
    if disable and login == caller.user.login:
        await flash(
            request, caller, "Vous ne pouvez pas désactiver votre propre compte.", kind="error"
        )
        return redirect(url(_BACK))
    try:
        await console.accounts.set_disabled(login, disable)
    except GatewayConfigError:
        await flash(request, caller, "Cet utilisateur n'existe pas.", kind="error")
        return redirect(url(_BACK))
    await journal_action(request, caller, "user.disable" if disable else "user.enable", user=login)
    await flash(request, caller, f"Le compte {login} est {'désactivé' if disable else 'réactivé'}.")
    return redirect(url(_BACK))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/admin/utilisateurs/ajouter", add, name="admin-user-add")
    router.add_post(
        "/admin/utilisateurs/{login}/mot-de-passe", reset_password, name="admin-user-password"
    )
    router.add_post(
        "/admin/utilisateurs/{login}/{action:desactiver|reactiver}",
        set_disabled,
        name="admin-user-disable",
    )
