"""Webhooks: signed POSTs for new notifications, retried, persisted, never duplicated."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from gateway.folders_retry import Backoff
from gateway.webhooks import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    WebhookConfig,
    verify_signature,
)
from gateway.webhooks_dispatcher import WebhookDispatcher
from gateway.webhooks_queue import WebhookQueue
from tests.integration.gateway_folders.scene import TD, Certdc, running, until
from tests.integration.hub.harness import run_guarded
from tests.loopback_http import closed_port, serve

Run = Callable[..., None]
SECRET = b"a-webhook-secret-of-32-bytes-len"
FAST = Backoff(initial=0.05, maximum=0.2, jitter=0)


@dataclass
class Receiver:
    """A local application's endpoint: answers the listed statuses in turn, then 200."""

    statuses: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    failing: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        if self.failing:
            return web.Response(status=503)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


def _state(db: Path, key: str) -> tuple[str, int, str | None] | None:
    queue = WebhookQueue(db)
    try:
        return queue.state_of(key)
    finally:
        queue.close()


def test_a_new_case_is_posted_signed_and_retried_after_a_500(
    certdc_run: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = Receiver(statuses=[500])
    db = tmp_path / "hook.db"

    async def scenario(world: Certdc) -> None:
        folder = await world.deposit("ER-HOOK-1")
        note = (await world.notifications())[0]
        async with serve("/hook", receiver.handle) as url:
            # Credentials and a query in the URL must not reach the logs.
            host = url.removeprefix("http://")
            config = WebhookConfig(
                url=f"http://app:pa55word@{host}?token=q-secret", secret=SECRET, name="etat-civil"
            )
            dispatcher = WebhookDispatcher(
                config,
                db_path=db,
                api_base_url=world.hub.url,
                credentials=world.si,
                poll_interval=0.05,
                backoff=FAST,
            )
            async with running(dispatcher.run()):
                await until(lambda: len(receiver.got) == 2)
                polls = dispatcher.polls
                await until(lambda: dispatcher.polls >= polls + 5)  # listed again and again
            assert len(receiver.got) == 2  # one delivery, however often it is listed

        now = int(time.time())
        for attempt, (headers, body) in enumerate(receiver.got, start=1):
            assert headers[IDEMPOTENCY_HEADER] == note["id"]
            assert headers[ATTEMPT_HEADER] == str(attempt)
            assert headers["Content-Type"] == "application/json"
            assert verify_signature(SECRET, headers[SIGNATURE_HEADER], body, now=now)
            assert not verify_signature(
                b"another-secret-of-some-length", headers[SIGNATURE_HEADER], body, now=now
            )
            assert not verify_signature(SECRET, headers[SIGNATURE_HEADER], body + b" ", now=now)
            document = json.loads(body)
            assert document["type"] == "case.new"
            assert document["caseId"] == folder["cases"][0]["id"]
            assert document["notificationId"] == note["id"]
            assert document["processCode"] == "CERTDC"
        assert _state(db, note["id"]) == ("delivered", 2, "HTTP 200")
        assert len(await world.notifications()) == 1  # listing never consumes

        # Everything logged in this process but the receiver's own access log.
        logged = "\n".join(
            r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp.access")
        )
        assert "answered HTTP 500" in logged and "delivered" in logged
        for secret in (
            SECRET.decode(),
            "pa55word",
            "q-secret",
            world.si.client_secret,
            world.si_token,
        ):
            assert secret not in logged

    certdc_run(scenario)


def test_a_pending_delivery_survives_a_restart(certdc_run: Run, tmp_path: Path) -> None:
    receiver = Receiver(failing=True)
    db = tmp_path / "hook.db"

    async def scenario(world: Certdc) -> None:
        await world.deposit("ER-HOOK-2")
        note = (await world.notifications())[0]
        async with serve("/hook", receiver.handle) as url:
            config = WebhookConfig(url=url, secret=SECRET)
            first = WebhookDispatcher(
                config,
                db_path=db,
                api_base_url=world.hub.url,
                credentials=world.si,
                poll_interval=0.05,
                backoff=FAST,
            )
            async with running(first.run()):
                await until(lambda: len(receiver.got) >= 2)
            pending = await asyncio.to_thread(_state, db, note["id"])
            assert pending is not None and pending[0] == "pending"

            # The application handles the notification meanwhile: the API lists it no
            # more, so only the queue can bring the delivery back.
            gone = await world.hub.call(
                "DELETE", f"{TD}/notifications/{note['id']}", token=world.si_token
            )
            assert gone.status == 204
            receiver.failing = False
            tries = len(receiver.got)
            second = WebhookDispatcher(config, db_path=db, backoff=FAST)  # no API: queue only
            async with running(second.run()):
                await until(lambda: len(receiver.got) == tries + 1)

        headers, body = receiver.got[-1]
        assert headers[IDEMPOTENCY_HEADER] == note["id"]
        assert int(headers[ATTEMPT_HEADER]) == tries + 1
        assert verify_signature(SECRET, headers[SIGNATURE_HEADER], body, now=int(time.time()))
        assert await asyncio.to_thread(_state, db, note["id"]) == (
            "delivered",
            tries + 1,
            "HTTP 200",
        )

    certdc_run(scenario)


def test_enqueued_notifications_are_given_up_after_the_deadline(tmp_path: Path) -> None:
    db = tmp_path / "hook.db"
    config = WebhookConfig(url=f"http://127.0.0.1:{closed_port()}/hook", secret=SECRET)
    note = {
        "id": "9b2f1c1e-0c1a-4d5e-9c41-2b2b9f0e0a11",
        "caseId": "5d0c6f7a-7a57-4f9e-8f0e-3f2a3c0b9d21",
        "eventId": "c2a1e6a4-31c1-4a0c-9f63-0d6f0d1f8a10",
        "processCode": "CERTDC",
    }

    async def main() -> None:
        dispatcher = WebhookDispatcher(config, db_path=db, backoff=FAST, give_up_after=0.3)
        async with running(dispatcher.run()):
            await until(lambda: dispatcher.is_running)
            assert await dispatcher.enqueue(note) is True
            assert await dispatcher.enqueue(note) is False  # the same notification again
            await until(lambda: (_state(db, note["id"]) or ("",))[0] == "abandoned")
        state = _state(db, note["id"])
        assert state is not None and state[1] >= 2
        assert state[2] is not None and state[2].startswith("no answer (")

    run_guarded(main())
