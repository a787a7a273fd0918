"""``/teledossiers/v1``: cases, their events and attachments (``api_folder_v1.2.7.yaml``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from aiohttp import web

from hubee import payloads, representations
from hubee.attachments import BlobFile
from hubee.http_requests import (
    ALL_SCOPES,
    no_content,
    now,
    partner_info,
    query_flag,
    require_patch_override,
    requires,
    services,
    uuid_param,
)
from hubee.model import Principal

BASE = "/teledossiers/v1"
# Bytes read per worker-thread hop when streaming over TLS: twice asyncio's sendfile
# fallback, and what each concurrent download holds in memory (with the TLS copies);
# in a burst of 200 1 MB dossiers, 1 MiB cost the hub 6 MB more peak RSS
# for no less CPU.
TLS_CHUNK = 512 * 1024
routes = web.RouteTableDef()


async def file_response(request: web.Request, found: BlobFile) -> web.StreamResponse:
    """The blob with its ``digest`` header: sent from disk (sendfile) when stored as is,
    else streamed from the store's reader (run in a worker thread, chunk by chunk)."""
    name = found.attachment.file_name
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        ),
        "digest": found.digest,
    }
    if found.plain or found.chunks is None:
        tls = request.transport is not None and request.transport.get_extra_info("sslcontext")
        if not tls or "Range" in request.headers or request.method != "GET":
            return web.FileResponse(found.path, headers=headers)
        # Over TLS the kernel's sendfile cannot be used, and asyncio's fallback reads
        # 256 KiB per worker-thread hop: read larger chunks (one hop for a small file).
        return await _stream(request, found, headers)
    response = web.StreamResponse(headers=headers)
    response.content_length = found.attachment.size
    chunks = await asyncio.to_thread(found.chunks)
    await response.prepare(request)
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        await response.write(chunk)
    await response.write_eof()
    return response


def _open_first(path: Path) -> tuple[BinaryIO, int, bytes]:
    """Open, size and read the first chunk in one worker-thread hop (closed if that is all)."""
    stream = path.open("rb")
    try:
        size = os.fstat(stream.fileno()).st_size
        first = stream.read(TLS_CHUNK)
    except BaseException:
        stream.close()
        raise
    if len(first) >= size:
        stream.close()
    return stream, size, first


async def _stream(
    request: web.Request, found: BlobFile, headers: dict[str, str]
) -> web.StreamResponse:
    stream, size, chunk = await asyncio.to_thread(_open_first, found.path)
    try:
        response = web.StreamResponse(headers={**headers, "Accept-Ranges": "bytes"})
        response.content_length = size
        await response.prepare(request)
        sent = 0
        while chunk:
            await response.write(chunk)
            sent += len(chunk)
            if sent >= size:
                break
            chunk = await asyncio.to_thread(stream.read, TLS_CHUNK)
        await response.write_eof()
        return response
    finally:
        if not stream.closed:
            await asyncio.to_thread(stream.close)


@routes.get(f"{BASE}/cases/{{caseId}}")
@requires(*ALL_SCOPES)
async def get_case(request: web.Request, principal: Principal) -> web.Response:
    view = await services(request).cases.get(
        principal, uuid_param(request, "caseId"), lite=query_flag(request, "lite"), now=now(request)
    )
    return web.json_response(
        representations.case(
            view.case, attachments=view.attachments, events=view.events, reader=view.side
        )
    )


async def _update_case(request: web.Request, principal: Principal) -> web.Response:
    case_id = uuid_param(request, "caseId")
    status = payloads.case_status(await request.read())
    await services(request).cases.set_status(principal, case_id, status, now=now(request))
    return no_content()


@routes.patch(f"{BASE}/cases/{{caseId}}")
@requires(*ALL_SCOPES)
async def update_case(request: web.Request, principal: Principal) -> web.Response:
    return await _update_case(request, principal)


@routes.post(f"{BASE}/cases/{{caseId}}")
@requires(*ALL_SCOPES)
async def update_case_with_post(request: web.Request, principal: Principal) -> web.Response:
    require_patch_override(request)
    return await _update_case(request, principal)


