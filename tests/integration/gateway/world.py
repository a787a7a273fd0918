"""A real hub (TLS, link API, TSA, witness) on loopback and real gateways enrolled with
it over mTLS, each serving its LAN HubEE API; HubEE clients that know only that API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from gateway.enrollment import enroll
from gateway.identity import init_data_dir
from gateway.local_directory import add_client
from gateway.service import GatewayService
from gateway.settings import GatewaySettings
from hub.app import serve_hub
from hub.identity import create_identity
from hub.runtime import HubRuntime
from hub.settings import HubConfig
from hubee.model import OrgRef, OrgType, Process, Scope
from tests.unit.gateway.support import LanClient
from trust.pki import certificate_pem

DGS = OrgRef(OrgType.OSL, "11000201100044", "DGS")
CNAF = OrgRef(OrgType.OSL, "18003502400014", "CNAF")
SAINT_DENIS = OrgRef(OrgType.SI, "21930066200016", "93066")
CD93 = OrgRef(OrgType.SI, "22930008201453", "93")


@dataclass
class Hub:
    url: str
    runtime: HubRuntime
    ca_pem: Path
    folder: Path
    runner: Any = None

    async def token(self, ref: OrgRef) -> str:
        token, _, _ = await self.runtime.link.enrollment.new_token(
            ref.company_register, ref.branch_code, now=datetime.now(UTC), ttl=timedelta(hours=1)
        )
        return token


@dataclass
class Gw:
    name: str
    settings: GatewaySettings
    service: GatewayService
    clients: dict[str, LanClient] = field(default_factory=dict)

    @property
    def runtime(self) -> Any:
        return self.service.runtime

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"


async def open_hub(folder: Path, **config: Any) -> Hub:
    hub_config = HubConfig(data_dir=folder / "hub", **config)
    create_identity(hub_config, hosts=("localhost", "127.0.0.1"))
    runtime = await HubRuntime.open(hub_config)
    runner, port = await serve_hub(runtime, host="127.0.0.1", port=0)
    ca_pem = folder / "hub-ca.pem"
    ca_pem.write_bytes(certificate_pem(runtime.identity.ca_certificate))
    hub = Hub(f"https://127.0.0.1:{port}", runtime, ca_pem, folder, runner)
    directory = runtime.services.directory
    for ref, name in (
        (DGS, "Direction générale de la santé"),
        (CNAF, "Caisse nationale des allocations familiales"),
        (SAINT_DENIS, "Commune de Saint-Denis"),
        (CD93, "Conseil départemental de la Seine-Saint-Denis"),
    ):
        await directory.add_org(ref, name)
    await directory.add_process(Process("CERTDC", "Certificat de décès"), osl=DGS)
    await directory.add_process(Process("RSABEI-RSABAI", "RSA"), osl=CNAF)
    for code, ref in (("CERTDC", SAINT_DENIS), ("RSABEI-RSABAI", CD93)):
        await directory.subscribe(
            process_code=code, subscriber=ref, activate=True, local_admin_email="admin@example.fr"
        )
    return hub


async def close_hub(hub: Hub) -> None:
    await hub.runner.cleanup()
    await hub.runtime.close()


async def enrolled_settings(
    hub: Hub, folder: Path, ref: OrgRef, **settings: Any
) -> GatewaySettings:
    gateway = GatewaySettings(
        folder,
        ref.company_register,
        ref.branch_code,
        lan_port=0,
        checkpoint_entries=settings.pop("checkpoint_entries", 50),
        checkpoint_seconds=settings.pop("checkpoint_seconds", 0.5),
        **settings,
    )
    init_data_dir(gateway)
    await enroll(
        gateway,
        hub_url=hub.url,
        token=await hub.token(ref),
        hub_ca=hub.ca_pem,
        now=datetime.now(UTC),
    )
    return GatewaySettings.load(folder)


async def start_gateway(settings: GatewaySettings, name: str, *, feed_wait: float = 5.0) -> Gw:
    service = await GatewayService.open(settings)
    service.puller._wait = feed_wait
    await service.start()
    return Gw(name, settings, service)


async def lan_client(
    gw: Gw, session: aiohttp.ClientSession, *, name: str, process: str, scope: Scope
) -> LanClient:
    runtime = gw.runtime
    created = await add_client(
        runtime.services,
        runtime.store,
        name=name,
        company_register=gw.settings.company_register,
        branch_code=gw.settings.branch_code,
        process_code=process,
        scope=scope,
    )
    client = LanClient(session, gw.base)
    await client.login(created.client.client_id, created.secret, scope.value)
    gw.clients[name] = client
    return client


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def world(folder: Path) -> AsyncIterator[tuple[Hub, Gw, Gw, aiohttp.ClientSession]]:
    """A hub, DGS's gateway (OSL) and Saint-Denis's gateway (SI), all running."""
    async with AsyncExitStack() as stack:
        hub = await open_hub(folder)
        stack.push_async_callback(close_hub, hub)
        osl = await start_gateway(await enrolled_settings(hub, folder / "dgs", DGS), "dgs")
        stack.push_async_callback(osl.service.close)
        si = await start_gateway(
            await enrolled_settings(hub, folder / "saint-denis", SAINT_DENIS), "saint-denis"
        )
        stack.push_async_callback(si.service.close)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield hub, osl, si, session
