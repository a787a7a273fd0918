"""``/link/v1/cases`` and ``/link/v1/receipts``: pull cases and files, move cases, post
events (and their files), and exchange receipts."""

from __future__ import annotations

from aiohttp import web

from hub import link_answers, link_payloads
from hub.link_auth import gateway_required, link, now
from hub.link_model import LinkCaller
from hub.routes_link_folders import content_range, upload_answer
from hubee.http_requests import no_content, partner_info, uuid_param
from hubee.routes_cases import file_response

BASE = "/link/v1"
routes = web.RouteTableDef()
_EVENT = f"{BASE}/cases/{{caseId}}/events/{{eventId}}"


@routes.get(f"{BASE}/cases/{{caseId}}")
@gateway_required
async def get_case(request: web.Request, caller: LinkCaller) -> web.Response:
    found = await link(request).cases.get(caller, uuid_param(request, "caseId"), now=now(request))
    return web.json_response(link_answers.pulled_case(found))


@routes.patch(f"{BASE}/cases/{{caseId}}")
@gateway_required
async def set_status(request: web.Request, caller: LinkCaller) -> web.Response:
    status, message = link_payloads.status_change(await request.read())
    await link(request).cases.set_status(
        caller, uuid_param(request, "caseId"), status, message, now=now(request)
    )
    return no_content()


@routes.get(f"{BASE}/cases/{{caseId}}/attachments/{{attachmentId}}")
@gateway_required
async def download(request: web.Request, caller: LinkCaller) -> web.StreamResponse:
    found = await link(request).cases.attachment(
        caller,
        uuid_param(request, "caseId"),
        uuid_param(request, "attachmentId"),
        now=now(request),
    )
    return await file_response(request, found)


@routes.post(f"{BASE}/cases/{{caseId}}/events")
@gateway_required
async def create_event(request: web.Request, caller: LinkCaller) -> web.Response:
    push = link_payloads.event_push(await request.read())
    event, side, created = await link(request).cases.create_event(
        caller, uuid_param(request, "caseId"), push, partner=partner_info(request), now=now(request)
    )
    body = link_answers.event(event, side, None)
    return web.json_response({"event": body["event"]}, status=201 if created else 200)


@routes.get(_EVENT)
@gateway_required
async def get_event(request: web.Request, caller: LinkCaller) -> web.Response:
    event, side, sealed = await link(request).cases.get_event(
        caller, uuid_param(request, "caseId"), uuid_param(request, "eventId")
    )
    return web.json_response(link_answers.event(event, side, sealed))


@routes.head(f"{_EVENT}/attachments/{{attachmentId}}")
@gateway_required
async def event_upload_offset(request: web.Request, caller: LinkCaller) -> web.Response:
    offset = await link(request).cases.upload_offset(
        caller,
        uuid_param(request, "caseId"),
        uuid_param(request, "eventId"),
        uuid_param(request, "attachmentId"),
    )
    return web.Response(status=200, headers={"Upload-Offset": str(offset)})


@routes.put(f"{_EVENT}/attachments/{{attachmentId}}")
@gateway_required
async def event_upload(request: web.Request, caller: LinkCaller) -> web.Response:
    reached, size = await link(request).cases.upload(
        caller,
        uuid_param(request, "caseId"),
        uuid_param(request, "eventId"),
        uuid_param(request, "attachmentId"),
        request.content.iter_any(),
        digest=request.headers.get("digest"),
        content_range=content_range(request),
        now=now(request),
    )
    return upload_answer(reached, size)


@routes.get(f"{_EVENT}/attachments/{{attachmentId}}", allow_head=False)
@gateway_required
async def event_download(request: web.Request, caller: LinkCaller) -> web.StreamResponse:
    found = await link(request).cases.event_attachment(
        caller,
        uuid_param(request, "caseId"),
        uuid_param(request, "eventId"),
        uuid_param(request, "attachmentId"),
        now=now(request),
    )
    return await file_response(request, found)


@routes.post(f"{BASE}/cases/{{caseId}}/receipt")
@gateway_required
async def post_receipt(request: web.Request, caller: LinkCaller) -> web.Response:
    receipt, seal = link_payloads.receipt_push(await request.read())
    stored, created = await link(request).receipts.accept(
        caller, uuid_param(request, "caseId"), receipt, seal, now=now(request)
    )
    return web.json_response(link_answers.receipt(stored), status=201 if created else 200)


@routes.get(f"{BASE}/receipts/{{receiptId}}")
@gateway_required
async def get_receipt(request: web.Request, caller: LinkCaller) -> web.Response:
    found = await link(request).receipts.get(caller, uuid_param(request, "receiptId"))
    return web.json_response(link_answers.receipt(found))
