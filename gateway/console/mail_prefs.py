"""« Mes notifications »: each agent chooses, per démarche they handle, no e-mail, one
e-mail per new dossier, or a daily digest. Stored in ``gw_mail_prefs``
(:mod:`gateway.console.mail_store`); each change is journaled (ids only)."""

from __future__ import annotations

from aiohttp import web

from gateway.console.admin_common import form_of
from gateway.console.audit import audit
from gateway.console.keys import Caller, console_of
from gateway.console.mail_store import MailMode, ensure_mail_schema, preferences, set_preference
from gateway.console.pages import agent_page, flash, redirect, render, url
from hubee.sqlite_store import sqlite_connection
from hubee.store import StoreTx

CHOICES = (
    ("none", "Aucun courriel"),
    (MailMode.IMMEDIATE.value, "Un courriel à chaque nouveau dossier"),
    (MailMode.DIGEST.value, "Un récapitulatif par jour"),
)


@agent_page
async def page(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    await runtime.store.write(ensure_mail_schema)
    login = caller.user.login
    chosen = await runtime.store.read(lambda tx: preferences(sqlite_connection(tx), login))
    smtp = runtime.settings.console.smtp
    return await render(
        request,
        "mail/preferences.html",
        {
            "processes": caller.user.processes,
            "chosen": {code: mode.value for code, mode in chosen.items()},
            "choices": CHOICES,
            "smtp": smtp,
            "email": caller.user.email,
        },
    )


@agent_page
async def save(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    form = await form_of(request)
    login, now = caller.user.login, runtime.deps.clock()
    changes: dict[str, MailMode | None] = {}
    for code in caller.user.processes:
        value = form.get(f"mode-{code}", "none")
        changes[code] = None if value == "none" else MailMode(value)

    def work(tx: StoreTx) -> None:
        ensure_mail_schema(tx)
        conn = sqlite_connection(tx)
        for code, mode in changes.items():
            set_preference(conn, login, code, mode, now)

    await runtime.store.write(work)
    await audit(
        runtime,
        "action.notifications",
        login=login,
        now=now,
        **{f"mode.{code}": (mode.value if mode else "none") for code, mode in changes.items()},
    )
    await flash(request, caller, "Vos préférences de notification sont enregistrées.")
    return redirect(url("notifications"))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/notifications", page, name="notifications")
    router.add_post("/notifications", save, name="notifications-save")
