"""``sceau gateway status`` from another process while the gateway runs: enrollment,
certificate expiry (with the under-30-days warning), queues, the last checkpoint and its
TSA and witness state, and the last error, persisted by the running service when the
hub goes away. The gateway's /metrics shows the same error and the checkpoint lag."""

from __future__ import annotations

import asyncio
import json
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from gateway.metrics import create_metrics_token
from gateway.status import HUB_FEED, read_errors
from tests.integration.gateway.world import DGS, SAINT_DENIS, close_hub, eventually, open_hub
from tests.integration.ops.exchange import Secrets, certdc_exchange, enrolled_gateway, witnessed
from tests.integration.ops.test_hub_metrics import parse, value

SCEAU = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "sceau")


def _status(data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCEAU, "gateway", "status", "--data", str(data), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_status_and_metrics_show_expiry_checkpoints_and_the_last_error(tmp_path: Path) -> None:
    secrets = Secrets()
    si_dir = tmp_path / "sd"

    async def main() -> tuple[dict[str, Any], dict[str, Any], str, str]:
        async with AsyncExitStack() as stack:
            # Certificates for 20 days: status must warn (under 30).
            hub = await open_hub(tmp_path, certificate_days=20)
            stack.push_async_callback(close_hub, hub)
            osl = await enrolled_gateway(hub, tmp_path / "dgs", DGS, "dgs", secrets)
            stack.push_async_callback(osl.service.close)
            si = await enrolled_gateway(hub, si_dir, SAINT_DENIS, "sd", secrets)
            stack.push_async_callback(si.service.close)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            await certdc_exchange(osl, si, session, secrets)
            await witnessed(si)
            healthy = json.loads((await asyncio.to_thread(_status, si_dir, "--json")).stdout)
            # The hub stops answering: the running gateway records its feed error.
            await hub.runner.cleanup()

            async def recorded() -> bool:
                errors = await si.runtime.store.read(read_errors)
                return any(e.source == HUB_FEED and e.cleared_at is None for e in errors)

            await eventually(recorded, timeout=30, what="the feed error persisted")
            broken = await asyncio.to_thread(_status, si_dir, "--json")
            assert broken.returncode == 0, broken.stderr
            text = await asyncio.to_thread(_status, si_dir)
            assert text.returncode == 0, text.stderr
            token = await asyncio.to_thread(create_metrics_token, si.runtime.settings.paths)
            bearer = {"Authorization": f"Bearer {token}"}
            async with session.get(f"{si.base}/metrics", headers=bearer) as answer:
                metrics = await answer.text()
            return healthy, json.loads(broken.stdout), text.stdout, metrics

    healthy, broken, text, metrics = asyncio.run(main())
    enrollment = healthy["enrollment"]
    assert enrollment["gatewayId"] and enrollment["hubUrl"].startswith("https://127.0.0.1:")
    assert healthy["side"] == "SI"
    for name in ("tls", "seal"):
        cert = healthy["certificates"][name]
        assert 19 < cert["daysLeft"] <= 20 and cert["warning"] is True
    latest = healthy["checkpoints"]["latest"]
    assert latest["size"] > 0 and latest["timeStamped"] and latest["witnessed"]
    assert healthy["outbox"]["pending"] == 0 and healthy["outbox"]["failed"] == 0
    assert healthy["errors"] == {}
    assert healthy["webhooks"] == {"pending": None}
    error = broken["errors"][HUB_FEED]
    assert error["clearedAt"] is None and error["message"] and error["at"]
    assert "cert tls" in text and "days left  RENEW SOON" in text
    assert "last         size" in text and "time-stamped, witnessed" in text
    assert f"last error   {HUB_FEED} at" in text and "(CURRENT)" in text
    m = parse(metrics)
    assert value(m, "sceau_gateway_error_active", source=HUB_FEED) == 1
    assert value(m, "sceau_gateway_last_error_timestamp_seconds", source=HUB_FEED) > 1.7e9
    assert value(m, "sceau_gateway_checkpoint_lag_entries") >= 0
    assert "sceau_gateway_checkpoint_unstamped_age_seconds" in m
    assert value(m, "sceau_gateway_certificate_days_left", certificate="tls") < 30
    assert value(m, "sceau_gateway_dossiers", direction="in", process="CERTDC", status="DONE") == 1
