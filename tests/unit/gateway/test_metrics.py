"""``GET /metrics``: figures from the stores, for the bearer of the metrics token only
(loopback peers included)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from gateway.lan import make_lan_app
from gateway.local_directory import add_client
from gateway.metrics import (
    ERRORS,
    _authorised,
    certificate_days_left,
    create_metrics_token,
    exposition,
    metrics_routes,
    snapshot,
)
from gateway.runtime import GatewayRuntime
from gateway.settings_tasks import WatchedFolder
from gateway.status import HUB_FEED, record_error
from hubee.model import Scope
from tests.unit.gateway.support import (
    DGS,
    SAINT_DENIS,
    HubPki,
    LanClient,
    certdc_folder,
    deposit,
    enroll_offline,
)


def test_metrics_count_dossiers_queues_and_certificates(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "dgs", HubPki.create(), DGS, "OSL")

    Answer = tuple[int, str, str]

    async def main() -> tuple[Answer, Answer, Answer, Answer, int]:
        runtime = await GatewayRuntime.open(settings)
        app = make_lan_app(runtime, route_tables=[metrics_routes])
        app[ERRORS] = lambda: ("hub down", None)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        try:
            new = await add_client(
                runtime.services,
                runtime.store,
                name="logiciel-dgs",
                company_register=DGS[0],
                branch_code=DGS[1],
                process_code="CERTDC",
                scope=Scope.OSL,
            )
            async with aiohttp.ClientSession() as session:

                async def scrape(headers: dict[str, str]) -> Answer:
                    async with session.get(f"{base}/metrics", headers=headers) as r:
                        return r.status, r.headers.get("WWW-Authenticate", ""), await r.text()

                client = LanClient(session, base)
                await client.login(new.client.client_id, new.secret, "OSL")
                await deposit(client, *certdc_folder(SAINT_DENIS, "ER1"))
                # From loopback, no token file yet: refused all the same.
                before = await scrape({"Authorization": "Bearer guess"})
                token = await asyncio.to_thread(create_metrics_token, settings.paths)
                auth = {"Authorization": f"Bearer {token}"}
                bare = await scrape({})
                bad = await scrape({"Authorization": "Bearer nope"})
                good = await scrape(auth)
                # Other HubEE routes still need their own token.
                async with session.get(f"{base}/teledossiers/v1/folders/x", headers=auth) as r:
                    other = r.status
            return before, bare, bad, good, other
        finally:
            await runner.cleanup()
            await runtime.close()

    before, bare, bad, good, other = asyncio.run(main())
    assert before[0] == 401 and 'error="invalid_token"' in before[1]
    assert bare[0] == 401 and bare[1] == 'Bearer realm="sceau-metrics"'
    assert "sceau gateway metrics-token" in bare[2] and "sceau_gateway" not in bare[2]
    assert bad[0] == 401 and bad[1].startswith("Bearer ") and "invalid_token" in bad[1]
    assert good[0] == 200 and other == 401
    text = good[2]
    families = {f.name for f in text_string_to_metric_families(text)}
    assert {"sceau_gateway_dossiers", "sceau_gateway_outbox_items"} <= families
    assert 'sceau_gateway_dossiers{direction="out",process="CERTDC",status=' in text
    assert 'sceau_gateway_outbox_items{state="pending"} 1.0' in text
    assert "sceau_gateway_checkpoints_unstamped" in text
    assert "sceau_gateway_hub_feed_error 1.0" in text
    assert "sceau_gateway_tsa_witness_error 0.0" in text
    assert 'sceau_gateway_certificate_days_left{certificate="tls"}' in text


def test_only_the_bearer_of_the_token_file_is_authorised(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    # No token file: nobody, whatever is presented.
    assert not _authorised("", settings.paths)
    assert not _authorised("Bearer ", settings.paths)
    assert not _authorised("Bearer x", settings.paths)
    token = create_metrics_token(settings.paths)
    assert oct((settings.paths.keys / "metrics.token").stat().st_mode & 0o777) == "0o600"
    assert _authorised(f"Bearer {token}", settings.paths)
    assert not _authorised(token, settings.paths)  # not a bearer scheme
    assert not _authorised(f"Basic {token}", settings.paths)
    assert not _authorised(f"Bearer {token}x", settings.paths)
    # A new token replaces the old one.
    newer = create_metrics_token(settings.paths)
    assert _authorised(f"Bearer {newer}", settings.paths)
    assert not _authorised(f"Bearer {token}", settings.paths)


def test_certificate_days_left(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    days = certificate_days_left(settings.paths, now=datetime.now(UTC))
    assert set(days) == {"tls", "seal", "hub-ca"} and all(d > 1 for d in days.values())


def test_task_errors_count_only_for_tasks_still_configured(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s")
    folder = WatchedFolder("CERTDC", Path("in-certdc"), "SI", "client-1", secret)
    settings = replace(
        enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL"), folders=(folder,)
    )

    async def main() -> str:
        runtime = await GatewayRuntime.open(settings)
        try:
            await record_error(runtime, "task:watched folders CERTDC (SI)", "login refused")
            await record_error(runtime, "task:watched folders RSA (SI)", "removed since")
            await record_error(runtime, HUB_FEED, "hub down")
            snap = await snapshot(runtime, now=datetime.now(UTC))
            return exposition(snap).decode()
        finally:
            await runtime.close()

    text = asyncio.run(main())
    assert 'sceau_gateway_error_active{source="task:watched folders CERTDC (SI)"} 1.0' in text
    assert 'sceau_gateway_error_active{source="hub-feed"} 1.0' in text
    assert "RSA" not in text  # the task is no longer in gateway.yaml
