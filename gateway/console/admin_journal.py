"""Journal: its size, the last checkpoints with their TSA time and cosignatures, and
"Vérifier maintenant", which runs the offline verifier (:func:`trust.journal_verify.
verify_journal`) over ``journal.db`` in a worker thread. The page refreshes itself
(a ten-line script, ``static/admin/refresh.js``; without
script, an "Actualiser" link; not ``<meta http-equiv=refresh>``, which axe-core and
RGAA reject as a timed change) while the verifier reports its progress.

One verification at a time per gateway; its outcome is kept in memory until the next
one and written to the journal (``action.admin.journal.verify``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from gateway.console.admin_common import journal_action, render_admin
from gateway.console.admin_health import checkpoint_view
from gateway.console.audit import audit
from gateway.console.keys import Caller, console_of
from gateway.console.pages import admin_page, flash, redirect, url
from gateway.identity import journal_origin
from gateway.runtime import GatewayRuntime
from trust.journal_verify import verify_journal
from trust.results import Check

log = logging.getLogger("gateway.console")
SHOWN_CHECKPOINTS = 10


@dataclass
class Verification:
    """The running (or last) verification: progress, then the verdict and its checks."""

    started_at: datetime
    by: str
    done: int = 0
    total: int = 0
    finished_at: datetime | None = None
    ok: bool | None = None
    checks: tuple[Check, ...] = ()
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def percent(self) -> int:
        with self.lock:
            return 100 if not self.total else min(100, self.done * 100 // self.total)

    def progress(self, done: int, total: int) -> None:
        with self.lock:  # called from the verifier's thread
            self.done, self.total = done, total


Done = Callable[[Verification], Awaitable[None]]


class JournalVerifications:
    """Holds the current verification and the task running it."""

    def __init__(self) -> None:
        self.current: Verification | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, runtime: GatewayRuntime, by: str, on_done: Done) -> bool:
        if self.current is not None and self.current.running:
            return False
        job = Verification(started_at=runtime.deps.clock(), by=by)
        self.current = job
        self._task = asyncio.create_task(self._run(runtime, job, on_done))
        return True

    async def _run(self, runtime: GatewayRuntime, job: Verification, on_done: Done) -> None:
        identity = runtime.identity
        try:
            result = await asyncio.to_thread(
                verify_journal,
                runtime.settings.paths.journal,
                journal_keys=[identity.journal_vkey],
                witness_keys=[identity.witness_vkey],
                origin=journal_origin(runtime.settings),
                progress=job.progress,
            )
            job.ok, job.checks = result.ok, result.checks
        except Exception as exc:
            log.exception("journal verification could not run")
            job.ok, job.error = False, f"{type(exc).__name__}: {exc}"
        job.finished_at = runtime.deps.clock()
        try:
            await on_done(job)
        except Exception:
            log.exception("journal verification: audit entry failed")


def _journal_bytes(runtime: GatewayRuntime) -> int:
    path = runtime.settings.paths.journal
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(FileNotFoundError):
            total += os.stat(f"{path}{suffix}").st_size
    return total


def add_routes(router: web.UrlDispatcher) -> None:
    verifications = JournalVerifications()

    @admin_page
    async def journal(request: web.Request, caller: Caller) -> web.StreamResponse:
        runtime = console_of(request).runtime
        records = await runtime.journal.checkpoints()
        shown = [checkpoint_view(r) for r in reversed(records[-SHOWN_CHECKPOINTS:])]
        job = verifications.current
        return await render_admin(
            request,
            "admin/journal.html",
            "admin/journal",
            {
                "size": await runtime.journal.size(),
                "bytes": await asyncio.to_thread(_journal_bytes, runtime),
                "checkpoint_count": len(records),
                "checkpoints": shown,
                "job": job,
                "refresh": job is not None and job.running,
            },
        )

    @admin_page
    async def verify(request: web.Request, caller: Caller) -> web.StreamResponse:
        runtime = console_of(request).runtime
        login = caller.user.login

        async def done(job: Verification) -> None:
            await audit(
                runtime,
                "action.admin.journal.verify.done",
                login=login,
                now=runtime.deps.clock(),
                valid=bool(job.ok),
                entries=job.total,
            )

        if verifications.start(runtime, login, done):
            await journal_action(request, caller, "journal.verify")
            await flash(request, caller, "Vérification du journal lancée.", kind="info")
        else:
            await flash(request, caller, "Une vérification est déjà en cours.", kind="info")
        return redirect(url("admin/journal"))

    router.add_get("/admin/journal", journal, name="admin-journal")
    router.add_post("/admin/journal/verifier", verify, name="admin-journal-verify")
