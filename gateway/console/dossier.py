"""One dossier as an agent sees it: the case, its folder, files, events and history.

Access: the case must be addressed to this gateway's organisation, delivered, and of
a démarche the user handles; anything else is :class:`hubee.errors.NotFound`, like a
case that does not exist (the console never confirms what it will not show).

The agent acts as this organisation's SI on the engine (a :class:`Principal` with
scope SI and client id ``console:<login>``): reading the case marks a new one SENT,
downloads are journaled, exactly as for a HubEE client on the LAN API.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from gateway.console.accounts import User
from gateway.console.inbox import own_org
from gateway.console.renderer import MAX_BYTES, Rendered, is_structured, render_data
from gateway.runtime import GatewayRuntime
from hubee.errors import NotFound
from hubee.model import (
    Attachment,
    AttachmentStatus,
    Case,
    Event,
    Folder,
    Organization,
    PartnerInfo,
    Principal,
    Scope,
    Status,
)
from hubee.sqlite_store import sqlite_connection

CONSOLE_PARTNER = PartnerInfo(
    editor_name="Sceau", application_name="console de la passerelle", software_version=None
)


@dataclass(frozen=True)
class StructuredFile:
    attachment: Attachment
    rendered: Rendered


@dataclass(frozen=True)
class DossierView:
    case: Case
    folder: Folder | None
    attachments: tuple[Attachment, ...]
    events: tuple[Event, ...]
    history: tuple[tuple[str, str], ...]  # (status, at), oldest first
    structured: tuple[StructuredFile, ...]


def agent_principal(org: Organization, user: User, process_code: str) -> Principal:
    return Principal(
        client_id=f"console:{user.login}", org=org, scope=Scope.SI, process_code=process_code
    )


def check_id(case_id: str) -> str:
    try:
        return str(uuid.UUID(case_id))
    except ValueError:
        raise NotFound("no such dossier") from None


async def locate(runtime: GatewayRuntime, user: User, case_id: str) -> tuple[Principal, Case]:
    """The principal the user acts as on ``case_id``, or NotFound."""
    case_id = check_id(case_id)
    settings = runtime.settings

    def read(tx: object) -> tuple[Organization, Case]:
        org = own_org(tx, settings.company_register, settings.branch_code)
        case: Case | None = tx.case(case_id)  # type: ignore[attr-defined]
        if (
            org is None
            or case is None
            or case.recipient.id != org.id
            or case.status is Status.HUBEE_RECEIVED
            or not user.may_handle(case.process_code)
        ):
            raise NotFound("no such dossier")
        return org, case

    org, case = await runtime.store.read(read)
    return agent_principal(org, user, case.process_code), case


def _history(tx: object, case_id: str) -> tuple[tuple[str, str], ...]:
    rows = sqlite_connection(tx).execute(
        "SELECT status, at FROM case_history WHERE case_id = ? ORDER BY at, rowid", (case_id,)
    )
    return tuple((str(s), str(at)) for s, at in rows)


def _read_blob(runtime: GatewayRuntime, sha256: str) -> bytes:
    out = bytearray()
    for chunk in runtime.blobs.read_chunks(sha256):
        out += chunk
        if len(out) > MAX_BYTES:
            break
    return bytes(out)


async def load(runtime: GatewayRuntime, user: User, case_id: str, *, now: datetime) -> DossierView:
    principal, case = await locate(runtime, user, case_id)
    view = await runtime.services.cases.get(principal, case.id, lite=False, now=now)
    attachments = tuple(view.attachments or ())

    def read(tx: object) -> tuple[Folder | None, tuple[tuple[str, str], ...]]:
        folder: Folder | None = tx.folder(case.folder_id)  # type: ignore[attr-defined]
        return folder, _history(tx, case.id)

    folder, history = await runtime.store.read(read)
    structured = []
    for attachment in attachments:
        if (
            attachment.status is AttachmentStatus.RECEIVED
            and attachment.sha256 is not None
            and is_structured(attachment.file_name, attachment.mime_type)
        ):
            data = await asyncio.to_thread(_read_blob, runtime, attachment.sha256)
            rendered = await asyncio.to_thread(render_data, data, attachment.file_name)
            structured.append(StructuredFile(attachment, rendered))
    return DossierView(
        case=view.case,
        folder=folder,
        attachments=attachments,
        events=tuple(sorted(view.events or (), key=lambda e: e.create_at)),
        history=history,
        structured=tuple(structured),
    )
