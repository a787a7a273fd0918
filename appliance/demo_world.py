"""The demo's topology, brought up as an operator would: ``sceau hub init``, the
directory, ``sceau hub run`` over TLS, then for each organisation ``sceau gateway init``,
an enrollment token, ``sceau gateway enroll`` (CSR → certificates over the link API),
its LAN clients, and ``sceau gateway run``; one recipient's gateway also runs a watched
folder, listed in its gateway.yaml (``folders:``)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from appliance.demo_cast import DOSSIERS, ORGS, Dossier, Org, processes, subscriptions
from appliance.demo_services import DemoStepFailed, Service, sceau
from gateway.settings import GatewaySettings
from gateway.settings_tasks import WatchedFolder

# Checkpoints every half second: bundles are ready soon after the last status.
CHECKPOINT_SECONDS = "0.5"
# The watched folders are scanned every 0.1 s (2 s by default).
SCAN_SECONDS = "0.1"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str
    scope: str


@dataclass
class Gateway:
    org: Org
    data: Path
    service: Service
    clients: dict[str, Credentials] = field(default_factory=dict)  # by client name


@dataclass
class World:
    work: Path
    hub: Service | None = None
    gateways: dict[str, Gateway] = field(default_factory=dict)  # by org slug
    adapters: dict[str, Service] = field(default_factory=dict)  # by démarche
    folder_roots: dict[str, Path] = field(default_factory=dict)  # by démarche

    @property
    def hub_data(self) -> Path:
        return self.work / "hub"

    @property
    def hub_ca(self) -> Path:
        return self.hub_data / "keys" / "ca.pem"

    def services(self) -> list[Service]:
        found = [*self.adapters.values(), *(g.service for g in self.gateways.values())]
        return [*found, *([self.hub] if self.hub else [])]

    async def stop(self) -> None:
        # Adapters and gateways first, the hub last: nothing is left half-pushed.
        await asyncio.gather(*(s.stop() for s in self.adapters.values()))
        await asyncio.gather(*(g.service.stop() for g in self.gateways.values()))
        if self.hub is not None:
            await self.hub.stop()


def api_client_name(dossier: Dossier, side: str) -> str:
    return f"{side.lower()}-{dossier.process.lower()}"


def folder_client_name(dossier: Dossier) -> str:
    return f"folders-{dossier.process.lower()}"


async def build(world: World, step: Callable[[str], None]) -> None:
    """Bring the whole topology up; ``step`` is told what is being done."""
    hub_data = str(world.hub_data)
    step("sceau hub init (CA, TLS, TSA, witness and journal keys)")
    await asyncio.to_thread(sceau, "hub", "init", "--data", hub_data, "--name", "demo-hub")
    step("sceau hub org|process|subscription add (the directory)")
    for org in ORGS:
        await asyncio.to_thread(
            sceau, "hub", "org", "add", "--data", hub_data, "--type", org.kind,
            "--siret", org.siret, "--branch", org.branch, "--name", org.name,
        )  # fmt: skip
    for code, (title, operator) in processes().items():
        await asyncio.to_thread(
            sceau, "hub", "process", "add", "--data", hub_data, "--code", code,
            "--name", title, "--osl", operator.key,
        )  # fmt: skip
    for code, org in sorted(subscriptions(), key=lambda s: (s[0], s[1].slug)):
        await asyncio.to_thread(
            sceau, "hub", "subscription", "add", "--data", hub_data, "--org", org.key,
            "--process", code, "--local-admin", f"admin@{org.slug}.example.fr",
        )  # fmt: skip
    step("sceau hub run (TLS on loopback)")
    world.hub = Service(
        "hub", ["hub", "run", "--data", hub_data, "--port", "0"], world.hub_data / "run.log"
    )
    await world.hub.start()
    for org in ORGS:
        step(f"sceau gateway init + enroll ({org.name})")
        data = world.work / org.slug
        await asyncio.to_thread(
            sceau, "gateway", "init", "--data", str(data), "--org", org.key,
            "--listen", "127.0.0.1:0", "--checkpoint-seconds", CHECKPOINT_SECONDS,
        )  # fmt: skip
        token = (
            await asyncio.to_thread(sceau, "hub", "enrollment-token", "--data", hub_data, org.key)
        ).strip()
        await asyncio.to_thread(
            sceau, "gateway", "enroll", "--data", str(data), "--hub", world.hub.url,
            "--token", token.splitlines()[0], "--hub-ca", str(world.hub_ca),
        )  # fmt: skip
        service = Service(org.slug, ["gateway", "run", "--data", str(data)], data / "run.log")
        world.gateways[org.slug] = Gateway(org, data, service)
    step("sceau gateway client add (one LAN client per démarche)")
    for dossier in DOSSIERS:
        sender_gw = world.gateways[dossier.operator.slug]
        recipient_gw = world.gateways[dossier.recipient.slug]
        await _client(sender_gw, api_client_name(dossier, "OSL"), dossier.process, "OSL")
        await _client(recipient_gw, api_client_name(dossier, "SI"), dossier.process, "SI")
        if dossier.watched_folder:
            await _client(recipient_gw, folder_client_name(dossier), dossier.process, "SI")
    for dossier in DOSSIERS:
        if dossier.watched_folder:
            step(f"gateway.yaml: a watched folder for {dossier.process} ({dossier.recipient.name})")
            await asyncio.to_thread(_configure_folder, world, dossier)
    step("sceau gateway run (4 gateways, mTLS to the hub)")
    await asyncio.gather(*(g.service.start() for g in world.gateways.values()))


async def _client(gateway: Gateway, name: str, process: str, scope: str) -> None:
    out = await asyncio.to_thread(
        sceau, "gateway", "client", "add", name, "--data", str(gateway.data),
        "--process", process, "--scope", scope,
    )  # fmt: skip
    found = dict(re.findall(r"(client_id|client_secret):\s+(\S+)", out))
    if len(found) != 2:
        raise DemoStepFailed(f"unexpected output of sceau gateway client add: {out!r}")
    gateway.clients[name] = Credentials(found["client_id"], found["client_secret"], scope)


def _configure_folder(world: World, dossier: Dossier) -> None:
    """Add the watched folder to the recipient's gateway.yaml, as an operator would: the
    gateway runs it itself against its own LAN API (the secret stays in a file)."""
    recipient = world.gateways[dossier.recipient.slug]
    creds = recipient.clients[folder_client_name(dossier)]
    root = world.work / "folders" / dossier.recipient.slug / dossier.process
    root.mkdir(parents=True)
    secret = root.parent / f"{dossier.process}.secret"
    secret.write_text(creds.secret + "\n", encoding="utf-8")
    secret.chmod(0o600)
    world.folder_roots[dossier.process] = root
    settings = GatewaySettings.load(recipient.data)
    folder = WatchedFolder(
        dossier.process,
        root,
        "SI",
        creds.client_id,
        secret,
        scan_interval=float(SCAN_SECONDS),
    )
    replace(settings, folders=(*settings.folders, folder)).save()
