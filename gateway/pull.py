"""Pulling from the hub: the feed, and each item it announces (docs/LINK.md).

The feed is long-polled (``wait``); items are handled in order and the cursor is saved
after each (at-least-once; every handler is idempotent). While the hub is unreachable
the same item is retried with a growing delay; the LAN keeps working meanwhile.

A new case is verified *before* anything of it is visible on the LAN: the sender's
seal (chain to the pinned hub CA at the signing time, a seal certificate of the
sender), the manifest against the case (id, démarche, this gateway as a recipient, the
case's files exactly), and each file's SHA-256 and size as it streams from the hub
into the encrypted store (resuming with ``Range`` after an interruption). Then it is
delivered and a sealed receipt is queued; or it is refused (journaled, never shown)
and a sealed rejection with the reason is queued. A case without a sender seal (sent
straight to the hub's HubEE API) follows ``unsealed_from_hub``
(:mod:`gateway.pull_unsealed`). Events and receipts are pulled by
:mod:`gateway.pull_updates`; downloads go through :mod:`gateway.pull_fetch`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.case_checks import Refusal, check_pulled_case
from gateway.encrypted_blobs import EncryptedBlobStore
from gateway.errors import HubRefused, HubUnreachable
from gateway.identity import GatewayIdentity
from gateway.link_client import LinkClient
from gateway.outbox import backoff
from gateway.pull_fetch import Fetcher, discard_all
from gateway.pull_import import PulledFile, apply_status, import_case, refuse_case
from gateway.pull_unsealed import (
    ACCEPT,
    REFUSE,
    REFUSED_BY_POLICY,
    check_unsealed_case,
    hub_attested_manifest,
)
from gateway.pull_updates import UpdatePuller, optional_b64
from gateway.sealing import (
    ACCEPTED,
    REJECTED,
    Sealed,
    receipt_manifest,
    seal_manifest,
)
from gateway.tables import GatewayTables
from hubee.model import Status
from hubee.store import Store, StoreTx
from trust.manifest import Manifest

log = logging.getLogger("gateway.pull")
CURSOR = "feed_cursor"


class Puller:
    def __init__(
        self,
        store: Store,
        blobs: EncryptedBlobStore,
        link: LinkClient,
        identity: GatewayIdentity,
        *,
        org_key: str,
        clock: Callable[[], datetime],
        wait: float = 25.0,
        parallel: int = 16,
        unsealed_from_hub: str = REFUSE,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._link = link
        self._identity = identity
        self._org_key = org_key
        self._clock = clock
        self._wait = wait
        self._parallel = parallel
        self.unsealed_from_hub = unsealed_from_hub
        self._fetcher = Fetcher(blobs, link)
        self._updates = UpdatePuller(
            store, self._fetcher, link, identity, org_key=org_key, clock=clock
        )
        self.attempts = 0
        self.last_error: str | None = None

    async def cursor(self) -> int:
        value = await self._store.read(lambda tx: GatewayTables.of(tx).state(CURSOR))
        return int(value or 0)

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
                self.attempts, self.last_error = 0, None
            except asyncio.CancelledError:
                raise
            except (HubUnreachable, HubRefused) as exc:
                await self._pause(exc.message)
            except Exception as exc:
                log.exception("feed item failed")
                await self._pause(f"{type(exc).__name__}: {exc}")

    async def _pause(self, error: str) -> None:
        self.attempts += 1
        self.last_error = error
        await asyncio.sleep(backoff(self.attempts))

    async def poll_once(self, wait: float | None = None) -> int:
        """One long poll; the items of different cases are handled side by side (those
        of one case in order), and the cursor saved once all of them are done."""
        after = await self.cursor()
        answer = await self._link.feed(after=after, wait=self._wait if wait is None else wait)
        items = answer.get("items") or []
        lanes: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            lanes.setdefault(str(item.get("caseId")), []).append(item)
        gate = asyncio.Semaphore(self._parallel)

        async def lane(queue: list[dict[str, Any]]) -> None:
            async with gate:
                for item in queue:
                    await self.handle(item)

        results = await asyncio.gather(*(lane(q) for q in lanes.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if items:
            cursor = max(int(i["cursor"]) for i in items)
            await self._save_cursor(cursor)
            log.info(
                "feed: %d item(s) applied, cursor %d",
                len(items),
                cursor,
                extra={"items": len(items), "cursor": cursor},
            )
        return len(items)

    async def _save_cursor(self, cursor: int) -> None:
        def work(tx: StoreTx) -> None:
            GatewayTables.of(tx).set_state(CURSOR, str(cursor))

        await self._store.write(work)

    async def handle(self, item: dict[str, Any]) -> None:
        kind, case_id = item.get("kind"), str(item.get("caseId"))
        if kind == "case":
            await self.pull_case(case_id)
        elif kind == "status":
            status = Status(str(item.get("status")))
            now = self._clock()
            await self._store.write(lambda tx: apply_status(tx, case_id, status, now))
        elif kind == "event":
            await self._updates.pull_event(case_id, str(item.get("eventId")))
        elif kind == "receipt":
            await self._updates.pull_receipt(case_id, str(item.get("receiptId")))
        else:
            log.warning("ignoring a feed item of unknown kind %r", kind)

    # Cases -----------------------------------------------------------------------------------

    async def pull_case(self, case_id: str) -> None:
        def known(tx: StoreTx) -> bool:
            tables = GatewayTables.of(tx)
            return tables.case_link(case_id) is not None or tables.refusal(case_id) is not None

        if await self._store.read(known):
            return
        answer = await self._link.get_case(case_id)
        case_json = answer.get("case") or {}
        folder_id = str(answer.get("folderId") or case_id)
        raw_manifest = optional_b64(answer.get("manifest"))
        raw_seal = optional_b64(answer.get("seal"))
        manifest: Manifest | None = None
        files: list[PulledFile] = []
        try:
            if (raw_manifest is None) != (raw_seal is None):
                # Half of a sealed pair: mis-signed (stripped) input, never "unsealed".
                raise Refusal("the case comes with a manifest without its seal, or the reverse")
            if raw_manifest is None or raw_seal is None:
                manifest, files = await self._accept_unsealed(case_id, folder_id, answer)
                raw_manifest, raw_seal = manifest.to_json(), b""  # no sender seal
            else:
                manifest = check_pulled_case(
                    folder_id,
                    answer,
                    raw_manifest,
                    raw_seal,
                    anchors=self._identity.hub_ca,
                    own_key=self._org_key,
                )
                files = await self._fetch_case_files(case_id, case_json, manifest)
        except Refusal as refusal:
            await self._refuse(case_id, folder_id, str(refusal), manifest, raw_manifest, case_json)
            return
        now = self._clock()
        receipt = self._receipt(manifest, case_id, ACCEPTED, None, now)
        try:
            await self._store.write(
                lambda tx: import_case(
                    tx,
                    own_key=self._org_key,
                    case_json=case_json,
                    manifest=manifest,
                    manifest_json=raw_manifest,
                    seal=raw_seal,
                    files=files,
                    receipt=receipt,
                    now=now,
                )
            )
        except BaseException:
            for f in files:
                await asyncio.to_thread(f.writer.discard)
            raise
        for f in files:
            await asyncio.to_thread(self._blobs.sync, f.sha256)

    async def _accept_unsealed(
        self, case_id: str, folder_id: str, answer: dict[str, Any]
    ) -> tuple[Manifest, list[PulledFile]]:
        """A case sent straight to the hub (no sender seal), per ``unsealed_from_hub``:
        its files checked against the hub's digests (:mod:`gateway.pull_unsealed`)."""
        if self.unsealed_from_hub != ACCEPT:
            raise Refusal(REFUSED_BY_POLICY)
        check_unsealed_case(answer, own_key=self._org_key)
        files = await self._fetch_case_files(case_id, answer.get("case") or {}, None)
        try:
            manifest = hub_attested_manifest(
                folder_id, answer, files, own_key=self._org_key, now=self._clock()
            )
        except Refusal:
            await discard_all(files)
            raise
        return manifest, files

    async def _fetch_case_files(
        self, case_id: str, case_json: dict[str, Any], manifest: Manifest | None
    ) -> list[PulledFile]:
        """Each file checked against the sealed digest, or the hub's (no manifest)."""
        sealed = {} if manifest is None else {a.file_name: a for a in manifest.attachments}
        files: list[PulledFile] = []
        try:
            for meta in case_json.get("attachments", []):
                digest = sealed.get(str(meta["fileName"]))
                files.append(
                    await self.fetch(
                        f"/link/v1/cases/{case_id}/attachments/{meta['id']}",
                        name=f"{case_id}-{meta['id']}",
                        meta=meta,
                        sha256=None if digest is None else digest.sha256,
                    )
                )
        except Refusal:
            await discard_all(files)
            raise
        return files

    async def fetch(
        self, path: str, *, name: str, meta: dict[str, Any], sha256: str | None
    ) -> PulledFile:
        return await self._fetcher.fetch(path, name=name, meta=meta, sha256=sha256)

    def _receipt(
        self,
        manifest: Manifest | None,
        case_id: str,
        outcome: str,
        reason: str | None,
        now: datetime,
        raw: bytes | None = None,
    ) -> Sealed:
        sha = manifest.sha256() if manifest else hashlib.sha256(raw or b"").hexdigest()
        body = receipt_manifest(
            folder_manifest_sha256=sha,
            folder_id=manifest.id if manifest else "",
            case_id=case_id,
            process_code=manifest.process_code if manifest else None,
            receiver=self._org_key,
            sender=manifest.sender if manifest else None,
            outcome=outcome,
            reason=reason,
            at=now,
        )
        return seal_manifest(body, self._identity.seal, now)

    async def _refuse(
        self,
        case_id: str,
        folder_id: str,
        reason: str,
        manifest: Manifest | None,
        raw: bytes | None,
        case_json: dict[str, Any],
    ) -> None:
        log.warning("refusing case %s: %s", case_id, reason)
        now = self._clock()
        receipt = self._receipt(manifest, case_id, REJECTED, reason, now, raw)
        await self._store.write(
            lambda tx: refuse_case(
                tx, case_id=case_id, folder_id=folder_id, reason=reason, receipt=receipt, now=now
            )
        )
