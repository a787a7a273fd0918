"""Delivers one client's webhook: queue notifications, POST them signed, retry with backoff.

Notifications come either from :meth:`WebhookDispatcher.enqueue` (the gateway calls it
when it creates one) or, given ``api_base_url`` and the client's credentials, from
listing ``GET /notifications`` every ``poll_interval`` seconds, as any HubEE client
would. Listing does not consume notifications (the client's application deletes them
when it has handled them); the queue's unique key keeps each one to one delivery.

Deliveries are persisted (:mod:`gateway.webhooks_queue`) before the first attempt,
retried after any non-2xx answer or network error with progressive backoff, and given
up (logged as an error) after ``give_up_after`` seconds. Redirects are not followed:
a signed body goes only to the configured URL. Logs name the URL without its user,
password or query, and never the secret.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from gateway.folders_api import ClientCredentials, HubeeApi
from gateway.folders_errors import FolderError
from gateway.folders_retry import Backoff
from gateway.wakeups import wait_event
from gateway.webhooks import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    WebhookConfig,
    payload,
    signature,
)
from gateway.webhooks_queue import Delivery, WebhookQueue

log = logging.getLogger("sceau.webhooks")

NOTIFICATIONS = "/teledossiers/v1/notifications"
DAY = 86400.0


class WebhookDispatcher:
    def __init__(
        self,
        config: WebhookConfig,
        *,
        db_path: Path,
        api_base_url: str | None = None,
        credentials: ClientCredentials | None = None,
        poll_interval: float = 2.0,
        backoff: Backoff | None = None,
        give_up_after: float = 3 * DAY,
        keep_done_for: float = 30 * DAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (api_base_url is None) != (credentials is None):
            raise ValueError("give both api_base_url and credentials, or neither")
        self.config = config
        self._db_path = db_path
        self._api_base_url = api_base_url
        self._credentials = credentials
        self._poll_interval = poll_interval
        self._backoff = backoff or Backoff(initial=5.0, maximum=3600.0)
        self._give_up_after = give_up_after
        self._keep_done_for = keep_done_for
        self._clock = clock
        self._queue: WebhookQueue | None = None
        self._wake = asyncio.Event()
        self.polls = 0  # completed listings of notifications
        self.sent = 0  # attempts made, successful or not

    @property
    def is_running(self) -> bool:
        """True once :meth:`run` has opened the queue (and :meth:`enqueue` may be called)."""
        return self._queue is not None

    async def run(self) -> None:
        """Deliver (and, with an API, poll) until cancelled."""
        queue = await asyncio.to_thread(WebhookQueue, self._db_path)
        self._queue = queue
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, asyncio.TaskGroup() as tg:
                tg.create_task(self._send_loop(http, queue))
                if self._api_base_url is not None and self._credentials is not None:
                    tg.create_task(self._poll_loop(queue))
        finally:
            self._queue = None
            await asyncio.to_thread(queue.close)

    async def enqueue(self, notification: dict[str, Any]) -> bool:
        """Queue a webhook for a HubEE notification; False if it was queued before."""
        queue = self._queue
        if queue is None:
            raise RuntimeError("the dispatcher is not running")
        key = notification.get("id")
        if not isinstance(key, str) or not key:
            raise ValueError("a notification needs its id")
        added = await asyncio.to_thread(queue.add, key, payload(notification), now=self._clock())
        if added:
            self._wake.set()
        return added

    async def _poll_loop(self, queue: WebhookQueue) -> None:
        assert self._api_base_url is not None and self._credentials is not None
        failures = 0
        last_prune = 0.0
        known: set[str] = set()
        async with HubeeApi(self._api_base_url, self._credentials) as api:
            while True:
                pause = self._poll_interval
                try:
                    notes = await api.call_json("GET", NOTIFICATIONS, params={"maxResult": "1000"})
                    listed = [
                        n for n in notes if isinstance(n, dict) and isinstance(n.get("id"), str)
                    ]
                    for note in listed:
                        if note["id"] not in known:  # listed last round: queued already
                            await self.enqueue(note)
                    known = {n["id"] for n in listed}
                    if self._clock() - last_prune > 3600:
                        last_prune = self._clock()
                        await asyncio.to_thread(
                            queue.prune,
                            done_before=self._clock() - self._keep_done_for,
                            still_listed=[n["id"] for n in listed],
                        )
                    failures = 0
                except FolderError as exc:
                    failures += 1
                    pause = max(pause, self._backoff.delay(failures))
                    log.warning(
                        "%s: listing notifications failed: %s", self.config.name, exc.message
                    )
                except Exception:  # a bug must not stop the deliveries: logged, retried
                    failures += 1
                    pause = max(pause, self._backoff.delay(failures))
                    log.exception("%s: listing notifications failed", self.config.name)
                self.polls += 1
                await asyncio.sleep(pause)

    async def _send_loop(self, http: aiohttp.ClientSession, queue: WebhookQueue) -> None:
        while True:
            self._wake.clear()
            for delivery in await asyncio.to_thread(queue.due, now=self._clock()):
                await self._deliver(http, queue, delivery)
            next_due = await asyncio.to_thread(queue.next_due)
            wait = 60.0 if next_due is None else min(60.0, max(0.0, next_due - self._clock()))
            await wait_event(self._wake, wait)

    async def _deliver(
        self, http: aiohttp.ClientSession, queue: WebhookQueue, delivery: Delivery
    ) -> None:
        attempt = delivery.attempts + 1
        now = self._clock()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "sceau-gateway",
            IDEMPOTENCY_HEADER: delivery.key,
            SIGNATURE_HEADER: signature(self.config.secret, int(now), delivery.body),
            ATTEMPT_HEADER: str(attempt),
        }
        try:
            async with http.post(
                self.config.url, data=delivery.body, headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(64 * 1024)  # the receiver's answer is not used
                status: int | None = response.status
            result = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, result = None, f"no answer ({type(exc).__name__})"
        self.sent += 1
        done = self._clock()
        if status is not None and 200 <= status < 300:
            await asyncio.to_thread(queue.mark_delivered, delivery.key, now=done, result=result)
            log.info(
                "%s: delivered %s to %s", self.config.name, delivery.key, self.config.display_url
            )
        elif done - delivery.created >= self._give_up_after:
            await asyncio.to_thread(queue.mark_abandoned, delivery.key, now=done, result=result)
            log.error(
                "%s: gave up delivering %s to %s after %d attempts (last: %s)",
                self.config.name,
                delivery.key,
                self.config.display_url,
                attempt,
                result,
            )
        else:
            delay = self._backoff.delay(attempt)
            await asyncio.to_thread(
                queue.reschedule, delivery.key, next_try=done + delay, result=result
            )
            log.warning(
                "%s: %s answered %s for %s (attempt %d; next in %.0f s)",
                self.config.name,
                self.config.display_url,
                result,
                delivery.key,
                attempt,
                delay,
            )
