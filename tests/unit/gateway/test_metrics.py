"""``GET /metrics``: figures from the stores, loopback or bearer token only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.lan import make_lan_app
from gateway.local_directory import add_client
from gateway.metrics import (
    ERRORS,
    _authorised,
    certificate_days_left,
    create_metrics_token,
    metrics_routes,
)
from gateway.runtime import GatewayRuntime
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

    async def main() -> tuple[int, str, int, int, int]:
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
                client = LanClient(session, base)
                await client.login(new.client.client_id, new.secret, "OSL")
                await deposit(client, *certdc_folder(SAINT_DENIS, "ER1"))
                async with session.get(f"{base}/metrics") as r:
                    status, text = r.status, await r.text()
                token = await asyncio.to_thread(create_metrics_token, settings.paths)
                auth = {"Authorization": f"Bearer {token}"}
                async with session.get(f"{base}/metrics", headers=auth) as r:
                    good = r.status
                async with session.get(
                    f"{base}/metrics", headers={"Authorization": "Bearer nope"}
                ) as r:
                    bad = r.status
                # Other HubEE routes still need their own token.
                async with session.get(f"{base}/teledossiers/v1/folders/x", headers=auth) as r:
                    other = r.status
            return status, text, good, bad, other
        finally:
            await runner.cleanup()
            await runtime.close()

    status, text, good, bad, other = asyncio.run(main())
    assert status == 200
    assert 'sceau_gateway_dossiers{direction="out",process="CERTDC",status=' in text
    assert 'sceau_gateway_outbox_items{state="pending"} 1.0' in text
    assert "sceau_gateway_checkpoints_unstamped" in text
    assert "sceau_gateway_hub_feed_error 1.0" in text
    assert "sceau_gateway_tsa_witness_error 0.0" in text
    assert 'sceau_gateway_certificate_days_left{certificate="tls"}' in text
    assert good == 200 and bad == 401 and other == 401


def test_metrics_refuse_a_remote_peer_without_token(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")

    class Transport:
        def get_extra_info(self, name: str, default: object = None) -> object:
            return ("192.0.2.7", 4242) if name == "peername" else default

    remote = make_mocked_request("GET", "/metrics", transport=Transport())
    assert _authorised(remote, settings.paths) == 403
    # A token presented while none was created is refused too.
    tokened = make_mocked_request(
        "GET", "/metrics", headers={"Authorization": "Bearer x"}, transport=Transport()
    )
    assert _authorised(tokened, settings.paths) == 401
    token = create_metrics_token(settings.paths)
    assert oct((settings.paths.keys / "metrics.token").stat().st_mode & 0o777) == "0o600"
    allowed = make_mocked_request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {token}"}, transport=Transport()
    )
    assert _authorised(allowed, settings.paths) == 0


def test_certificate_days_left(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    days = certificate_days_left(settings.paths, now=datetime.now(UTC))
    assert set(days) == {"tls", "seal", "hub-ca"} and all(d > 1 for d in days.values())
