"""The gateway's LAN API: the HubEE engine (``hubee.app``) plus ``GET /evidence/{id}``.

A HubEE client changes only its base URL and credentials: tokens, folders, cases,
events, notifications and attachments are the engine's own routes, over the gateway's
store (encrypted blobs, journaled facts, upstream routing). ``GET /evidence/{id}``
(a folder id or a case id, bearer token required) answers the dossier's ASiC-E
evidence bundle to a client that may see that folder or case.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from aiohttp import web

from gateway.errors import EvidenceNotReady
from gateway.evidence_export import export_bundle, resolve_folder
from gateway.exports import export_file
from gateway.runtime import GatewayRuntime
from gateway.tables import GatewayTables
from hubee.access import case_side
from hubee.app import make_app
from hubee.errors import NotFound
from hubee.http_errors import error_body
from hubee.http_requests import ALL_SCOPES, requires, uuid_param
from hubee.model import Principal, Scope
from hubee.store import StoreTx

RUNTIME = web.AppKey("gateway.runtime", GatewayRuntime)
BUNDLE_TYPE = "application/vnd.etsi.asic-e+zip"
evidence_routes = web.RouteTableDef()


def visible_folder(tx: StoreTx, principal: Principal, dossier_id: str) -> str:
    """The folder behind ``dossier_id`` if ``principal`` may see it; else NotFound."""
    folder_id = resolve_folder(tx, dossier_id)
    folder = tx.folder(folder_id)
    if (
        folder is not None
        and principal.scope is Scope.OSL
        and principal.org.id == folder.transmitter.id
        and principal.may_use(folder.process_code)
    ):
        return folder_id
    for link in GatewayTables.of(tx).cases_of_folder(folder_id):
        case = tx.case(link.case_id)
        if case is None:
            continue
        try:
            case_side(principal, case)
        except NotFound:
            continue
        return folder_id
    raise NotFound(f"no sealed dossier {dossier_id} here")


@evidence_routes.get("/evidence/{dossierId}")
@requires(*ALL_SCOPES)
async def get_evidence(request: web.Request, principal: Principal) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    dossier_id = uuid_param(request, "dossierId")
    folder_id = await runtime.store.read(lambda tx: visible_folder(tx, principal, dossier_id))
    identity = runtime.identity
    # The bundle holds the dossier in clear: deleted whatever happens, streamed from
    # the file opened before its deletion.
    async with export_file(runtime.settings.data_dir, folder_id) as target:
        try:
            await export_bundle(
                folder_id,
                target,
                store=runtime.store,
                blobs=runtime.blobs,
                journal=runtime.journal,
                sealer=identity.seal,
                anchors=identity.hub_ca,
                journal_key=identity.journal_vkey,
                witness_key=identity.witness_vkey,
                now=runtime.deps.clock(),
            )
        except EvidenceNotReady as exc:
            return web.json_response(
                error_body(503, exc.message), status=503, headers={"Retry-After": "5"}
            )
        stream = await asyncio.to_thread(open, target, "rb")
    try:
        size = await asyncio.to_thread(lambda: os.fstat(stream.fileno()).st_size)
        response = web.StreamResponse(
            headers={
                "Content-Type": BUNDLE_TYPE,
                "Content-Disposition": f'attachment; filename="{folder_id}.asice"',
            }
        )
        response.content_length = size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(stream.read, 1024 * 1024):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await asyncio.to_thread(stream.close)


def make_lan_app(
    runtime: GatewayRuntime, *, route_tables: Sequence[web.RouteTableDef] = ()
) -> web.Application:
    app = make_app(
        runtime.engine_settings, runtime.deps, route_tables=[evidence_routes, *route_tables]
    )
    app[RUNTIME] = runtime
    # Imported here: the console's admin pages read this module's RUNTIME (via metrics).
    from gateway.console.app import setup_console

    setup_console(app, runtime, runtime.settings)  # the browser pages under /console/
    return app
