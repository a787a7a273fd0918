"""A real exchange (hub, two gateways, mTLS, the CERTDC sample) with every logger routed
through ``appliance.logs`` in JSON at DEBUG: every line is one JSON object with time,
level, logger and message, and no client secret, enrollment token or person's name
from the dossier appears anywhere in the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

import aiohttp

from appliance.logs import setup_logging
from tests.integration.gateway.world import DGS, SAINT_DENIS, close_hub, open_hub
from tests.integration.ops.exchange import PEOPLE, Secrets, certdc_exchange, enrolled_gateway


def test_json_logs_of_an_exchange_carry_no_secret_nor_name(tmp_path: Path) -> None:
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    secrets = Secrets()

    async def main() -> None:
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            osl = await enrolled_gateway(hub, tmp_path / "dgs", DGS, "dgs", secrets)
            stack.push_async_callback(osl.service.close)
            si = await enrolled_gateway(hub, tmp_path / "sd", SAINT_DENIS, "sd", secrets)
            stack.push_async_callback(si.service.close)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            await certdc_exchange(osl, si, session, secrets)
            # A careless call, as a library might make: the filter still redacts it.
            logging.getLogger("gateway.test").warning(
                "login with client_secret=%s, Authorization: Bearer %s",
                secrets.client_secrets[0],
                secrets.enrollment_tokens[0],
                extra={"token": secrets.enrollment_tokens[1], "case_count": 1},
            )
            # The hub goes away: the gateways log their failures, still without secrets.
            await hub.runner.cleanup()
            await asyncio.sleep(1.5)

    try:
        assert setup_logging("json", level=logging.DEBUG, stream=buffer) == "json"
        asyncio.run(main())
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])

    text = buffer.getvalue()
    lines = text.splitlines()
    assert len(lines) >= 5, text
    loggers = set()
    for line in lines:
        record = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(record), record
        assert record["time"].endswith("Z")
        datetime.fromisoformat(record["time"])
        loggers.add(record["logger"])
    assert {"gateway.pull", "gateway"} <= loggers, loggers
    fed = [json.loads(x) for x in lines if '"feed: ' in x]
    assert fed and isinstance(fed[0]["items"], int) and isinstance(fed[0]["cursor"], int)
    careless = [json.loads(x) for x in lines if "careless" in x or "login with" in x]
    assert careless and careless[0]["token"] == "[redacted]" and careless[0]["case_count"] == 1
    assert "client_secret=[redacted]" in careless[0]["message"]
    assert len(secrets.client_secrets) == 2 and len(secrets.enrollment_tokens) == 2
    for secret in secrets.all():
        assert secret not in text
    for person in PEOPLE:
        assert person.lower() not in text.lower(), person
