"""« Preuve »: the plain-words summary of a dossier's evidence, and the bundle itself."""

from __future__ import annotations

import asyncio
import os
import re

from aiohttp import web

from gateway.console import dossier, proof
from gateway.console.audit import audit
from gateway.console.keys import Caller, console_of
from gateway.console.pages import agent_page, render
from gateway.errors import EvidenceNotReady
from gateway.exports import discard

BUNDLE_TYPE = "application/vnd.etsi.asic-e+zip"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_NOT_READY = (
    "La preuve de ce dossier n'est pas encore prête : la dernière action doit d'abord "
    "être horodatée et contresignée, ce qui prend en général moins d'une minute. "
    "Rechargez cette page dans un instant."
)


def bundle_headers(external_id: str) -> dict[str, str]:
    """The download's headers; the sender chose ``external_id``: only safe characters."""
    safe = _UNSAFE_NAME.sub("_", external_id)[:100] or "dossier"
    return {
        "Content-Type": BUNDLE_TYPE,
        "Content-Disposition": f'attachment; filename="preuve-{safe}.asice"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


@agent_page
async def _summary(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    _, case = await dossier.locate(runtime, caller.user, request.match_info["caseId"])
    now = runtime.deps.clock()
    try:
        found: proof.Proof | None = await proof.prove(runtime, case.id)
    except EvidenceNotReady:
        found = None
    await audit(runtime, "evidence.summary", login=caller.user.login, now=now, case=case.id)
    return await render(
        request,
        "proof.html",
        {
            "case": case,
            "proof": found,
            "not_ready": _NOT_READY,
            "parse_time": proof.parse_time,
        },
    )


@agent_page
async def _bundle(request: web.Request, caller: Caller) -> web.StreamResponse:
    runtime = console_of(request).runtime
    _, case = await dossier.locate(runtime, caller.user, request.match_info["caseId"])
    now = runtime.deps.clock()
    try:
        done = await proof.export_to(runtime, case.id)
    except EvidenceNotReady:
        return await render(
            request,
            "proof.html",
            {"case": case, "proof": None, "not_ready": _NOT_READY},
            status=503,
        )
    # The bundle holds the dossier in clear: unlink it now, stream from the open file.
    try:
        await audit(runtime, "evidence.download", login=caller.user.login, now=now, case=case.id)
        stream = await asyncio.to_thread(open, done.path, "rb")
    finally:
        await asyncio.to_thread(discard, done.path)
    try:
        size = await asyncio.to_thread(lambda: os.fstat(stream.fileno()).st_size)
        response = web.StreamResponse(headers=bundle_headers(case.external_id))
        response.content_length = size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(stream.read, 1024 * 1024):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await asyncio.to_thread(stream.close)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/dossiers/{caseId}/preuve", _summary)
    router.add_get("/dossiers/{caseId}/preuve.asice", _bundle)
