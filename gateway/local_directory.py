"""The gateway's own small directory: its organisation, the démarches it serves, and
the LAN clients (one per démarche, as in HubEE), created by ``sceau gateway client add``.

The hub holds the real directory (organisations, subscriptions, routing); the gateway
knows only what its LAN clients need. Secrets are the engine's: shown once, stored as
scrypt hashes (:mod:`hubee.credentials`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import GatewayConfigError
from gateway.tables import GatewayTables
from hubee.errors import NotFound
from hubee.model import Client, Organization, OrgRef, OrgType, Process, Scope
from hubee.services import HubServices
from hubee.store import Store, StoreTx

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


@dataclass(frozen=True)
class NewClient:
    name: str
    client: Client
    secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"NewClient(name={self.name!r}, client_id={self.client.client_id!r})"


async def own_org(
    services: HubServices, company_register: str, branch_code: str, org_type: OrgType
) -> Organization:
    """The gateway's organisation in its directory (created on first use)."""
    try:
        found = await services.directory.find_org(company_register, branch_code)
    except NotFound:
        ref = OrgRef(org_type, company_register, branch_code)
        return await services.directory.add_org(ref, ref.key)
    if found.ref.type is not org_type:
        raise GatewayConfigError(
            f"this gateway's organisation {found.ref.key} is {found.ref.type.value}, "
            f"not {org_type.value}",
            hint="An operator (OSL) gateway has OSL clients; an SI gateway has SI clients.",
        )
    return found


async def add_client(
    services: HubServices,
    store: Store,
    *,
    name: str,
    company_register: str,
    branch_code: str,
    process_code: str,
    scope: Scope,
) -> NewClient:
    """A LAN client for ``process_code``; the démarche is recorded locally if new."""
    if not _NAME.fullmatch(name):
        raise GatewayConfigError(
            f"client name {name!r}: use 1 to 64 letters, digits, '_', '.', '@' or '-'"
        )
    if scope is Scope.ADMIN:
        raise GatewayConfigError("LAN clients are OSL or SI clients")
    org = await own_org(services, company_register, branch_code, OrgType(scope.value))
    taken = await store.read(lambda tx: _client_of_name(tx, name))
    if taken is not None:
        raise GatewayConfigError(f"a client named {name!r} exists ({taken})")
    try:
        await services.directory.process(process_code)
    except NotFound:
        await services.directory.add_process(
            Process(process_code, process_code), osl=org.ref if scope is Scope.OSL else None
        )
    client, secret = await services.directory.add_client(
        org=org.ref, scope=scope, process_code=process_code
    )

    def remember(tx: StoreTx) -> None:
        GatewayTables.of(tx).conn.execute(
            "INSERT INTO gw_client_names (client_id, name) VALUES (?, ?)",
            (client.client_id, name),
        )

    await store.write(remember)
    return NewClient(name, client, secret)


def _client_of_name(tx: StoreTx, name: str) -> str | None:
    row = (
        GatewayTables.of(tx)
        .conn.execute("SELECT client_id FROM gw_client_names WHERE name = ?", (name,))
        .fetchone()
    )
    return None if row is None else str(row[0])
