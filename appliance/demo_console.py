"""``sceau demo --keep``: console accounts on the commune's gateway, to try the console.

An agent for the démarches Saint-Denis receives, and an admin (the IT dashboard),
created with ``sceau gateway user add`` like an operator would; the generated
passwords are printed once with the console's URL.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from appliance.demo_cast import DOSSIERS, SAINT_DENIS
from appliance.demo_services import DemoStepFailed, sceau
from appliance.demo_world import World

AGENT = "agent.demo"
ADMIN = "it.demo"


@dataclass(frozen=True)
class ConsoleAccount:
    login: str
    role: str
    password: str


@dataclass(frozen=True)
class DemoConsole:
    url: str
    accounts: tuple[ConsoleAccount, ...]


async def add_console_accounts(world: World) -> DemoConsole | None:
    gateway = world.gateways.get(SAINT_DENIS.slug)
    if gateway is None:
        return None
    processes = sorted({d.process for d in DOSSIERS if d.recipient.slug == SAINT_DENIS.slug})
    agent = ["--role", "agent", *(a for p in processes for a in ("--process", p))]
    accounts = []
    for login, name, role_args in (
        (AGENT, "Agent de démonstration", agent),
        (ADMIN, "Informatique (démonstration)", ["--role", "admin"]),
    ):
        out = await asyncio.to_thread(
            sceau, "gateway", "user", "add", login, "--data", str(gateway.data),
            "--name", name, *role_args,
        )  # fmt: skip
        found = re.search(r"password: (\S+)", out)
        if found is None:
            raise DemoStepFailed(f"unexpected output of sceau gateway user add: {out!r}")
        accounts.append(ConsoleAccount(login, role_args[1], found.group(1)))
    return DemoConsole(gateway.service.url.rstrip("/") + "/console/", tuple(accounts))
