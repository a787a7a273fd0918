"""The OSL side: dossiers dropped in OUT/ become HubEE folders.

For each dossier, once settled (see :mod:`gateway.folders_scan`):

1. *take* it: rename ``OUT/NAME`` to ``.sceau/work/NAME`` (the local software sees it
   leave OUT/; nothing can change it under us any more) and note it in the state;
2. read and check ``metadata.json``, hash every file;
3. create the folder (``POST /folders``), upload each attachment not yet received
   (``PUT`` with the ``digest`` header), complete it (``globalStatus: HUBEE_COMPLETED``);
4. write ``receipt.json`` in the dossier and rename it to ``SENT/NAME``.

Restarts. Every step can be done again: the state remembers the folder id; the API
answers a repeated creation with the original folder when the externalId and content
are the same (docs/HUB.md, "Retries"); uploads skip attachments already RECEIVED;
completing a completed folder is a no-op. So a crash anywhere leaves one folder.

Transient failures (API down, 5xx, bad credentials) keep the dossier in work/ and
retry with backoff. Permanent ones (bad metadata, a refusal by the API) delete the
folder if it was created but not completed, then move the dossier to ``FAILED/NAME``
beside ``FAILED/NAME.error``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.folders_api import HubeeApi
from gateway.folders_errors import (
    ApiRefused,
    ApiUnavailable,
    DossierInvalid,
    FolderError,
    LocalFault,
)
from gateway.folders_fs import free_name, fsync_dir, json_bytes, move_into, write_durably
from gateway.folders_metadata import Dossier, read_dossier
from gateway.folders_scan import Settling, is_locked, scan_out
from gateway.folders_settings import FolderSettings
from gateway.folders_state import FolderState, OutboundRow

log = logging.getLogger("sceau.folders")

FOLDERS = "/teledossiers/v1/folders"
RECEIPT = "receipt.json"
Json = dict[str, Any]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Outbound:
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
        self._settling = Settling(settings.settle_time)

    async def recover(self) -> None:
        """Note dossiers found in work/ without a state row (a crash right after taking)."""

        def work() -> None:
            known = {row.name for row in self._state.outbound_all()}
            for name in sorted(os.listdir(self._layout.work)):
                if name not in known:
                    self._state.claim(name, now=self._clock())
            for row in self._state.outbound_all():
                if not (self._layout.work / row.name).exists():
                    self._state.outbound_done(row.name)  # moved to SENT/FAILED, not noted

        await asyncio.to_thread(work)

    async def scan(self) -> int:
        """Retry what is due, then take what has settled in OUT/. Returns dossiers handled."""
        handled = 0
        for row in await asyncio.to_thread(self._state.outbound_all):
            if row.next_try <= self._clock():
                await self._send(row)
                handled += 1
        candidates = await asyncio.to_thread(scan_out, self._layout.out)
        self._settling.keep_only({c.name for c in candidates})
        for candidate in candidates:
            if not self._settling.ready(candidate, now=self._clock()):
                continue
            self._settling.forget(candidate.name)
            if await asyncio.to_thread(self._take, candidate.name):
                taken = await asyncio.to_thread(self._state.outbound, candidate.name)
                assert taken is not None
                await self._send(taken)
                handled += 1
        return handled

    def _take(self, name: str) -> bool:
        source, target = self._layout.out / name, self._layout.work / name
        if target.exists() or is_locked(self._layout.out, name):
            return False  # a dossier of that name is still in flight; or locked just now
        try:
            os.rename(source, target)
        except FileNotFoundError:
            return False
        fsync_dir(self._layout.out)
        fsync_dir(self._layout.work)
        self._state.claim(name, now=self._clock())
        log.info("took dossier %s from OUT/", name)
        return True

    async def _send(self, row: OutboundRow) -> None:
        path = self._layout.work / row.name
        folder_id = row.folder_id
        try:
            receipt = await asyncio.to_thread(_own_receipt, path, folder_id)
            if receipt is None:
                dossier = await asyncio.to_thread(
                    read_dossier,
                    path,
                    process_code=self._settings.process_code,
                    max_metadata_bytes=self._settings.max_metadata_bytes,
                )
                digest = dossier.content_digest()
                if row.digest is not None and row.digest != digest and folder_id is not None:
                    raise DossierInvalid(
                        f"the dossier changed while it was being sent (folder {folder_id})"
                    )
                await asyncio.to_thread(
                    self._state.record_digest, row.name, digest, dossier.external_id
                )
                folder = await self._create(dossier, folder_id)
                folder_id = str(folder["id"])
                await asyncio.to_thread(self._state.record_folder, row.name, folder_id)
                await self._upload(dossier, folder)
                await self._complete(folder_id)
                receipt = self._receipt(dossier, folder, digest)
                await asyncio.to_thread(_write_receipt, path, receipt)
            target = await asyncio.to_thread(move_into, path, self._layout.sent, row.name)
            await asyncio.to_thread(self._state.outbound_done, row.name)
            log.info("sent dossier %s as folder %s (%s)", row.name, folder_id, target.name)
        except FolderError as exc:
            if exc.transient:
                await self._retry_later(row, exc)
            else:
                await self._fail(row.name, path, exc, folder_id)
        except OSError as exc:  # disk full, permissions: the operator fixes it, we retry
            await self._retry_later(row, LocalFault(f"{exc.strerror or exc}: {exc.filename}"))

    async def _create(self, dossier: Dossier, folder_id: str | None) -> Json:
        if folder_id is not None:
            try:
                found = await self._api.call_json("GET", f"{FOLDERS}/{folder_id}")
                if isinstance(found, dict) and found.get("id") == folder_id:
                    return found
                raise ApiUnavailable(f"GET {FOLDERS}/{folder_id} answered another document")
            except ApiRefused as exc:
                if exc.status != 404:
                    raise
        try:
            created = await self._api.call_json("POST", FOLDERS, json_body=dossier.folder_body())
        except ApiRefused as exc:
            if exc.status == 409:
                raise ApiRefused(
                    f"the gateway already has a folder with externalId {dossier.external_id} "
                    f"and other content: {exc.message}",
                    status=409,
                    hint="If this dossier is a correction, give it a new externalId in "
                    "metadata.json; then move it back into OUT/.",
                ) from None
            raise ApiRefused(
                f"the gateway refused the folder: {exc.message}", status=exc.status
            ) from None
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            raise ApiUnavailable(f"POST {FOLDERS} answered without a folder id")
        return created

    async def _upload(self, dossier: Dossier, folder: Json) -> None:
        remote = folder.get("attachments") or []
        by_name = {a.get("fileName"): a for a in remote}
        for index, local in enumerate(dossier.files):
            meta = by_name.get(local.name)
            if meta is None and len(remote) == len(dossier.files):
                meta = remote[index]
            if meta is None:
                raise ApiRefused(
                    f"the folder {folder.get('id')} has no attachment for {local.name}", status=0
                )
            if meta.get("status") == "RECEIVED":
                continue
            try:
                await self._api.upload(
                    f"{FOLDERS}/{folder['id']}/attachments/{meta['id']}",
                    local.path,
                    size=local.size,
                    sha256=local.sha256,
                )
            except ApiRefused as exc:
                raise ApiRefused(
                    f"the gateway refused attachment {local.name}: {exc.message}",
                    status=exc.status,
                ) from None
            except FileNotFoundError:
                raise DossierInvalid(f"{local.name} vanished while it was being sent") from None

    async def _complete(self, folder_id: str) -> None:
        try:
            await self._api.call(
                "PATCH", f"{FOLDERS}/{folder_id}", json_body={"globalStatus": "HUBEE_COMPLETED"}
            )
        except ApiRefused as exc:
            raise ApiRefused(
                f"the gateway refused to complete the folder: {exc.message}", status=exc.status
            ) from None

    def _receipt(self, dossier: Dossier, folder: Json, digest: str) -> Json:
        return {
            "folderId": folder["id"],
            "processCode": dossier.process_code,
            "externalId": dossier.external_id,
            "cases": [
                {
                    "id": c.get("id"),
                    "externalId": c.get("externalId"),
                    "recipient": c.get("recipient"),
                }
                for c in folder.get("cases") or []
            ],
            "attachments": [
                {"fileName": f.name, "size": f.size, "sha256": f.sha256.hex()}
                for f in dossier.files
            ],
            "contentDigest": digest,
            "completedAt": _iso(datetime.fromtimestamp(self._clock(), UTC)),
            "api": self._api.base_url,
        }

    async def _retry_later(self, row: OutboundRow, exc: FolderError) -> None:
        attempts = row.attempts + 1
        delay = self._settings.backoff.delay(attempts)
        await asyncio.to_thread(
            self._state.outbound_retry,
            row.name,
            attempts=attempts,
            next_try=self._clock() + delay,
            error=exc.message,
        )
        log.warning(
            "dossier %s: %s (attempt %d; next in %.0f s)", row.name, exc.message, attempts, delay
        )

    async def _fail(self, name: str, path: Path, exc: FolderError, folder_id: str | None) -> None:
        note = ""
        if folder_id is not None:
            try:
                await self._api.call("DELETE", f"{FOLDERS}/{folder_id}")
                note = f"The unfinished folder {folder_id} was deleted from the API."
            except FolderError as cleanup:
                note = f"The folder {folder_id} could not be deleted ({cleanup.message})."
        at = _iso(datetime.fromtimestamp(self._clock(), UTC))
        text = f"Dossier: {name}\nFailed at: {at}\nReason: {exc.message}\n"
        if exc.hint:
            text += f"What to do: {exc.hint}\n"
        if note:
            text += f"Note: {note}\n"
        await asyncio.to_thread(self._move_to_failed, path, name, text)
        await asyncio.to_thread(self._state.outbound_done, name)
        log.error("dossier %s failed: %s", name, exc.message)

    def _move_to_failed(self, path: Path, name: str, text: str) -> None:
        failed = self._layout.failed
        free = free_name(failed, name)
        error_file = failed / f"{free}.error"
        write_durably(error_file, text.encode())
        if path.exists() or path.is_symlink():
            os.rename(path, failed / free)
        fsync_dir(failed)
        fsync_dir(path.parent)


def _own_receipt(path: Path, folder_id: str | None) -> Json | None:
    """The receipt written by an earlier run that stopped before moving to SENT/."""
    receipt = path / RECEIPT
    if folder_id is None or not receipt.is_file():
        return None
    try:
        document = json.loads(receipt.read_bytes())
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("folderId") == folder_id:
        return document
    return None


def _write_receipt(path: Path, receipt: Json) -> None:
    temporary = path / f".{RECEIPT}.tmp"
    temporary.unlink(missing_ok=True)
    write_durably(temporary, json_bytes(receipt))
    os.replace(temporary, path / RECEIPT)
    fsync_dir(path)
