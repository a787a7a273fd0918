"""What every IT dashboard page shares: the sub-navigation, the audit of each action,
and reading a posted form (the session middleware has already checked its CSRF token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.console.audit import audit
from gateway.console.keys import Caller, console_of
from gateway.console.pages import render

SECTIONS = (
    ("admin", "Santé"),
    ("admin/flux", "Flux"),
    ("admin/journal", "Journal"),
    ("admin/clients", "Clients et utilisateurs"),
    ("admin/statistiques", "Statistiques"),
)


async def render_admin(
    request: web.Request,
    template: str,
    section: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """An admin page: the template with the sub-navigation marking ``section``."""
    return await render(
        request,
        template,
        {"sections": SECTIONS, "section": section, **(context or {})},
        status=status,
    )


async def form_of(request: web.Request) -> dict[str, str]:
    """The posted fields as text (files are not expected on admin forms)."""
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def journal_action(request: web.Request, caller: Caller, action: str, **ids: Any) -> None:
    """One audit entry per admin action (ids only: never a secret or a password)."""
    runtime = console_of(request).runtime
    await audit(
        runtime, f"action.admin.{action}", login=caller.user.login, now=runtime.deps.clock(), **ids
    )
