"""Retention: purge files, archive, then delete dossiers, per démarche (HubEE process API).

For each démarche, with its delays in days:

- ``timeBeforeFileDeletion``: once a case has reached ``statusBeforeFileDeletion`` (or a
  later step) for that long, its files are deleted (attachment status DELETED; a blob
  goes when no attachment uses it any more);
- ``timeBeforeArchiving``: once every case of a folder has been CLOSED for that long,
  the folder and its cases become ARCHIVED (their files are purged if not yet);
- ``timeBeforeFolderDeletion``: once a folder has been ARCHIVED for that long, its
  metadata is deleted;
- notifications nobody deleted expire after ``timeBeforeFolderDeletion``
  (:mod:`hubee.notification_expiry`, journaled ``purge.notifications``).

Each purge writes a purge record and a journal record (``purge.files``,
``purge.archived``, ``purge.folder``) with the ids and SHA-256 digests involved; those
records are evidence and are never purged. Time is a parameter: ``purge(now=…)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from hubee.blob_refs import drop_unreferenced_blobs
from hubee.blobs import BlobStore
from hubee.event_sink import EventSink
from hubee.model import Principal, Process, Side, Status
from hubee.notification_expiry import expire_notifications
from hubee.store import Store, StoreTx
from hubee.transitions import check_case_move

_BATCH = 200  # folders or cases per write unit, so that purges never hog the writer


class _Step(Protocol):
    """One batch of a purge, inside one write transaction; the SHA-256 digests of the
    blobs it may have left unreferenced."""

    def __call__(
        self, tx: StoreTx, *, batch: list[str], now: datetime, report: PurgeReport
    ) -> list[str]: ...


@dataclass
class PurgeReport:
    cases_with_files_purged: int = 0
    attachments_deleted: int = 0
    blobs_deleted: int = 0
    folders_archived: int = 0
    folders_deleted: int = 0
    notifications_deleted: int = 0


class Retention:
    def __init__(self, store: Store, blobs: BlobStore, sink: EventSink) -> None:
        self._store = store
        self._blobs = blobs
        self._sink = sink

    async def purge(self, *, now: datetime) -> PurgeReport:
        report = PurgeReport()
        processes = await self._store.read(lambda tx: tx.processes())
        for process in processes:
            await self._purge_files(process, now, report)
            await self._archive(process, now, report)
            await self._delete(process, now, report)
            report.notifications_deleted += await expire_notifications(
                self._store, self._sink, process, now=now
            )
        return report

    async def portal_pending(self, principal: Principal, *, limit: int) -> list[tuple[str, str]]:
        """(attachment id, case id) pairs whose files the hub purged, not yet acknowledged
        by the portal (``GET /attachmentsIdsForPurge``)."""
        org_id = None if principal.is_admin else principal.org.id
        return await self._store.read(lambda tx: tx.portal_purge_pending(org_id, limit))

    async def portal_acknowledge(self, principal: Principal, pairs: list[tuple[str, str]]) -> int:
        """Record the portal's purge of these pairs (``PUT /idsPurged``)."""
        org_id = None if principal.is_admin else principal.org.id
        return await self._store.write(lambda tx: tx.mark_portal_purged(pairs, org_id))

    async def _in_batches(
        self, due: list[str], step: _Step, *, now: datetime, report: PurgeReport
    ) -> None:
        """Run ``step`` on ``due`` ids, one write unit per batch; then drop the blobs the
        batch left unreferenced."""
        for start in range(0, len(due), _BATCH):
            batch = due[start : start + _BATCH]
            shas = await self._store.write(partial(step, batch=batch, now=now, report=report))
            report.blobs_deleted += await drop_unreferenced_blobs(self._store, self._blobs, shas)

    async def _purge_files(self, process: Process, now: datetime, report: PurgeReport) -> None:
        cutoff = now - timedelta(days=process.time_before_file_deletion)
        due = await self._store.read(lambda tx: tx.cases_due_for_file_deletion(process, cutoff))
        await self._in_batches(due, self._purge_cases, now=now, report=report)

    def _purge_cases(
        self, tx: StoreTx, *, batch: list[str], now: datetime, report: PurgeReport
    ) -> list[str]:
        shas: list[str] = []
        for case_id in batch:
            case = tx.case(case_id)
            folder = None if case is None else tx.folder(case.folder_id)
            if case is None or folder is None:
                continue
            deleted = tx.purge_case_files(case_id, at=now)
            detail: dict[str, object] = {
                "case": case_id,
                "status": case.status.value,
                "attachments": {a.id: a.sha256 for a in deleted},
            }
            tx.insert_purge_record(kind="files", folder=folder, at=now, detail=detail)
            self._sink.record(tx, "purge.files", case_id, now, detail)
            shas.extend(a.sha256 for a in deleted if a.sha256)
            report.cases_with_files_purged += 1
            report.attachments_deleted += len(deleted)
        return shas

    async def _archive(self, process: Process, now: datetime, report: PurgeReport) -> None:
        cutoff = now - timedelta(days=process.time_before_archiving)
        due = await self._store.read(lambda tx: tx.folders_due_for_archiving(process.code, cutoff))
        await self._in_batches(due, self._archive_folders, now=now, report=report)

    def _archive_folders(
        self, tx: StoreTx, *, batch: list[str], now: datetime, report: PurgeReport
    ) -> list[str]:
        shas: list[str] = []
        for folder_id in batch:
            folder = tx.folder(folder_id)
            if folder is None:
                continue
            purged: dict[str, str | None] = {}
            for case in folder.cases:
                for att in tx.purge_case_files(case.id, at=now):
                    purged[att.id] = att.sha256
                    report.attachments_deleted += 1
                check_case_move(case.status, Status.ARCHIVED, Side.HUB)
                tx.set_case_status(case.id, Status.ARCHIVED, at=now)
            tx.set_folder_status(folder.id, Status.ARCHIVED, at=now)
            detail: dict[str, object] = {
                "cases": [c.id for c in folder.cases],
                "attachments": purged,
            }
            tx.insert_purge_record(kind="archived", folder=folder, at=now, detail=detail)
            self._sink.record(tx, "purge.archived", folder.id, now, detail)
            shas.extend(s for s in purged.values() if s)
            report.folders_archived += 1
        return shas

    async def _delete(self, process: Process, now: datetime, report: PurgeReport) -> None:
        cutoff = now - timedelta(days=process.time_before_folder_deletion)
        due = await self._store.read(lambda tx: tx.folders_due_for_deletion(process.code, cutoff))
        await self._in_batches(due, self._delete_folders, now=now, report=report)

    def _delete_folders(
        self, tx: StoreTx, *, batch: list[str], now: datetime, report: PurgeReport
    ) -> list[str]:
        shas: list[str] = []
        for folder_id in batch:
            folder = tx.folder(folder_id)
            if folder is None:
                continue
            detail: dict[str, object] = {
                "cases": {c.id: c.recipient.ref.key for c in folder.cases},
                "attachments": {a.id: a.sha256 for a in folder.attachments},
                "applicant": None,  # personal data is not kept in evidence
            }
            tx.insert_purge_record(kind="folder", folder=folder, at=now, detail=detail)
            self._sink.record(tx, "purge.folder", folder.id, now, detail)
            tx.delete_folder(folder.id)
            shas.extend(a.sha256 for a in folder.attachments if a.sha256)
            report.folders_deleted += 1
        return shas
