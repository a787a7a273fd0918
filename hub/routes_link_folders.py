"""``/link/v1/folders``: an operator's gateway pushes sealed folders and their files."""

from __future__ import annotations

from aiohttp import web

from hub import link_payloads
from hub.link_auth import gateway_required, link, now
from hub.link_model import LinkCaller
from hub.uploads import ContentRange
from hubee import representations
from hubee.http_requests import partner_info, uuid_param

BASE = "/link/v1/folders"
routes = web.RouteTableDef()


def upload_answer(reached: int, size: int) -> web.Response:
    """204 once the whole attachment is in; 202 with the offset for a partial one."""
    headers = {"Upload-Offset": str(reached), "Upload-Length": str(size)}
    return web.Response(status=204 if reached == size else 202, headers=headers)


def content_range(request: web.Request) -> ContentRange | None:
    raw = request.headers.get("Content-Range")
    return None if raw is None else ContentRange.parse(raw)


@routes.put(f"{BASE}/{{folderId}}")
@gateway_required
async def push_folder(request: web.Request, caller: LinkCaller) -> web.Response:
    folder_id = uuid_param(request, "folderId")
    push = link_payloads.folder_push(await request.read())
    folder, created = await link(request).folders.push(
        caller, folder_id, push, partner=partner_info(request), now=now(request)
    )
    return web.json_response(
        {"folder": representations.folder(folder)}, status=201 if created else 200
    )


@routes.head(f"{BASE}/{{folderId}}/attachments/{{attachmentId}}")
@gateway_required
async def upload_offset(request: web.Request, caller: LinkCaller) -> web.Response:
    offset = await link(request).folders.upload_offset(
        caller, uuid_param(request, "folderId"), uuid_param(request, "attachmentId")
    )
    return web.Response(status=200, headers={"Upload-Offset": str(offset)})


@routes.put(f"{BASE}/{{folderId}}/attachments/{{attachmentId}}")
@gateway_required
async def upload(request: web.Request, caller: LinkCaller) -> web.Response:
    reached, size = await link(request).folders.upload(
        caller,
        uuid_param(request, "folderId"),
        uuid_param(request, "attachmentId"),
        request.content.iter_any(),
        digest=request.headers.get("digest"),
        content_range=content_range(request),
        now=now(request),
    )
    return upload_answer(reached, size)


@routes.post(f"{BASE}/{{folderId}}/complete")
@gateway_required
async def complete(request: web.Request, caller: LinkCaller) -> web.Response:
    folder = await link(request).folders.complete(
        caller, uuid_param(request, "folderId"), now=now(request)
    )
    return web.json_response({"folder": representations.folder(folder)})
