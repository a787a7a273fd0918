"""The inbox page: the user's démarches, filters by status and date, search."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from gateway.console.formats import STATUS_LABELS, status_label
from gateway.console.inbox import PAGE, InboxQuery, inbox, own_org
from gateway.console.keys import Caller, console_of
from gateway.console.pages import agent_page, local_zone, render, url
from hubee.model import Status


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _page_number(text: str | None) -> int:
    try:
        return max(1, min(int(text or "1"), 10_000))
    except ValueError:
        return 1


def _link(params: dict[str, str], page: int) -> str:
    return url("dossiers") + "?" + urlencode({**params, "page": str(page)})


@agent_page
async def _inbox(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    settings = console.runtime.settings
    q = request.query
    processes = caller.user.processes
    chosen = q.get("demarche") or ""
    if chosen and caller.user.may_handle(chosen):
        processes = (chosen,)
    status = q.get("statut") or None
    if status is not None and status not in STATUS_LABELS:
        status = None
    page = _page_number(q.get("page"))
    query = InboxQuery(
        limit=PAGE + 1,  # one more: is there a next page?
        offset=(page - 1) * PAGE,
        processes=processes,
        status=status,
        received_from=_date(q.get("du")),
        received_to=_date(q.get("au")),
        where=local_zone(request),
        search=(q.get("recherche") or "").strip() or None,
    )

    def read(tx: object) -> list[object]:
        org = own_org(tx, settings.company_register, settings.branch_code)
        return [] if org is None else list(inbox(tx, org.id, query))

    rows = await console.runtime.store.read(read)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    keep = {k: v for k, v in q.items() if k != "page" and v}
    statuses = [
        (s.value, status_label(s.value))
        for s in Status
        if s not in (Status.HUBEE_RECEIVED, Status.HUBEE_COMPLETED)
    ]
    return await render(
        request,
        "inbox.html",
        {
            "rows": rows,
            "page": page,
            "previous": _link(keep, page - 1) if page > 1 else None,
            "next": _link(keep, page + 1) if more else None,
            "processes": caller.user.processes,
            "chosen": chosen,
            "statuses": statuses,
            "status": status or "",
            "du": q.get("du", ""),
            "au": q.get("au", ""),
            "search": q.get("recherche", ""),
            "status_label": status_label,
            "side": console.runtime.identity.enrollment.org_type,
        },
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/dossiers", _inbox, name="inbox")
