"""Folders pushed by an operator's gateway: sealed, uploaded (resumably), completed.

``push`` verifies the seal and that the manifest describes the folder
(:mod:`hub.seal_checks`, :mod:`hub.manifest_checks`), creates the folder in the
engine under the gateway's id for it, then stores the manifest and seal with it and
journals ``folder.sealed``. The same id with the same manifest answers as the first
time (also after a crash between the two steps: the engine recognises its folder);
another manifest under the same id is a conflict.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from hub.fact_sink import HubSink
from hub.link_model import LinkCaller, SealedKind, SealedManifest
from hub.link_payloads import FolderPush
from hub.link_tx import link_tx
from hub.manifest_checks import check_folder_manifest
from hub.seal_checks import SealChecker, parse_manifest
from hub.uploads import ContentRange, Uploads
from hubee.access import owner_side
from hubee.attachments import parse_digest
from hubee.commands import FolderUpdate
from hubee.errors import Conflict, NotFound, ValidationFailed
from hubee.model import AttachmentStatus, Folder, PartnerInfo, Principal, Status
from hubee.services import HubServices
from hubee.store import Store, StoreTx


def sealed_attachment_sha256(sealed: SealedManifest, file_name: str) -> str:
    """The SHA-256 the sealed manifest gives for ``file_name``."""
    for attachment in parse_manifest(sealed.manifest).attachments:
        if attachment.file_name == file_name:
            return attachment.sha256
    raise ValidationFailed("manifest", f"the sealed manifest has no attachment {file_name!r}")


def check_digest(digest: str | None, expected_sha256: str, file_name: str) -> str:
    """The ``digest`` header, required, and equal to the sealed manifest's SHA-256."""
    if digest is None:
        raise ValidationFailed("digest", "is required on link uploads (sha-256=<base64>)")
    if parse_digest(digest) != expected_sha256:
        raise ValidationFailed(
            "digest", f"is not the SHA-256 the sealed manifest gives for {file_name!r}"
        )
    return digest


class LinkFolders:
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

    async def push(
        self,
        caller: LinkCaller,
        folder_id: str,
        push: FolderPush,
        *,
        partner: PartnerInfo,
        now: datetime,
    ) -> tuple[Folder, bool]:
        """Accept a sealed folder; ``True`` when it is new."""
        checked = await self._seals.check(
            caller, push.manifest, push.seal, now=now, field="manifest"
        )
        check_folder_manifest(
            checked.manifest, folder_id=folder_id, folder=push.folder, sender=caller.org.ref.key
        )
        principal = caller.principal(push.folder.process_code)
        existing = await self._store.read(lambda tx: link_tx(tx).sealed(folder_id))
        if existing is not None:
            if existing.manifest_sha256 != checked.sha256:
                raise Conflict(f"folder {folder_id} was pushed with another manifest")
            return await self._hub.folders.get(principal, folder_id), False
        folder, _ = await self._hub.folders.create(
            principal, push.folder, partner=partner, now=now, folder_id=folder_id
        )
        sealed = SealedManifest(
            subject=folder_id,
            kind=SealedKind.FOLDER,
            case_id=None,
            manifest_id=checked.manifest.id,
            manifest=checked.manifest_bytes,
            seal=checked.seal,
            manifest_sha256=checked.sha256,
            signer_fingerprint=checked.signer_fingerprint,
            gateway_id=caller.gateway.id,
            stored_at=now,
        )

        def keep(tx: StoreTx) -> None:
            link = link_tx(tx)
            raced = link.sealed(folder_id)
            if raced is not None:
                if raced.manifest_sha256 != checked.sha256:
                    raise Conflict(f"folder {folder_id} was pushed with another manifest")
                return
            link.insert_sealed(sealed)
            self._sink.record(
                tx,
                "folder.sealed",
                folder_id,
                now,
                {
                    "manifestSha256": checked.sha256,
                    "signer": checked.signer_subject,
                    "gateway": caller.gateway.id,
                },
            )

        await self._store.write(keep)
        return folder, True

    async def _locate(
        self, caller: LinkCaller, folder_id: str, attachment_id: str
    ) -> tuple[Principal, str, str, int, bool]:
        """(principal, file name, its sealed SHA-256, size, already received)."""

        def find(tx: StoreTx) -> tuple[str, SealedManifest, str, int, bool]:
            record = tx.attachment(attachment_id)
            sealed = link_tx(tx).sealed(folder_id)
            if (
                record is None
                or record.folder_id != folder_id
                or record.event_id is not None
                or sealed is None
            ):
                raise NotFound(f"Binary meta-data is not found: {attachment_id}")
            owner_side(
                caller.principal(record.process_code),
                record.transmitter_org_id,
                record.process_code,
                folder_id,
            )
            att = record.attachment
            return (
                record.process_code,
                sealed,
                att.file_name,
                att.size,
                att.status is AttachmentStatus.RECEIVED,
            )

        process_code, sealed, name, size, received = await self._store.read(find)
        sha256 = sealed_attachment_sha256(sealed, name)
        return caller.principal(process_code), name, sha256, size, received

    async def upload_offset(self, caller: LinkCaller, folder_id: str, attachment_id: str) -> int:
        _, _, _, size, received = await self._locate(caller, folder_id, attachment_id)
        return size if received else await self._uploads.offset(attachment_id)

    async def upload(
        self,
        caller: LinkCaller,
        folder_id: str,
        attachment_id: str,
        chunks: AsyncIterator[bytes],
        *,
        digest: str | None,
        content_range: ContentRange | None,
        now: datetime,
    ) -> tuple[int, int]:
        """Take (part of) an attachment; returns (offset reached, size)."""
        principal, name, sha256, size, _ = await self._locate(caller, folder_id, attachment_id)
        checked_digest = check_digest(digest, sha256, name)

        async def deliver(body: AsyncIterator[bytes]) -> None:
            await self._hub.attachments.receive_for_folder(
                principal,
                folder_id,
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

    async def complete(self, caller: LinkCaller, folder_id: str, *, now: datetime) -> Folder:
        """Declare the folder complete: the engine delivers its cases and notifies."""

        def find(tx: StoreTx) -> str:
            folder = tx.folder(folder_id)
            if folder is None or link_tx(tx).sealed(folder_id) is None:
                raise NotFound(f"Folder is not found: {folder_id}")
            return folder.process_code

        principal = caller.principal(await self._store.read(find))
        await self._hub.folders.update(
            principal, folder_id, FolderUpdate(Status.HUBEE_COMPLETED), now=now
        )
        return await self._hub.folders.get(principal, folder_id)
