"""``/referential/v1``: subscriptions (``api_subscription_v1.2.3.yaml``) and admin extras.

Beyond the spec, with ADMIN scope: ``organizations``, ``processes`` and ``clients``
(a new client's secret is answered once and never stored in clear), and ``purge``
(applies the retention delays now). ``DATAPASS`` scope is not supported: subscriptions
are created by the hub's admin.
"""

from __future__ import annotations

from aiohttp import web

from hubee import referential_payloads as parse
from hubee import representations
from hubee.errors import NotFound, ValidationFailed
from hubee.http_requests import query_int, query_list, requires, services, uuid_param
from hubee.model import OrgRef, Principal, Process, Scope, SubscriptionStatus
from hubee.payloads import enum_value
from hubee.store import SubscriptionQuery

BASE = "/referential/v1"
routes = web.RouteTableDef()


@routes.post(f"{BASE}/subscriptions")
@requires(Scope.ADMIN)
async def create_subscription(request: web.Request, principal: Principal) -> web.Response:
    new = parse.new_subscription(await request.read())
    sub = await services(request).directory.subscribe(
        process_code=new.process_code,
        subscriber=new.subscriber,
        activate=new.activate,
        datapass_id=new.datapass_id,
        notification_frequency=new.notification_frequency,
        access_mode=new.access_mode,
        email=new.email,
        local_admin_email=new.local_admin_email,
        delegation_email=new.delegation_email,
    )
    return web.json_response(representations.subscription(sub), status=201)


@routes.get(f"{BASE}/subscriptions")
@requires(Scope.OSL, Scope.ADMIN)
async def list_subscriptions(request: web.Request, principal: Principal) -> web.Response:
    codes = query_list(request, "processCode")
    if not principal.is_admin:  # an operator sees the routing of its own démarche
        assert principal.process_code is not None
        if codes and principal.process_code not in codes:
            codes = ("",)
        else:
            codes = (principal.process_code,)
    status = request.query.get("status")
    offset = query_int(request, "offSet", default=0)
    query = SubscriptionQuery(
        process_codes=codes,
        status=None if status is None else enum_value(SubscriptionStatus, status, "query.status"),
        company_register=request.query.get("companyRegister"),
        offset=offset,
        limit=query_int(request, "maxResult", default=100, minimum=1),
    )
    found, total = await services(request).directory.subscriptions(query)
    end = offset + len(found) - 1 if found else offset
    return web.json_response(
        [representations.subscription(s) for s in found],
        headers={"Content-Range": f"Subscriptions {offset}-{end}/{total}"},
    )


@routes.get(f"{BASE}/subscriptions/{{subscriptionId}}")
@requires(Scope.OSL, Scope.ADMIN)
async def get_subscription(request: web.Request, principal: Principal) -> web.Response:
    sub_id = uuid_param(request, "subscriptionId")
    sub = await services(request).directory.subscription(sub_id)
    if not principal.may_use(sub.process_code):
        raise NotFound(f"Subscription is not found: {sub_id}")
    return web.json_response(representations.subscription(sub))


@routes.put(f"{BASE}/subscriptions/{{subscriptionId}}")
@requires(Scope.ADMIN)
async def update_subscription(request: web.Request, principal: Principal) -> web.Response:
    sub_id = uuid_param(request, "subscriptionId")
    change, process_code, subscriber = parse.subscription_change(await request.read())
    directory = services(request).directory
    current = await directory.subscription(sub_id)
    if process_code is not None and process_code != current.process_code:
        raise ValidationFailed("processCode", "cannot change; create another subscription")
    if subscriber is not None and subscriber.key != current.subscriber.ref.key:
        raise ValidationFailed("subscriber", "cannot change; create another subscription")
    sub = await directory.change_subscription(sub_id, change)
    return web.json_response(representations.subscription(sub))


def _org_json(org_id: str, ref: OrgRef, name: str) -> dict[str, object]:
    return {
        "id": org_id,
        "type": ref.type.value,
        "companyRegister": ref.company_register,
        "branchCode": ref.branch_code,
        "name": name,
    }


@routes.post(f"{BASE}/organizations")
@requires(Scope.ADMIN)
async def create_organization(request: web.Request, principal: Principal) -> web.Response:
    ref, name = parse.new_org(await request.read())
    org = await services(request).directory.add_org(ref, name)
    return web.json_response(_org_json(org.id, org.ref, org.name), status=201)


@routes.get(f"{BASE}/organizations")
@requires(Scope.ADMIN)
async def list_organizations(request: web.Request, principal: Principal) -> web.Response:
    orgs = await services(request).directory.orgs()
    return web.json_response([_org_json(o.id, o.ref, o.name) for o in orgs])


def _process_json(process: Process) -> dict[str, object]:
    return {
        "code": process.code,
        "name": process.name,
        "oslOrganizationId": process.osl_org_id,
        "statusBeforeFileDeletion": process.status_before_file_deletion.value,
        "timeBeforeFileDeletion": process.time_before_file_deletion,
        "timeBeforeArchiving": process.time_before_archiving,
        "timeBeforeFolderDeletion": process.time_before_folder_deletion,
        "attachmentMaxSizeEnabled": process.attachment_max_size,
    }


@routes.post(f"{BASE}/processes")
@requires(Scope.ADMIN)
async def create_process(request: web.Request, principal: Principal) -> web.Response:
    process, osl = parse.new_process(await request.read())
    stored = await services(request).directory.add_process(process, osl=osl)
    return web.json_response(_process_json(stored), status=201)


@routes.get(f"{BASE}/processes")
@requires(Scope.ADMIN)
async def list_processes(request: web.Request, principal: Principal) -> web.Response:
    return web.json_response(
        [_process_json(p) for p in await services(request).directory.processes()]
    )


@routes.get(f"{BASE}/processes/{{code}}")
@requires(Scope.ADMIN)
async def get_process(request: web.Request, principal: Principal) -> web.Response:
    process = await services(request).directory.process(request.match_info["code"])
    return web.json_response(_process_json(process))


@routes.post(f"{BASE}/clients")
@requires(Scope.ADMIN)
async def create_client(request: web.Request, principal: Principal) -> web.Response:
    org, scope, process_code = parse.new_client(await request.read())
    client, secret = await services(request).directory.add_client(
        org=org, scope=scope, process_code=process_code
    )
    return web.json_response(
        {
            "clientId": client.client_id,
            "clientSecret": secret,
            "scope": client.scope.value,
            "processCode": client.process_code,
        },
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@routes.post(f"{BASE}/purge")
@requires(Scope.ADMIN)
async def purge(request: web.Request, principal: Principal) -> web.Response:
    hub = services(request)
    report = await hub.retention.purge(now=hub.clock())
    return web.json_response(report.__dict__)
