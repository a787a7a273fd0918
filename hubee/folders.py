"""Folders (télédossiers): create, read, complete, change status, delete.

A folder is created HUBEE_RECEIVED with one case per recipient (not yet delivered) and
its attachments PENDING. The operator uploads every attachment, then declares the
folder HUBEE_COMPLETED: the hub checks that each recipient is subscribed (Actif) to the
démarche, delivers the cases (HUBEE_NOTIFIED) and notifies each recipient, all in one
transaction. That last step is the engine's :class:`~hubee.routing.FolderRouting`
(:class:`~hubee.routing.LocalRouting` unless the embedding component gives another).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from hubee.access import folder_side
from hubee.blob_refs import drop_unreferenced_blobs
from hubee.blobs import BlobStore
from hubee.commands import FolderUpdate, NewFolder
from hubee.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from hubee.event_sink import EventSink
from hubee.model import (
    Attachment,
    AttachmentStatus,
    Case,
    Folder,
    PartnerInfo,
    Principal,
    Scope,
    Status,
)
from hubee.routing import FolderRouting, LocalRouting, record_folder_status
from hubee.store import Store, StoreTx
from hubee.transitions import FolderMove, check_folder_move


class Folders:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        sink: EventSink,
        *,
        max_attachment_bytes: int,
        routing: FolderRouting | None = None,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._sink = sink
        self._max = max_attachment_bytes
        self._routing = routing or LocalRouting(sink)

    async def create(
        self,
        principal: Principal,
        cmd: NewFolder,
        *,
        partner: PartnerInfo,
        now: datetime,
        folder_id: str | None = None,
    ) -> tuple[Folder, bool]:
        """Create a folder; a retry with the same content returns the original (``False``).

        ``folder_id`` lets the caller name the folder (a gateway pushing a folder it has
        sealed under that id); by default the engine draws a UUID. A named folder that
        exists with other content, or another folder under the same ``externalId``, is
        a conflict.
        """
        if principal.scope is Scope.SI:
            raise Forbidden("instructing services (SI) do not create folders")
        if not principal.may_use(cmd.process_code):
            raise Forbidden(
                f"this client is for the démarche {principal.process_code}, not {cmd.process_code}"
            )
        fingerprint = cmd.fingerprint()

        def work(tx: StoreTx) -> tuple[Folder, bool]:
            process = tx.process(cmd.process_code)
            if process is None:
                raise ValidationFailed("processCode", f"no démarche {cmd.process_code}")
            if not principal.is_admin and process.osl_org_id not in (None, principal.org.id):
                raise Forbidden(f"{principal.org.ref.key} is not the operator of {process.code}")
            limit = min(self._max, process.attachment_max_size or self._max)
            for i, declared in enumerate(cmd.attachments):
                if declared.size > limit:
                    raise PayloadTooLarge(
                        f"attachments[{i}].size: {declared.size} bytes exceeds the maximum "
                        f"of {limit} bytes for {process.code}"
                    )
            existing = tx.folder_by_external_id(principal.org.id, cmd.process_code, cmd.external_id)
            if existing is not None:
                found_id, stored_fingerprint = existing
                if stored_fingerprint != fingerprint or folder_id not in (None, found_id):
                    raise Conflict(
                        f"externalId {cmd.external_id} is already folder {found_id}, "
                        "with other content"
                    )
                found = tx.folder(found_id)
                assert found is not None
                return found, False
            if folder_id is not None and tx.folder(folder_id) is not None:
                raise Conflict(f"folder id {folder_id} is already used by another folder")
            folder = _new_folder(
                tx, self._routing, principal, cmd, partner, now, folder_id or str(uuid.uuid4())
            )
            tx.insert_folder(folder, fingerprint)
            for case in folder.cases:
                tx.insert_case(case)
            for att in folder.attachments:
                for case in folder.cases:
                    if case.external_id in att.recipients:
                        tx.link_case_attachment(case.id, att.id)
            self._sink.record(
                tx,
                "folder.created",
                folder.id,
                now,
                {
                    "process": folder.process_code,
                    "externalId": folder.external_id,
                    "transmitter": principal.org.ref.key,
                    "cases": {c.id: c.recipient.ref.key for c in folder.cases},
                    "attachments": {a.id: [a.file_name, a.size] for a in folder.attachments},
                },
            )
            return folder, True

        return await self._store.write(work)

    async def get(self, principal: Principal, folder_id: str) -> Folder:
        folder = await self._store.read(lambda tx: tx.folder(folder_id))
        if folder is None:
            raise NotFound(f"Folder is not found: {folder_id}")
        folder_side(principal, folder)
        return folder

    async def update(
        self, principal: Principal, folder_id: str, cmd: FolderUpdate, *, now: datetime
    ) -> None:
        """Change ``globalStatus`` (and ``closeDateTime``); HUBEE_COMPLETED completes."""

        def work(tx: StoreTx) -> None:
            folder = tx.folder(folder_id)
            if folder is None:
                raise NotFound(f"Folder is not found: {folder_id}")
            folder_side(principal, folder)
            move = check_folder_move(
                folder.global_status, cmd.global_status, {c.status for c in folder.cases}
            )
            final = folder.global_status
            if move == FolderMove.COMPLETE:
                final = self._routing.complete(tx, folder, now)
            elif move == FolderMove.SET:
                self._set_status(tx, folder, cmd.global_status, now)
                final = cmd.global_status
            if cmd.close_at is not None:
                tx.set_folder_status(folder.id, final, at=now, close_at=cmd.close_at)

        await self._store.write(work)

    def _set_status(self, tx: StoreTx, folder: Folder, status: Status, now: datetime) -> None:
        record_folder_status(self._sink, tx, folder.id, folder.global_status, status, now)

    async def delete(self, principal: Principal, folder_id: str, *, now: datetime) -> None:
        """Delete a folder while HUBEE_RECEIVED and without events or notifications."""

        def work(tx: StoreTx) -> list[str]:
            folder = tx.folder(folder_id)
            if folder is None:
                raise NotFound(f"Folder is not found: {folder_id}")
            folder_side(principal, folder)
            if folder.global_status is not Status.HUBEE_RECEIVED:
                raise IllegalTransition(
                    "delete-before-complete",
                    f"only a HUBEE_RECEIVED folder can be deleted; this one is "
                    f"{folder.global_status.value}",
                )
            if tx.folder_has_activity(folder.id):
                raise IllegalTransition(
                    "delete-without-activity", "a folder with events or notifications stays"
                )
            tx.delete_folder(folder.id)
            self._sink.record(
                tx,
                "folder.deleted",
                folder.id,
                now,
                {"process": folder.process_code, "externalId": folder.external_id},
            )
            return [a.sha256 for a in folder.attachments if a.sha256]

        shas = await self._store.write(work)
        await drop_unreferenced_blobs(self._store, self._blobs, shas)


def _new_folder(
    tx: StoreTx,
    routing: FolderRouting,
    principal: Principal,
    cmd: NewFolder,
    partner: PartnerInfo,
    now: datetime,
    folder_id: str,
) -> Folder:
    cases: list[Case] = []
    seen: set[str] = set()
    for i, new_case in enumerate(cmd.cases):
        ref = new_case.recipient
        org = routing.recipient(tx, ref)
        if org is None:
            raise ValidationFailed(f"cases[{i}].recipient", f"no organization {ref.key}")
        if org.id in seen:
            raise ValidationFailed(f"cases[{i}].recipient", f"{ref.key} already has a case")
        seen.add(org.id)
        cases.append(
            Case(
                id=str(uuid.uuid4()),
                folder_id=folder_id,
                process_code=cmd.process_code,
                external_id=new_case.external_id,
                recipient=org,
                transmitter=principal.org,
                status=Status.HUBEE_RECEIVED,
                create_at=now,
                partner_attributes=new_case.partner_attributes,
                applicant=cmd.applicant,
            )
        )
    attachments = tuple(
        Attachment(
            id=str(uuid.uuid4()),
            file_name=a.file_name,
            type=a.type,
            size=a.size,
            mime_type=a.mime_type,
            status=AttachmentStatus.PENDING,
            recipients=a.recipients,
        )
        for a in cmd.attachments
    )
    return Folder(
        id=folder_id,
        process_code=cmd.process_code,
        external_id=cmd.external_id,
        transmitter=principal.org,
        global_status=Status.HUBEE_RECEIVED,
        applicant=cmd.applicant,
        create_at=now,
        partner_info=partner,
        cases=tuple(cases),
        attachments=attachments,
    )
