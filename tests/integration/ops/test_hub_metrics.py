"""The hub's ``GET /metrics``: scraped for real over TLS after a real exchange, parsed
with prometheus_client's text parser; and ``sceau hub run`` as a process (JSON logs on
a pipe, /metrics with a bearer token from ``sceau hub metrics-token``, refused without
it even on loopback)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import ssl
import subprocess
import urllib.error
import urllib.request
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from hub.metrics import create_metrics_token
from tests.integration.gateway.world import DGS, SAINT_DENIS, close_hub, open_hub
from tests.integration.ops.exchange import Secrets, certdc_exchange, enrolled_gateway, witnessed

SCEAU = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "sceau")
Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    found = [v for got, v in samples.get(name, []) if labels.items() <= got.items()]
    assert found, (name, labels, samples.get(name))
    return sum(found)


def test_hub_metrics_after_an_exchange(tmp_path: Path) -> None:
    secrets = Secrets()

    async def main() -> tuple[str, int, int, int, str]:
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            osl = await enrolled_gateway(hub, tmp_path / "dgs", DGS, "dgs", secrets)
            stack.push_async_callback(osl.service.close)
            si = await enrolled_gateway(hub, tmp_path / "sd", SAINT_DENIS, "sd", secrets)
            stack.push_async_callback(si.service.close)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            await certdc_exchange(osl, si, session, secrets)
            await witnessed(osl)
            await witnessed(si)
            await asyncio.sleep(0.5)  # a gateway's long poll is waiting again
            context = ssl.create_default_context(cafile=str(hub.ca_pem))
            url = f"{hub.url}/metrics"
            keys = hub.runtime.config.keys_dir
            token = await asyncio.to_thread(create_metrics_token, keys)
            # From loopback without a token: refused, with the challenge.
            async with session.get(url, ssl=context) as answer:
                bare, challenge = answer.status, answer.headers.get("WWW-Authenticate", "")
            bearer = {"Authorization": f"Bearer {token}"}
            async with session.get(url, ssl=context, headers=bearer) as answer:
                assert answer.headers["Content-Type"].startswith("text/plain")
                text, good = await answer.text(), answer.status
            wrong = {"Authorization": "Bearer not-it"}
            async with session.get(url, ssl=context, headers=wrong) as answer:
                bad = answer.status
            return text, bare, good, bad, challenge

    text, bare, good, bad, challenge = asyncio.run(main())
    assert (bare, good, bad) == (401, 200, 401)
    assert challenge == 'Bearer realm="sceau-metrics"'
    m = parse(text)
    assert value(m, "sceau_hub_gateways", state="active") == 2
    assert value(m, "sceau_hub_gateways", state="revoked") == 0
    assert value(m, "sceau_hub_cases", process="CERTDC", status="DONE") == 1
    assert value(m, "sceau_hub_folders", process="CERTDC") == 1
    assert value(m, "sceau_hub_witness_cosignatures") >= 2
    assert value(m, "sceau_hub_witness_alerts") == 0
    assert value(m, "sceau_hub_journal_entries") > 0
    assert value(m, "sceau_hub_feed_items") >= 2
    assert value(m, "sceau_hub_tsa_responses_total") >= 2
    assert value(m, "sceau_hub_feed_waiters") >= 1
    assert value(m, "sceau_hub_requests_total", route="/link/v1/folders/{folderId}") >= 1
    assert value(m, "sceau_hub_requests_total", route="/tsa", status="2xx") >= 2
    assert "sceau_hub_request_errors_total" not in m or all(
        v == 0 for _, v in m["sceau_hub_request_errors_total"]
    )
    # Route templates only: no identifier of a dossier in any label.
    assert not re.search(r'route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}', text)


def test_hub_run_process_logs_json_and_serves_metrics(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    env = {k: v for k, v in os.environ.items() if k != "SCEAU_LOG_FORMAT"}
    made = subprocess.run(
        [SCEAU, "hub", "init", "--data", str(data), "--host", "127.0.0.1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    minted = subprocess.run(
        [SCEAU, "hub", "metrics-token", "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    token_file = data / "keys" / "metrics.token"
    assert token_file.read_text().strip() == token and token_file.stat().st_mode & 0o077 == 0
    process = subprocess.Popen(
        [SCEAU, "hub", "run", "--data", str(data), "--port", "0", "--insecure-http"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, line + process.stderr.read()
        bearer = urllib.request.Request(  # noqa: S310
            found[1] + "/metrics", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(bearer, timeout=10) as answer:  # noqa: S310
            m = parse(answer.read().decode())
        assert value(m, "sceau_hub_gateways", state="active") == 0
        assert value(m, "sceau_hub_journal_entries") >= 0
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            request = urllib.request.Request(  # noqa: S310
                found[1] + "/metrics", headers=headers
            )
            try:
                urllib.request.urlopen(request, timeout=10)  # noqa: S310
                raise AssertionError(f"scraped from loopback with {headers}")
            except urllib.error.HTTPError as refused:
                assert refused.code == 401 and refused.headers["WWW-Authenticate"]
                refused.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        logs = process.stderr.read().splitlines()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    # stderr is a pipe, $SCEAU_LOG_FORMAT unset: JSON, one object a line (the
    # --insecure-http warning line of the CLI itself is plain text, by design).
    records = [json.loads(x) for x in logs if x.startswith("{")]
    assert any("UNSAFE" in r["message"] and r["logger"] == "hub" for r in records), logs
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(x.startswith("{") or x.startswith("warning: --insecure-http") for x in logs), logs
    assert token not in "\n".join(logs)
