"""Cases seen through the link: pulled with the sender's sealed manifest, moved, and
talked about with (optionally sealed) events.

Every call acts as the caller's organisation on the case's démarche, so the engine's
access rules apply unchanged: another organisation's case is "not found", and a move
the life-cycle rules forbid names its rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from hub.fact_sink import HubSink
from hub.link_folders import check_digest, sealed_attachment_sha256
from hub.link_model import LinkCaller, SealedKind, SealedManifest
from hub.link_payloads import EventPush
from hub.link_tx import link_tx
from hub.manifest_checks import check_event_manifest
from hub.seal_checks import SealChecker
from hub.uploads import ContentRange, Uploads
from hubee.attachments import BlobFile
from hubee.cases import CaseView, load_event
from hubee.commands import NewEvent
from hubee.errors import Conflict, NotFound
from hubee.model import (
    ActionType,
    AttachmentStatus,
    Event,
    Organization,
    PartnerInfo,
    Principal,
    Side,
    Status,
)
from hubee.services import HubServices
from hubee.store import Store, StoreTx


@dataclass(frozen=True)
class PulledCase:
    view: CaseView
    transmitter: Organization
    sealed: SealedManifest | None


class LinkCases:
    def __init__(
        self,
        services: HubServices,
        store: Store,
        sink: HubSink,
        seals: SealChecker,
        uploads: Uploads,
    ) -> None:
        self._hub = services
        self._store = store
        self._sink = sink
        self._seals = seals
        self._uploads = uploads

    async def principal(self, caller: LinkCaller, case_id: str) -> Principal:
        """The caller as a HubEE client of the case's démarche (NotFound if no case)."""

        def find(tx: StoreTx) -> str:
            case = tx.case(case_id)
            if case is None:
                raise NotFound(f"Case is not found: {case_id}")
            return case.process_code

        return caller.principal(await self._store.read(find))

    async def get(self, caller: LinkCaller, case_id: str, *, now: datetime) -> PulledCase:
        """The case, its attachments and events, and its folder's sealed manifest."""
        principal = await self.principal(caller, case_id)
        view = await self._hub.cases.get(principal, case_id, lite=False, now=now)
        sealed = await self._store.read(lambda tx: link_tx(tx).sealed(view.case.folder_id))
        return PulledCase(view, view.case.transmitter, sealed)

    async def attachment(
        self, caller: LinkCaller, case_id: str, attachment_id: str, *, now: datetime
    ) -> BlobFile:
        principal = await self.principal(caller, case_id)
        return await self._hub.attachments.for_case(principal, case_id, attachment_id, now=now)

    async def set_status(
        self,
        caller: LinkCaller,
        case_id: str,
        status: Status,
        message: str | None,
        *,
        now: datetime,
    ) -> None:
        """Move the case; with a message, as a notified STATUS_UPDATE event (as HubEE SIs do)."""
        principal = await self.principal(caller, case_id)
        if message is None:
            await self._hub.cases.set_status(principal, case_id, status, now=now)
            return
        event = NewEvent(
            action_type=ActionType.STATUS_UPDATE,
            notification=True,
            message=message,
            case_new_status=status,
        )
        await self._hub.cases.create_event(
            principal, case_id, event, partner=PartnerInfo(), now=now
        )

    async def create_event(
        self,
        caller: LinkCaller,
        case_id: str,
        push: EventPush,
        *,
        partner: PartnerInfo,
        now: datetime,
    ) -> tuple[Event, Side, bool]:
        """Create an event; with a sealed manifest, a retry of the same manifest answers
        the first event (``False``)."""
        principal = await self.principal(caller, case_id)
        if push.manifest is None or push.seal is None:
            event = await self._hub.cases.create_event(
                principal, case_id, push.event, partner=partner, now=now
            )
            return event, event.side, True
        checked = await self._seals.check(
            caller, push.manifest, push.seal, now=now, field="manifest"
        )
        check_event_manifest(
            checked.manifest, case_id=case_id, event=push.event, sender=caller.org.ref.key
        )
        manifest_id = checked.manifest.id

        def previous(tx: StoreTx) -> SealedManifest | None:
            return link_tx(tx).sealed_event_by_manifest(case_id, manifest_id)

        existing = await self._store.read(previous)
        if existing is not None:
            if existing.manifest_sha256 != checked.sha256:
                raise Conflict(f"event manifest {manifest_id} was sent with other content")
            event, side = await self._hub.cases.get_event(principal, case_id, existing.subject)
            return event, side, False
        event = await self._hub.cases.create_event(
            principal, case_id, push.event, partner=partner, now=now
        )
        sealed = SealedManifest(
            subject=event.id,
            kind=SealedKind.EVENT,
            case_id=case_id,
            manifest_id=manifest_id,
            manifest=checked.manifest_bytes,
            seal=checked.seal,
            manifest_sha256=checked.sha256,
            signer_fingerprint=checked.signer_fingerprint,
            gateway_id=caller.gateway.id,
            stored_at=now,
        )

        def keep(tx: StoreTx) -> None:
            link_tx(tx).insert_sealed(sealed)
            self._sink.record(
                tx,
                "event.sealed",
                event.id,
                now,
                {"case": case_id, "manifestSha256": checked.sha256, "gateway": caller.gateway.id},
            )

        await self._store.write(keep)
        return event, event.side, True

    async def get_event(
        self, caller: LinkCaller, case_id: str, event_id: str
    ) -> tuple[Event, Side, SealedManifest | None]:
        principal = await self.principal(caller, case_id)
        event, side = await self._hub.cases.get_event(principal, case_id, event_id)
        sealed = await self._store.read(lambda tx: link_tx(tx).sealed(event_id))
        return event, side, sealed

    async def event_attachment(
        self, caller: LinkCaller, case_id: str, event_id: str, attachment_id: str, *, now: datetime
    ) -> BlobFile:
        principal = await self.principal(caller, case_id)
        return await self._hub.attachments.for_event(
            principal, case_id, event_id, attachment_id, now=now
        )

    async def _locate_upload(
        self, caller: LinkCaller, case_id: str, event_id: str, attachment_id: str
    ) -> tuple[Principal, str, str, int, bool]:
        principal = await self.principal(caller, case_id)

        def find(tx: StoreTx) -> tuple[SealedManifest, str, int, bool]:
            _, _, event = load_event(tx, principal, case_id, event_id)
            found = [a for a in event.attachments if a.id == attachment_id]
            sealed = link_tx(tx).sealed(event_id)
            if not found or sealed is None:
                raise NotFound(f"Binary meta-data is not found: {attachment_id}")
            att = found[0]
            return sealed, att.file_name, att.size, att.status is AttachmentStatus.RECEIVED

        sealed, name, size, received = await self._store.read(find)
        return principal, name, sealed_attachment_sha256(sealed, name), size, received

    async def upload_offset(
        self, caller: LinkCaller, case_id: str, event_id: str, attachment_id: str
    ) -> int:
        *_, size, received = await self._locate_upload(caller, case_id, event_id, attachment_id)
        return size if received else await self._uploads.offset(attachment_id)

    async def upload(
        self,
        caller: LinkCaller,
        case_id: str,
        event_id: str,
        attachment_id: str,
        chunks: AsyncIterator[bytes],
        *,
        digest: str | None,
        content_range: ContentRange | None,
        now: datetime,
    ) -> tuple[int, int]:
        principal, name, sha256, size, _ = await self._locate_upload(
            caller, case_id, event_id, attachment_id
        )
        checked_digest = check_digest(digest, sha256, name)

        async def deliver(body: AsyncIterator[bytes]) -> None:
            await self._hub.attachments.receive_for_event(
                principal,
                case_id,
                event_id,
                attachment_id,
                body,
                digest=checked_digest,
                content_length=size,
                now=now,
            )

        reached = await self._uploads.receive(
            attachment_id, chunks, size=size, content_range=content_range, deliver=deliver
        )
        return reached, size
