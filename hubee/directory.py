"""The directory: organizations, démarches, subscriptions, clients, and routing look-ups.

Used by the admin API (``/referential/v1``, ADMIN scope) and by ``sceau hub`` commands.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from hubee.credentials import hash_secret, new_client_id, new_salt, new_secret
from hubee.errors import Conflict, NotFound, ValidationFailed
from hubee.event_sink import EventSink
from hubee.model import (
    Client,
    Clock,
    Organization,
    OrgRef,
    OrgType,
    Process,
    Scope,
    Subscription,
    SubscriptionStatus,
)
from hubee.store import Store, StoreTx, SubscriptionQuery
from hubee.transitions import CASE_STATUSES, check_subscription_move

_PROCESS_CODE = re.compile(r"[A-Za-z0-9_-]{1,30}")
# api_subscription_v1.2.3.yaml: LocalAdministrator.email and DelegationActor.email
EMAIL = re.compile(r"^[a-zA-Z0-9._-]+@[a-zA-Z0-9._-]{2,}\.[a-z]{2,4}$")
_SCOPE_FOR_TYPE = {OrgType.OSL: Scope.OSL, OrgType.SI: Scope.SI, OrgType.ADMIN: Scope.ADMIN}


def check_process_code(code: str, field: str = "processCode") -> str:
    if not _PROCESS_CODE.fullmatch(code):
        raise ValidationFailed(field, "must be 1 to 30 letters, digits, '_' or '-'")
    return code


@dataclass(frozen=True)
class SubscriptionChange:
    """The fields an admin may change on a subscription (``PUT /subscriptions/{id}``)."""

    status: SubscriptionStatus | None = None
    rejection_reason: str | None = None
    notification_frequency: str | None = None
    access_mode: str | None = None
    email: str | None = None
    local_admin_email: str | None = None
    delegation_email: str | None = None
    datapass_id: int | None = None


class Directory:
    def __init__(self, store: Store, sink: EventSink, clock: Clock) -> None:
        self._store = store
        self._sink = sink
        self._clock = clock

    async def add_org(self, ref: OrgRef, name: str) -> Organization:
        now = self._clock()
        org = Organization(id=str(uuid.uuid4()), ref=ref, name=name.strip() or ref.key)

        def work(tx: StoreTx) -> Organization:
            if tx.org_by_ref(ref.company_register, ref.branch_code) is not None:
                raise Conflict(f"an organization {ref.key} already exists")
            tx.insert_org(org, at=now)
            self._sink.record(
                tx, "org.created", org.id, now, {"org": ref.key, "type": ref.type.value}
            )
            return org

        return await self._store.write(work)

    async def find_org(self, company_register: str, branch_code: str) -> Organization:
        org = await self._store.read(lambda tx: tx.org_by_ref(company_register, branch_code))
        if org is None:
            raise NotFound(f"no organization {company_register}/{branch_code}")
        return org

    async def orgs(self) -> list[Organization]:
        return await self._store.read(lambda tx: tx.orgs())

    async def add_process(self, process: Process, *, osl: OrgRef | None = None) -> Process:
        check_process_code(process.code, "code")
        for name in (
            "time_before_file_deletion",
            "time_before_archiving",
            "time_before_folder_deletion",
        ):
            if getattr(process, name) < 0:
                raise ValidationFailed(name, "must be a number of days, 0 or more")
        if process.status_before_file_deletion not in CASE_STATUSES:
            raise ValidationFailed("statusBeforeFileDeletion", "must be a case status")
        now = self._clock()

        def work(tx: StoreTx) -> Process:
            if tx.process(process.code) is not None:
                raise Conflict(f"a démarche {process.code} already exists")
            stored = process
            if osl is not None:
                org = tx.org_by_ref(osl.company_register, osl.branch_code)
                if org is None or org.ref.type is not OrgType.OSL:
                    raise ValidationFailed("osl", f"no OSL organization {osl.key}")
                stored = dataclasses.replace(process, osl_org_id=org.id)
            tx.insert_process(stored, at=now)
            self._sink.record(tx, "process.created", stored.code, now, {"name": stored.name})
            return stored

        return await self._store.write(work)

    async def process(self, code: str) -> Process:
        found = await self._store.read(lambda tx: tx.process(code))
        if found is None:
            raise NotFound(f"no démarche {code}")
        return found

    async def processes(self) -> list[Process]:
        return await self._store.read(lambda tx: tx.processes())

    async def subscribe(
        self,
        *,
        process_code: str,
        subscriber: OrgRef,
        activate: bool = False,
        datapass_id: int = 0,
        notification_frequency: str = "unitaire",
        access_mode: str | None = "API",
        email: str | None = None,
        local_admin_email: str,
        delegation_email: str | None = None,
    ) -> Subscription:
        """Subscribe an SI organization to a démarche: Inactif, or Actif with ``activate``.

        ``local_admin_email`` is the subscriber's local administrator (required by the
        subscription API's schema).
        """
        if not EMAIL.match(local_admin_email):
            raise ValidationFailed(
                "localAdministrator.email", f"{local_admin_email!r} is not a valid email value"
            )
        now = self._clock()

        def work(tx: StoreTx) -> Subscription:
            if tx.process(process_code) is None:
                raise ValidationFailed("processCode", f"no démarche {process_code}")
            org = tx.org_by_ref(subscriber.company_register, subscriber.branch_code)
            if org is None:
                raise ValidationFailed("subscriber", f"no organization {subscriber.key}")
            if org.ref.type is not OrgType.SI:
                raise ValidationFailed(
                    "subscriber.type",
                    f"only SI organizations subscribe; {org.ref.key} is {org.ref.type.value}",
                )
            existing = tx.subscription_for(process_code, org.id)
            if existing is not None:
                raise Conflict(
                    f"{org.ref.key} already has subscription {existing.id} to {process_code} "
                    f"({existing.status.value})"
                )
            status = SubscriptionStatus.ACTIVE if activate else SubscriptionStatus.INACTIVE
            sub = Subscription(
                id=str(uuid.uuid4()),
                process_code=process_code,
                subscriber=org,
                status=status,
                datapass_id=datapass_id,
                notification_frequency=notification_frequency,
                access_mode=access_mode,
                email=email,
                local_admin_email=local_admin_email,
                delegation_email=delegation_email,
                activate_at=now if activate else None,
                validate_at=now if activate else None,
                update_at=now,
            )
            tx.insert_subscription(sub)
            self._sink.record(
                tx,
                "subscription.created",
                sub.id,
                now,
                {"process": process_code, "org": org.ref.key, "status": status.value},
            )
            return sub

        return await self._store.write(work)

    async def change_subscription(self, sub_id: str, change: SubscriptionChange) -> Subscription:
        now = self._clock()

        def work(tx: StoreTx) -> Subscription:
            sub = tx.subscription(sub_id)
            if sub is None:
                raise NotFound(f"no subscription {sub_id}")
            updated = dataclasses.replace(
                sub,
                **{
                    k: v
                    for k, v in dataclasses.asdict(change).items()
                    if v is not None and k not in {"status", "rejection_reason"}
                },
                update_at=now,
            )
            target = change.status or sub.status
            if check_subscription_move(sub.status, target):
                updated = _moved(updated, target, change.rejection_reason, now)
                self._sink.record(
                    tx,
                    "subscription.status",
                    sub.id,
                    now,
                    {"from": sub.status.value, "to": target.value},
                )
            tx.update_subscription(updated)
            return updated

        return await self._store.write(work)

    async def set_subscription_status(
        self, sub_id: str, status: SubscriptionStatus, *, reason: str | None = None
    ) -> Subscription:
        return await self.change_subscription(
            sub_id, SubscriptionChange(status=status, rejection_reason=reason)
        )

    async def subscription(self, sub_id: str) -> Subscription:
        found = await self._store.read(lambda tx: tx.subscription(sub_id))
        if found is None:
            raise NotFound(f"no subscription {sub_id}")
        return found

    async def subscription_of(self, process_code: str, org: OrgRef) -> Subscription:
        def work(tx: StoreTx) -> Subscription | None:
            found = tx.org_by_ref(org.company_register, org.branch_code)
            return None if found is None else tx.subscription_for(process_code, found.id)

        sub = await self._store.read(work)
        if sub is None:
            raise NotFound(f"{org.key} has no subscription to {process_code}")
        return sub

    async def subscriptions(self, query: SubscriptionQuery) -> tuple[list[Subscription], int]:
        return await self._store.read(lambda tx: tx.subscriptions(query))

    async def capabilities(self, process_code: str) -> list[Organization]:
        """The organizations that receive ``process_code`` now: subscribed and Actif."""
        return await self._store.read(lambda tx: tx.active_subscribers(process_code))

    async def add_client(
        self, *, org: OrgRef, scope: Scope, process_code: str | None
    ) -> tuple[Client, str]:
        """Register a client; returns it with its secret, which is never stored in clear."""
        secret = new_secret()
        salt = new_salt()
        digest = await asyncio.to_thread(hash_secret, secret, salt)
        now = self._clock()

        def work(tx: StoreTx) -> Client:
            found = tx.org_by_ref(org.company_register, org.branch_code)
            if found is None:
                raise ValidationFailed("org", f"no organization {org.key}")
            if _SCOPE_FOR_TYPE[found.ref.type] is not scope:
                raise ValidationFailed(
                    "scope",
                    f"an {found.ref.type.value} organization gets {_SCOPE_FOR_TYPE[found.ref.type].value} clients",
                )
            if scope is Scope.ADMIN:
                if process_code is not None:
                    raise ValidationFailed("process", "ADMIN clients are not tied to a démarche")
            else:
                if process_code is None:
                    raise ValidationFailed("process", "OSL and SI clients belong to one démarche")
                process = tx.process(process_code)
                if process is None:
                    raise ValidationFailed("process", f"no démarche {process_code}")
                if scope is Scope.OSL and process.osl_org_id not in (None, found.id):
                    raise ValidationFailed(
                        "org", f"{found.ref.key} is not the operator (OSL) of {process_code}"
                    )
            client = Client(new_client_id(), found, scope, process_code)
            tx.insert_client(client, salt, digest, at=now)
            self._sink.record(
                tx,
                "client.created",
                client.client_id,
                now,
                {"org": found.ref.key, "scope": scope.value, "process": process_code},
            )
            return client

        return await self._store.write(work), secret


def _moved(
    sub: Subscription, target: SubscriptionStatus, reason: str | None, now: datetime
) -> Subscription:
    if target is SubscriptionStatus.ACTIVE:
        return dataclasses.replace(
            sub, status=target, activate_at=now, validate_at=sub.validate_at or now, end_at=None
        )
    if target is SubscriptionStatus.SUSPENDED:
        return dataclasses.replace(sub, status=target, end_at=now)
    if not reason:
        raise ValidationFailed("rejectionReason", "is required to refuse a subscription")
    return dataclasses.replace(sub, status=target, reject_at=now, rejection_reason=reason)
