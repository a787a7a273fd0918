"""The directory: organizations, démarches, subscriptions, clients, capabilities."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from hubee.directory import Directory
from hubee.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from hubee.event_sink import TableSink
from hubee.model import OrgRef, OrgType, Process, Scope, SubscriptionStatus
from hubee.sqlite_store import SqliteStore
from tests.integration.hub.harness import FakeClock

T = TypeVar("T")

OSL = OrgRef(OrgType.OSL, "11000201100044", "DGS")
COMMUNE = OrgRef(OrgType.SI, "21930066200016", "93066")
OTHER = OrgRef(OrgType.SI, "21930048000016", "93048")


def run(tmp_path: Path, scenario: Callable[[Directory, FakeClock], Awaitable[T]]) -> T:
    async def main() -> T:
        store = SqliteStore(tmp_path / "hub.db")
        clock = FakeClock()
        try:
            return await scenario(Directory(store, TableSink(), clock), clock)
        finally:
            await store.close()

    return asyncio.run(main())


def test_org_refs_are_valid_by_construction() -> None:
    with pytest.raises(ValidationFailed) as short:
        OrgRef(OrgType.SI, "2193006620001", "93066")
    assert short.value.field == "companyRegister"
    with pytest.raises(ValidationFailed) as long_branch:
        OrgRef(OrgType.SI, "21930066200016", "93066930669")
    assert long_branch.value.field == "branchCode"
    with pytest.raises(ValidationFailed):
        OrgRef(OrgType.SI, "2193006620001a", "93066")


def test_subscription_lifecycle_and_capabilities(tmp_path: Path) -> None:
    async def scenario(directory: Directory, clock: FakeClock) -> None:
        await directory.add_org(OSL, "DGS")
        commune = await directory.add_org(COMMUNE, "Saint-Denis")
        await directory.add_org(OTHER, "Montreuil")
        with pytest.raises(Conflict):
            await directory.add_org(COMMUNE, "twice")
        await directory.add_process(Process("CERTDC", "Certificat de décès"), osl=OSL)
        with pytest.raises(ValidationFailed) as not_osl:
            await directory.add_process(Process("OTHER", "x"), osl=COMMUNE)
        assert not_osl.value.field == "osl"

        sub = await directory.subscribe(
            process_code="CERTDC", subscriber=COMMUNE, local_admin_email="admin@ville.fr"
        )
        assert sub.status is SubscriptionStatus.INACTIVE
        assert await directory.capabilities("CERTDC") == []
        with pytest.raises(Conflict):
            await directory.subscribe(
                process_code="CERTDC", subscriber=COMMUNE, local_admin_email="admin@ville.fr"
            )
        clock.advance(days=1)
        active = await directory.set_subscription_status(sub.id, SubscriptionStatus.ACTIVE)
        assert active.activate_at == clock.now
        assert [o.id for o in await directory.capabilities("CERTDC")] == [commune.id]
        suspended = await directory.set_subscription_status(sub.id, SubscriptionStatus.SUSPENDED)
        assert suspended.end_at == clock.now
        assert await directory.capabilities("CERTDC") == []
        await directory.set_subscription_status(sub.id, SubscriptionStatus.ACTIVE)
        with pytest.raises(IllegalTransition) as back:
            await directory.set_subscription_status(sub.id, SubscriptionStatus.INACTIVE)
        assert back.value.rule == "subscription-lifecycle"

        other = await directory.subscribe(
            process_code="CERTDC", subscriber=OTHER, local_admin_email="admin@montreuil.fr"
        )
        with pytest.raises(ValidationFailed) as no_reason:
            await directory.set_subscription_status(other.id, SubscriptionStatus.REFUSED)
        assert no_reason.value.field == "rejectionReason"
        refused = await directory.set_subscription_status(
            other.id, SubscriptionStatus.REFUSED, reason="pas de service état civil"
        )
        assert refused.rejection_reason == "pas de service état civil"
        with pytest.raises(IllegalTransition):
            await directory.set_subscription_status(other.id, SubscriptionStatus.ACTIVE)
        assert [o.ref for o in await directory.capabilities("CERTDC")] == [COMMUNE]

    run(tmp_path, scenario)


def test_subscriptions_are_for_si_organizations_of_known_processes(tmp_path: Path) -> None:
    async def scenario(directory: Directory, clock: FakeClock) -> None:
        await directory.add_org(OSL, "DGS")
        await directory.add_org(COMMUNE, "Saint-Denis")
        await directory.add_process(Process("CERTDC", "Certificat de décès"))
        for process, org, email, field in [
            ("NOPE", COMMUNE, "admin@ville.fr", "processCode"),
            ("CERTDC", OSL, "admin@ville.fr", "subscriber.type"),
            ("CERTDC", OTHER, "admin@ville.fr", "subscriber"),
            ("CERTDC", COMMUNE, "not-an-email", "localAdministrator.email"),
        ]:
            with pytest.raises(ValidationFailed) as refused:
                await directory.subscribe(
                    process_code=process, subscriber=org, local_admin_email=email
                )
            assert refused.value.field == field
        with pytest.raises(NotFound):
            await directory.subscription("00000000-0000-0000-0000-000000000000")

    run(tmp_path, scenario)


def test_clients_match_their_organization_and_process(tmp_path: Path) -> None:
    async def scenario(directory: Directory, clock: FakeClock) -> None:
        await directory.add_org(OSL, "DGS")
        await directory.add_org(COMMUNE, "Saint-Denis")
        await directory.add_org(OrgRef(OrgType.ADMIN, "13002526500013", "DINUM"), "DINUM")
        await directory.add_process(Process("CERTDC", "Certificat de décès"), osl=OSL)
        client, secret = await directory.add_client(org=OSL, scope=Scope.OSL, process_code="CERTDC")
        assert len(secret) >= 40 and client.process_code == "CERTDC"
        admin, _ = await directory.add_client(
            org=OrgRef(OrgType.ADMIN, "13002526500013", "DINUM"),
            scope=Scope.ADMIN,
            process_code=None,
        )
        assert admin.process_code is None
        for org, scope, process, field in [
            (COMMUNE, Scope.OSL, "CERTDC", "scope"),
            (COMMUNE, Scope.SI, None, "process"),
            (COMMUNE, Scope.SI, "NOPE", "process"),
            (OTHER, Scope.SI, "CERTDC", "org"),
        ]:
            with pytest.raises(ValidationFailed) as refused:
                await directory.add_client(org=org, scope=scope, process_code=process)
            assert refused.value.field == field
        # The secret is stored only as a salted hash.
        stored = b"".join(p.read_bytes() for p in tmp_path.glob("hub.db*"))
        assert stored and secret.encode() not in stored

    run(tmp_path, scenario)
