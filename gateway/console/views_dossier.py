"""The dossier page, its files, and the agents' actions (POST, then redirect back)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from gateway.console import actions, dossier
from gateway.console.actions import SPECS, Action
from gateway.console.audit import audit
from gateway.console.formats import file_size, status_label
from gateway.console.keys import MULTIPART, Caller, console_of
from gateway.console.pages import PageError, agent_page, flash, redirect, render, url
from gateway.console.renderer import Field
from hubee.errors import IllegalTransition, NotFound
from hubee.model import ActionType, Side, Status
from hubee.transitions import check_case_move

# Types a browser may show inline; anything else is a download.
_INLINE = {"application/pdf", "image/png", "image/jpeg"}
_SAFE_NAME = re.compile(r"[^\w.() -]+", re.UNICODE)
_ACTION_LABELS = {
    ActionType.STATUS_UPDATE.value: "Changement de statut",
    ActionType.ATTACH_DEPOSIT.value: "Dépôt de pièces",
    ActionType.ATTACH_DL.value: "Téléchargement",
    ActionType.ATTACH_DL_ALL.value: "Téléchargement",
    ActionType.COM_ADD.value: "Commentaire",
    ActionType.SENDING_MESSAGE.value: "Message",
}
_SIDES = {
    Side.SI.value: "Collectivité",
    Side.OSL.value: "Opérateur",
    Side.HUB.value: "HubEE",
    Side.ADMIN.value: "Administration",
}


def _allowed(status: Status) -> set[Action]:
    found = set()
    for action, spec in SPECS.items():
        if spec.target is None:
            if status not in (Status.CLOSED, Status.ARCHIVED, Status.HUBEE_RECEIVED):
                found.add(action)
            continue
        try:
            if check_case_move(status, spec.target, Side.SI):
                found.add(action)
        except IllegalTransition:
            continue
    return found


def _flatten(fields: tuple[Field, ...]) -> int:
    return sum(1 + _flatten(f.children) for f in fields)


@agent_page
async def _page(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    runtime = console.runtime
    now = runtime.deps.clock()
    view = await dossier.load(runtime, caller.user, request.match_info["caseId"], now=now)
    await audit(runtime, "view", login=caller.user.login, now=now, case=view.case.id)
    return await render(
        request,
        "dossier.html",
        {
            "view": view,
            "allowed": {a.value for a in _allowed(view.case.status)},
            "status_label": status_label,
            "file_size": file_size,
            "action_label": lambda t: _ACTION_LABELS.get(t, t),
            "side_label": lambda s: _SIDES.get(s, s),
            "inline": _INLINE,
            "max_upload": file_size(console.config.max_upload_bytes),
        },
    )


def _content_headers(file_name: str, mime_type: str, *, inline: bool) -> dict[str, str]:
    shown = inline and mime_type in _INLINE
    safe = _SAFE_NAME.sub("_", file_name).strip() or "piece"
    disposition = "inline" if shown else "attachment"
    return {
        "Content-Type": mime_type if mime_type in _INLINE else "application/octet-stream",
        "Content-Disposition": (
            f'{disposition}; filename="{safe.encode("ascii", "replace").decode()}"; '
            f"filename*=UTF-8''{quote(safe)}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"
        + ("" if shown else "; sandbox"),
        "Cache-Control": "no-store",
    }


async def _stream(
    request: web.Request, found: object, headers: dict[str, str]
) -> web.StreamResponse:
    attachment = found.attachment  # type: ignore[attr-defined]
    chunks: Iterator[bytes] = found.chunks()  # type: ignore[attr-defined]
    response = web.StreamResponse(headers=headers)
    response.content_length = attachment.size
    await response.prepare(request)
    while chunk := await asyncio.to_thread(next, chunks, b""):
        await response.write(chunk)
    await response.write_eof()
    return response


@agent_page
async def _attachment(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    now = runtime.deps.clock()
    principal, case = await dossier.locate(runtime, caller.user, request.match_info["caseId"])
    attachment_id = dossier.check_id(request.match_info["attachmentId"])
    event_id = request.match_info.get("eventId")
    services = runtime.services
    if event_id is None:
        found = await services.attachments.for_case(principal, case.id, attachment_id, now=now)
    else:
        found = await services.attachments.for_event(
            principal, case.id, dossier.check_id(event_id), attachment_id, now=now
        )
    await audit(
        runtime,
        "download",
        login=caller.user.login,
        now=now,
        case=case.id,
        event=event_id,
        attachment=attachment_id,
    )
    headers = _content_headers(
        found.attachment.file_name, found.attachment.mime_type, inline="voir" in request.query
    )
    return await _stream(request, found, headers)


async def _read_reply(request: web.Request, limit: int) -> tuple[str, str, str, bytes]:
    """(message, file name, type, bytes) from the multipart form, within ``limit``."""
    reader = request.get(MULTIPART)
    if reader is None:
        raise PageError(400, "Le formulaire de réponse doit être envoyé avec sa pièce jointe.")
    message, name, mime, data = "", "", "application/octet-stream", b""
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "message":
            message = (await part.read(decode=True)).decode(errors="replace")
        elif part.name == "fichier":
            name = part.filename or ""
            mime = part.headers.get("Content-Type", mime).split(";")[0].strip().lower()
            buffer = bytearray()
            while chunk := await part.read_chunk(256 * 1024):
                buffer += chunk
                if len(buffer) > limit:
                    raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(buffer))
            data = bytes(buffer)
    name = _SAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()[:200]
    if name.lower().endswith(".pdf"):
        mime = "application/pdf"
    return message, name, mime, data


@agent_page
async def _act(request: web.Request, caller: Caller) -> web.StreamResponse:
    console = console_of(request)
    runtime = console.runtime
    now = runtime.deps.clock()
    try:
        action = Action(request.match_info["action"])
    except ValueError:
        raise NotFound("no such action") from None
    principal, case = await dossier.locate(runtime, caller.user, request.match_info["caseId"])
    back = url(f"dossiers/{case.id}")
    spec = SPECS[action]
    login = caller.user.login
    if action is Action.REPLY:
        message, name, mime, data = await _read_reply(request, console.config.max_upload_bytes)
    else:
        form = await request.post()
        message, name, mime, data = str(form.get("message", "")), "", "", b""
    message = actions.clean_message(message)
    if spec.needs_message and not message:
        await flash(
            request, caller, "Écrivez un message pour l'opérateur avant d'envoyer.", kind="error"
        )
        return redirect(back + "#actions")
    if action is Action.REPLY and (not name or not data):
        await flash(
            request,
            caller,
            "Choisissez un fichier (non vide) à joindre à la réponse.",
            kind="error",
        )
        return redirect(back + "#actions")
    if spec.target is not None and case.status is spec.target:
        await flash(
            request,
            caller,
            f"Le dossier est déjà « {status_label(spec.target.value)} ».",
            kind="info",
        )
        return redirect(back)
    try:
        if action is Action.REPLY:
            event = await actions.reply(
                runtime,
                principal,
                case.id,
                message=message,
                file_name=name,
                mime_type=mime,
                data=data,
                now=now,
            )
        else:
            event = await actions.change_status(
                runtime, principal, case.id, action, message=message, now=now
            )
    except IllegalTransition as exc:
        await audit(
            runtime,
            f"action.{action.value}.refused",
            login=login,
            now=now,
            case=case.id,
            rule=exc.rule,
        )
        await flash(
            request,
            caller,
            "Cette action n'est pas possible pour un dossier au statut "
            f"« {status_label(case.status.value)} ».",
            kind="error",
        )
        return redirect(back)
    await audit(
        runtime, f"action.{action.value}", login=login, now=now, case=case.id, event=event.id
    )
    await flash(request, caller, spec.done)
    return redirect(back)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/dossiers/{caseId}", _page, name="dossier")
    router.add_get("/dossiers/{caseId}/pieces/{attachmentId}", _attachment)
    router.add_get("/dossiers/{caseId}/evenements/{eventId}/pieces/{attachmentId}", _attachment)
    router.add_post("/dossiers/{caseId}/actions/{action}", _act)