@routes.get(f"{BASE}/cases/{{caseId}}/attachments/{{attachmentId}}")
@requires(*ALL_SCOPES)
async def download_case_attachment(
    request: web.Request, principal: Principal
) -> web.StreamResponse:
    found = await services(request).attachments.for_case(
        principal,
        uuid_param(request, "caseId"),
        uuid_param(request, "attachmentId"),
        now=now(request),
    )
    return await file_response(request, found)


@routes.post(f"{BASE}/cases/{{caseId}}/events")
@requires(*ALL_SCOPES)
async def create_event(request: web.Request, principal: Principal) -> web.Response:
    case_id = uuid_param(request, "caseId")
    cmd = payloads.new_event(await request.read())
    event = await services(request).cases.create_event(
        principal, case_id, cmd, partner=partner_info(request), now=now(request)
    )
    return web.json_response(representations.event(event, reader=event.side), status=201)


@routes.get(f"{BASE}/cases/{{caseId}}/events/{{eventId}}")
@requires(*ALL_SCOPES)
async def get_event(request: web.Request, principal: Principal) -> web.Response:
    event, side = await services(request).cases.get_event(
        principal, uuid_param(request, "caseId"), uuid_param(request, "eventId")
    )
    return web.json_response(representations.event(event, reader=side))


async def _update_event(request: web.Request, principal: Principal) -> web.Response:
    case_id = uuid_param(request, "caseId")
    event_id = uuid_param(request, "eventId")
    cmd = payloads.event_update(await request.read())
    await services(request).cases.set_event_status(
        principal, case_id, event_id, cmd.status, now=now(request)
    )
    return no_content()


@routes.patch(f"{BASE}/cases/{{caseId}}/events/{{eventId}}")
@requires(*ALL_SCOPES)
async def update_event(request: web.Request, principal: Principal) -> web.Response:
    return await _update_event(request, principal)


@routes.post(f"{BASE}/cases/{{caseId}}/events/{{eventId}}")
@requires(*ALL_SCOPES)
async def update_event_with_post(request: web.Request, principal: Principal) -> web.Response:
    require_patch_override(request)
    return await _update_event(request, principal)


@routes.delete(f"{BASE}/cases/{{caseId}}/events/{{eventId}}")
@requires(*ALL_SCOPES)
async def delete_event(request: web.Request, principal: Principal) -> web.Response:
    await services(request).cases.delete_event(
        principal, uuid_param(request, "caseId"), uuid_param(request, "eventId"), now=now(request)
    )
    return no_content()


@routes.put(f"{BASE}/cases/{{caseId}}/events/{{eventId}}/attachments/{{attachmentId}}")
@requires(*ALL_SCOPES)
async def upload_event_attachment(request: web.Request, principal: Principal) -> web.Response:
    await services(request).attachments.receive_for_event(
        principal,
        uuid_param(request, "caseId"),
        uuid_param(request, "eventId"),
        uuid_param(request, "attachmentId"),
        request.content.iter_any(),
        digest=request.headers.get("digest"),
        content_length=request.content_length,
        now=now(request),
    )
    return no_content()


@routes.get(f"{BASE}/cases/{{caseId}}/events/{{eventId}}/attachments/{{attachmentId}}")
@requires(*ALL_SCOPES)
async def download_event_attachment(
    request: web.Request, principal: Principal
) -> web.StreamResponse:
    found = await services(request).attachments.for_event(
        principal,
        uuid_param(request, "caseId"),
        uuid_param(request, "eventId"),
        uuid_param(request, "attachmentId"),
        now=now(request),
    )
    return await file_response(request, found)


@routes.get(f"{BASE}/attachmentsIdsForPurge")
@requires(*ALL_SCOPES)
async def list_ids_for_purge(request: web.Request, principal: Principal) -> web.Response:
    pairs = await services(request).retention.portal_pending(principal, limit=1000)
    return web.json_response([{"folder_attachment_id": a, "case_id": c} for a, c in pairs])


@routes.put(f"{BASE}/idsPurged")
@requires(*ALL_SCOPES)
async def acknowledge_purged(request: web.Request, principal: Principal) -> web.Response:
    pairs = payloads.purge_pairs(await request.read())
    await services(request).retention.portal_acknowledge(principal, pairs)
    return no_content()
