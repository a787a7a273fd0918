"""``sceau gateway run``: the LAN API and the hub link, over one :class:`GatewayRuntime`.

Tasks, each restarting its own work after a failure (with backoff) so that no outage
stops the others:

- the LAN HubEE API (``gateway.lan``), which keeps accepting and answering from the
  local store whatever the hub does;
- the journal drain (``gateway.journal_drain``);
- the outbox worker pushing to the hub (``gateway.outbox``, ``gateway.push``);
- the feed long-poll pulling from the hub (``gateway.pull``);
- checkpoints every N entries or T seconds, then their time-stamps (the configured
  TSA, the hub's by default) and the hub's cosignatures (``gateway.checkpoints``);
- what gateway.yaml lists: watched folders, webhooks, the retention purge
  (``gateway.service_tasks``), clients of the LAN API over loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from gateway.console.mail import notifier_for
from gateway.exports import sweep_exports
from gateway.identity import link_ssl_context
from gateway.lan import make_lan_app
from gateway.link_client import LinkClient
from gateway.metrics import ERRORS as METRICS_ERRORS
from gateway.metrics import metrics_routes
from gateway.outbox import Outbox, backoff
from gateway.pull import Puller
from gateway.pull_rejections import EventRejections
from gateway.push import Pusher
from gateway.runtime import GatewayRuntime
from gateway.service_lock import ServiceLock
from gateway.service_tasks import TaskState, check_secrets, configured_tasks, lan_url
from gateway.settings import GatewaySettings
from gateway.status import GatewayStatus, gateway_status, record_errors
from gateway.wakeups import wait_event
from hubee.model import Clock, utc_now
from trust.tsp import AiohttpTimeStamper, TimeStamper

log = logging.getLogger("gateway")
__all__ = ["GatewayService", "GatewayStatus", "gateway_status"]  # status moved to gateway.status


class GatewayService:
    def __init__(
        self,
        runtime: GatewayRuntime,
        *,
        link: LinkClient,
        timestamper: TimeStamper,
        feed_wait: float = 25.0,
    ) -> None:
        self.runtime = runtime
        self.link = link
        self.timestamper = timestamper
        clock = runtime.deps.clock
        identity = runtime.identity
        pusher = Pusher(
            runtime.store,
            runtime.blobs,
            link,
            identity.seal,
            org_key=runtime.settings.org_key,
            clock=clock,
        )
        handlers = {**pusher.handlers(), **EventRejections(link).handlers()}
        self.outbox = Outbox(runtime.store, handlers, clock=clock)
        runtime.sink.listeners.append(self.outbox.poke)
        self.puller = Puller(
            runtime.store,
            runtime.blobs,
            link,
            identity,
            org_key=runtime.settings.org_key,
            clock=clock,
            wait=feed_wait,
            unsealed_from_hub=runtime.settings.unsealed_from_hub,
        )
        self.trust_error: str | None = None
        self.task_states: list[TaskState] = []  # folders, webhooks, purge (gateway.yaml)
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._lock: ServiceLock | None = None
        self.port = 0

    @classmethod
    async def open(cls, settings: GatewaySettings, *, clock: Clock = utc_now) -> GatewayService:
        lock = ServiceLock(settings.paths)  # one service per data folder (rotate-keys)
        await asyncio.to_thread(lock.acquire, purpose="start a second service")
        try:
            runtime = await GatewayRuntime.open(settings, clock=clock)
        except BaseException:
            lock.release()
            raise
        try:
            enrollment = runtime.identity.enrollment
            context = await asyncio.to_thread(link_ssl_context, settings.paths)
            link = LinkClient(settings.hub_url or enrollment.hub_url, context)
            timestamper = AiohttpTimeStamper(
                url=settings.tsa_url or enrollment.tsa_url,
                anchors=runtime.identity.hub_ca,
                session=link.session,
            )
        except BaseException:
            await runtime.close()
            lock.release()
            raise
        service = cls(runtime, link=link, timestamper=timestamper)
        service._lock = lock
        return service

    async def start(self, *, serve_lan: bool = True) -> None:
        runtime = self.runtime
        check_secrets(runtime.settings)  # a missing secret file: exit 3 before serving
        # Bundles in clear a killed gateway left in <data>/exports (gateway.exports).
        await asyncio.to_thread(sweep_exports, runtime.settings.data_dir, now=runtime.deps.clock())
        if serve_lan:
            app = make_lan_app(runtime, route_tables=[metrics_routes])
            app[METRICS_ERRORS] = lambda: (self.puller.last_error, self.trust_error)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(
                self._runner, runtime.settings.lan_host, runtime.settings.lan_port, backlog=1024
            )
            await site.start()
            sockets = getattr(site._server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1]) if sockets else runtime.settings.lan_port
        for work in (
            runtime.drain.run(),
            self.outbox.run(),
            self.puller.run(),
            self._checkpoint_loop(),
            self._trust_loop(),
            record_errors(runtime, self),
        ):
            self._spawn(work)
        lan = lan_url(runtime.settings, self.port) if serve_lan else None
        self.task_states, works = configured_tasks(runtime, lan)
        for work in works:
            self._spawn(work)
        notifier = notifier_for(runtime.settings, runtime.store, port=self.port)
        if notifier is not None:  # console.smtp set: notification e-mails
            self._spawn(notifier.run())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(work))

    async def _checkpoint_loop(self) -> None:
        tick = min(1.0, self.runtime.settings.checkpoint_seconds / 2)
        while True:
            try:
                await self.runtime.checkpoints.maybe_checkpoint()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checkpoint failed")
            await asyncio.sleep(tick)

    async def _trust_loop(self) -> None:
        """Stamp and witness queued checkpoints; back off while the TSA or hub is down."""
        checkpoints = self.runtime.checkpoints
        witness_key = self.runtime.identity.witness_vkey
        attempts = 0
        while True:
            checkpoints.changed.clear()
            try:
                await checkpoints.stamp_pending(self.timestamper)
                await checkpoints.witness_pending(self.link.witness, witness_key)
                attempts, self.trust_error = 0, None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - TSA or hub down: queue, retry later
                attempts += 1
                self.trust_error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                # Once per failure episode; its retries at debug (the "tsa-witness
                # failing/recovered" lines come from record_errors).
                log.log(
                    logging.WARNING if attempts == 1 else logging.DEBUG,
                    "checkpoint time-stamp or witness failed (attempt %d, retrying): %s",
                    attempts,
                    self.trust_error,
                )
                # Back off, but try again as soon as a new checkpoint exists: new
                # entries mean the hub answers the gateway's other calls again.
                await wait_event(checkpoints.changed, backoff(attempts))
                continue
            await wait_event(checkpoints.changed, 5.0)

    async def status(self) -> GatewayStatus:
        return await gateway_status(self.runtime, self)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.link.close()
        await self.runtime.close()
        if self._lock is not None:
            self._lock.release()
