"""The SI side: notified cases (and events) appear in IN/, atomically.

For each notification of the process (``GET /notifications``):

* a new case (``eventId`` null): ``GET /cases/{id}``, download every attachment into
  ``.sceau/incoming/CASE`` (streamed, digest and size checked, fsynced), write
  ``metadata.json``, fsync the folder, note it *staged*, rename it to ``IN/CASE``,
  fsync IN/, note it *delivered*; then acknowledge: case status ``SI_RECEIVED`` (only
  from HUBEE_NOTIFIED or SENT) and ``DELETE`` the notification;
* an event (from the operator: a message, a status change, more files): the same into
  ``IN/CASE.event-EVENT``, acknowledged with event status ``RECEIVED``.

The local software therefore sees a folder in IN/ only when it is complete. After a
crash, a staged folder still under ``.sceau/incoming`` is written again; one already
renamed counts as delivered, and the state keeps it delivered even after the local
software took it out of IN/, so a case is never delivered twice.

A case that cannot be received (the API refuses it, or its files arrive corrupted
``max_corrupted_downloads`` times) is reported in ``FAILED/CASE.error``, marked
``SI_INTG_ERROR`` (HubEE's status for "the SI could not integrate it"), and its
notification deleted. An unreachable API is only retried.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.folders_api import HubeeApi
from gateway.folders_errors import (
    ApiRefused,
    ApiUnavailable,
    FolderError,
    LocalFault,
    TransferCorrupted,
)
from gateway.folders_fs import fsync_dir, json_bytes, local_file_name, remove_tree, write_durably
from gateway.folders_settings import FolderSettings
from gateway.folders_state import DELIVERED, REJECTED, RETRYING, STAGED, FolderState

log = logging.getLogger("sceau.folders")

NOTIFICATIONS = "/teledossiers/v1/notifications"
CASES = "/teledossiers/v1/cases"
Json = dict[str, Any]


def _uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _iso(at: float) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class Inbound:
    def __init__(
        self,
        settings: FolderSettings,
        api: HubeeApi,
        state: FolderState,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._layout = settings.layout
        self._api = api
        self._state = state
        self._clock = clock

    async def recover(self) -> None:
        """Settle what a crash left between staging and delivery."""

        def work() -> None:
            for target in self._state.inbound_staged():
                staged = self._layout.incoming / target
                if staged.exists():
                    remove_tree(staged)  # never renamed: written again at the next poll
                    self._state.set_inbound(target, RETRYING, now=self._clock())
                else:
                    self._state.set_inbound(target, DELIVERED, now=self._clock())
            for leftover in os.listdir(self._layout.incoming):
                remove_tree(self._layout.incoming / leftover)

        await asyncio.to_thread(work)

    async def poll(self) -> int:
        """Handle the process's pending notifications. Returns how many were handled."""
        params = {
            "maxResult": str(self._settings.notifications_per_poll),
            "processCode": self._settings.process_code,
        }
        notes = await self._api.call_json("GET", NOTIFICATIONS, params=params)
        handled = 0
        for note in notes if isinstance(notes, list) else []:
            if isinstance(note, dict) and await self._handle(note):
                handled += 1
        return handled

    async def _handle(self, note: Json) -> bool:
        note_id, case_id = _uuid(note.get("id")), _uuid(note.get("caseId"))
        event_id = _uuid(note.get("eventId")) if note.get("eventId") is not None else None
        if note_id is None or case_id is None or (note.get("eventId") and event_id is None):
            log.error("ignored a notification with malformed ids: %r", note.get("id"))
            return False
        target = case_id if event_id is None else f"{case_id}.event-{event_id}"
        row = await asyncio.to_thread(self._state.inbound, target)
        if row is not None and row.state == RETRYING and row.next_try > self._clock():
            return False
        try:
            if row is not None and row.state == REJECTED:
                await self._report_rejected(case_id, event_id, note_id)
                return True
            if row is None or row.state not in (DELIVERED, STAGED):
                present = await asyncio.to_thread((self._layout.inbox / target).exists)
                if present:  # delivered by a run whose state was lost
                    await asyncio.to_thread(
                        self._state.set_inbound, target, DELIVERED, now=self._clock()
                    )
                else:
                    await self._deliver(target, case_id, event_id, note)
            await self._acknowledge(case_id, event_id, note_id)
            return True
        except FolderError as exc:
            await self._failed(target, case_id, event_id, note_id, exc)
            return True
        except OSError as exc:
            await self._failed(
                target,
                case_id,
                event_id,
                note_id,
                LocalFault(f"{exc.strerror or exc}: {exc.filename}"),
            )
            return True

    async def _deliver(self, target: str, case_id: str, event_id: str | None, note: Json) -> None:
        base = f"{CASES}/{case_id}" + ("" if event_id is None else f"/events/{event_id}")
        document = await self._api.call_json("GET", base)
        if not isinstance(document, dict) or not isinstance(document.get("attachments", []), list):
            raise ApiUnavailable(f"GET {base} answered something that is not a case or event")
        staging = self._layout.incoming / target
        await asyncio.to_thread(_fresh_dir, staging)
        taken: set[str] = set()
        files: list[Json] = []
        for attachment in document.get("attachments") or []:
            if not isinstance(attachment, dict) or _uuid(attachment.get("id")) is None:
                raise ApiRefused(f"{base}: an attachment without a valid id", status=0)
            entry: Json = {
                "attachmentId": attachment["id"],
                "fileName": attachment.get("fileName"),
                "type": attachment.get("type"),
                "mimeType": attachment.get("mimeType"),
                "size": attachment.get("size"),
                "status": attachment.get("status"),
            }
            if attachment.get("status") == "DELETED":  # purged by the retention delays
                entry["path"] = None
                files.append(entry)
                continue
            name = local_file_name(str(attachment.get("fileName") or "file"), taken)
            size = attachment.get("size")
            got = await self._api.download(
                f"{base}/attachments/{attachment['id']}",
                staging / name,
                expected_size=size if isinstance(size, int) else None,
            )
            entry.update(path=name, sha256=got.sha256.hex())
            files.append(entry)
        metadata: Json = {
            "kind": "case" if event_id is None else "event",
            "caseId": case_id,
            "eventId": event_id,
            "processCode": note.get("processCode"),
            "transmitter": note.get("transmitter"),
            "receivedAt": _iso(self._clock()),
            "api": self._api.base_url,
            "files": files,
            "case" if event_id is None else "event": document,
        }
        await asyncio.to_thread(self._publish, staging, target, metadata)
        log.info(
            "received %s into IN/%s (%d files)",
            "case" if event_id is None else "event",
            target,
            len(files),
        )

    def _publish(self, staging: Path, target: str, metadata: Json) -> None:
        write_durably(staging / "metadata.json", json_bytes(metadata))
        fsync_dir(staging)
        self._state.set_inbound(target, STAGED, now=self._clock())
        destination = self._layout.inbox / target
        if destination.exists():
            remove_tree(staging)  # delivered before; the state had lost it
        else:
            os.rename(staging, destination)
            fsync_dir(self._layout.inbox)
            fsync_dir(self._layout.incoming)
        self._state.set_inbound(target, DELIVERED, now=self._clock())

    async def _acknowledge(self, case_id: str, event_id: str | None, note_id: str) -> None:
        try:
            if event_id is None:
                case = await self._api.call_json(
                    "GET", f"{CASES}/{case_id}", params={"lite": "true"}
                )
                if isinstance(case, dict) and case.get("status") in ("HUBEE_NOTIFIED", "SENT"):
                    await self._api.call(
                        "PATCH", f"{CASES}/{case_id}", json_body={"status": "SI_RECEIVED"}
                    )
            else:
                path = f"{CASES}/{case_id}/events/{event_id}"
                event = await self._api.call_json("GET", path)
                if isinstance(event, dict) and event.get("status") == "SENT":
                    await self._api.call("PATCH", path, json_body={"status": "RECEIVED"})
        except ApiRefused as exc:  # delivered all the same; the status is the API's business
            log.warning("could not acknowledge %s: %s", event_id or case_id, exc.message)
        try:
            await self._delete_notification(note_id)
        except ApiRefused as exc:  # delivered: never report it failed; asked again next round
            log.warning("could not delete notification %s: %s", note_id, exc.message)

    async def _delete_notification(self, note_id: str) -> None:
        try:
            await self._api.call("DELETE", f"{NOTIFICATIONS}/{note_id}")
        except ApiRefused as exc:
            if exc.status != 404:
                raise

    async def _failed(
        self, target: str, case_id: str, event_id: str | None, note_id: str, exc: FolderError
    ) -> None:
        row = await asyncio.to_thread(self._state.inbound, target)
        attempts = (row.attempts if row else 0) + 1
        corrupted = (row.corrupted if row else 0) + int(isinstance(exc, TransferCorrupted))
        await asyncio.to_thread(remove_tree, self._layout.incoming / target)
        if exc.transient and corrupted < self._settings.max_corrupted_downloads:
            delay = self._settings.backoff.delay(attempts)
            await asyncio.to_thread(
                self._state.inbound_retry,
                target,
                now=self._clock(),
                next_try=self._clock() + delay,
                error=exc.message,
                corrupted=isinstance(exc, TransferCorrupted),
            )
            log.warning("%s: %s (attempt %d; next in %.0f s)", target, exc.message, attempts, delay)
            return
        text = (
            f"{'Case' if event_id is None else 'Event'}: {target}\n"
            f"Failed at: {_iso(self._clock())}\nReason: {exc.message}\n"
            "What to do: the case was marked SI_INTG_ERROR so that the sender knows; ask the "
            "sender to send it again, or fetch it with another HubEE client.\n"
        )
        await asyncio.to_thread(_write_error, self._layout.failed, target, text)
        await asyncio.to_thread(self._state.set_inbound, target, REJECTED, now=self._clock())
        log.error("could not receive %s: %s", target, exc.message)
        try:
            await self._report_rejected(case_id, event_id, note_id)
        except FolderError as report:
            log.warning("%s: reporting the failure to the API failed: %s", target, report.message)

    async def _report_rejected(self, case_id: str, event_id: str | None, note_id: str) -> None:
        if event_id is None:
            try:
                await self._api.call(
                    "PATCH", f"{CASES}/{case_id}", json_body={"status": "SI_INTG_ERROR"}
                )
            except ApiRefused as exc:
                log.warning("case %s could not be marked SI_INTG_ERROR: %s", case_id, exc.message)
        await self._delete_notification(note_id)


def _fresh_dir(path: Path) -> None:
    remove_tree(path)
    path.mkdir(mode=0o755)


def _write_error(failed: Path, target: str, text: str) -> None:
    error_file = failed / f"{target}.error"
    temporary = failed / f".{target}.error.tmp"
    temporary.unlink(missing_ok=True)
    write_durably(temporary, text.encode())
    os.replace(temporary, error_file)
    fsync_dir(failed)
