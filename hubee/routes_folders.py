"""``/teledossiers/v1``: notifications and folders (``api_folder_v1.2.7.yaml``)."""

from __future__ import annotations

from aiohttp import web

from hubee import payloads, representations
from hubee.http_requests import (
    ALL_SCOPES,
    no_content,
    now,
    partner_info,
    query_flag,
    query_int,
    query_list,
    require_patch_override,
    requires,
    services,
    uuid_param,
)
from hubee.model import Principal, Scope
from hubee.notifications import DEFAULT_PAGE, NotificationFilter

BASE = "/teledossiers/v1"
routes = web.RouteTableDef()


@routes.get(f"{BASE}/notifications")
@requires(*ALL_SCOPES)
async def list_notifications(request: web.Request, principal: Principal) -> web.Response:
    wanted = NotificationFilter(
        max_result=query_int(request, "maxResult", default=DEFAULT_PAGE, minimum=1),
        process_codes=query_list(request, "processCode"),
        priority=query_list(request, "processPriority"),
    )
    details = query_flag(request, "eventDetails")
    found = await services(request).notifications.list(principal, wanted)
    return web.json_response(
        [representations.notification(n, event_details=details) for n in found]
    )


@routes.delete(f"{BASE}/notifications/{{notificationId}}")
@requires(*ALL_SCOPES)
async def delete_notification(request: web.Request, principal: Principal) -> web.Response:
    notification_id = uuid_param(request, "notificationId")
    await services(request).notifications.delete(principal, notification_id, now=now(request))
    return no_content()


@routes.post(f"{BASE}/folders")
@requires(Scope.OSL, Scope.ADMIN)
async def create_folder(request: web.Request, principal: Principal) -> web.Response:
    cmd = payloads.new_folder(await request.read())
    folder, _ = await services(request).folders.create(
        principal, cmd, partner=partner_info(request), now=now(request)
    )
    return web.json_response(representations.folder(folder), status=201)


@routes.get(f"{BASE}/folders/{{folderId}}")
@requires(Scope.OSL, Scope.ADMIN)
async def get_folder(request: web.Request, principal: Principal) -> web.Response:
    folder = await services(request).folders.get(principal, uuid_param(request, "folderId"))
    return web.json_response(representations.folder(folder))


async def _update_folder(request: web.Request, principal: Principal) -> web.Response:
    folder_id = uuid_param(request, "folderId")
    cmd = payloads.folder_update(await request.read())
    await services(request).folders.update(principal, folder_id, cmd, now=now(request))
    return no_content()


@routes.patch(f"{BASE}/folders/{{folderId}}")
@requires(Scope.OSL, Scope.ADMIN)
async def update_folder(request: web.Request, principal: Principal) -> web.Response:
    return await _update_folder(request, principal)


@routes.post(f"{BASE}/folders/{{folderId}}")
@requires(Scope.OSL, Scope.ADMIN)
async def update_folder_with_post(request: web.Request, principal: Principal) -> web.Response:
    require_patch_override(request)
    return await _update_folder(request, principal)


@routes.delete(f"{BASE}/folders/{{folderId}}")
@requires(Scope.OSL, Scope.ADMIN)
async def delete_folder(request: web.Request, principal: Principal) -> web.Response:
    folder_id = uuid_param(request, "folderId")
    await services(request).folders.delete(principal, folder_id, now=now(request))
    return no_content()


@routes.put(f"{BASE}/folders/{{folderId}}/attachments/{{attachmentId}}")
@requires(Scope.OSL, Scope.ADMIN)
async def upload_folder_attachment(request: web.Request, principal: Principal) -> web.Response:
    await services(request).attachments.receive_for_folder(
        principal,
        uuid_param(request, "folderId"),
        uuid_param(request, "attachmentId"),
        request.content.iter_any(),
        digest=request.headers.get("digest"),
        content_length=request.content_length,
        now=now(request),
    )
    return no_content()
