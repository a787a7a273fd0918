"""Pulling events and receipts that the hub announces for cases already here.

An event's attachments are checked against its sender's sealed manifest as they
download; an event failing that is refused with a sealed rejection
(:mod:`gateway.pull_rejections`), never shown on the LAN. A receipt is checked (the
recipient's seal, for the manifest this gateway sealed) before it is stored and shown
to the operator's software (:mod:`gateway.pull_events`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.case_checks import Refusal
from gateway.identity import GatewayIdentity
from gateway.link_client import LinkClient, unb64
from gateway.pull_events import import_event, import_receipt
from gateway.pull_fetch import Fetcher, discard_all
from gateway.pull_import import PulledFile
from gateway.pull_rejections import event_rejection_manifest, refusal_key, refuse_event
from gateway.sealing import check_sealed, seal_manifest
from gateway.tables import GatewayTables
from hubee.store import Store, StoreTx

log = logging.getLogger("gateway.pull")


def optional_b64(value: object) -> bytes | None:
    return None if value is None else unb64(value, "a sealed field")


class UpdatePuller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        link: LinkClient,
        identity: GatewayIdentity,
        *,
        org_key: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._link = link
        self._identity = identity
        self._org_key = org_key
        self._clock = clock

    async def pull_event(self, case_id: str, event_id: str) -> None:
        def known(tx: StoreTx) -> bool:
            tables = GatewayTables.of(tx)
            return (
                tables.event_for_remote(event_id) is not None
                or tables.refusal(refusal_key(event_id)) is not None
                or tables.case_by_remote(case_id) is None
            )

        if await self._store.read(known):
            return
        answer = await self._link.get_event(case_id, event_id)
        event = answer.get("event") or {}
        raw = optional_b64(answer.get("manifest"))
        try:
            files = await self._fetch_event_files(case_id, event_id, event, raw, answer)
        except Refusal as refusal:
            await self._refuse_event(case_id, event_id, str(refusal), raw, event)
            return
        now = self._clock()
        await self._store.write(lambda tx: import_event(tx, case_id, event, files, now))

    async def _fetch_event_files(
        self,
        case_id: str,
        event_id: str,
        event: dict[str, Any],
        raw: bytes | None,
        answer: dict[str, Any],
    ) -> list[PulledFile]:
        """The event's files, each checked against its sender's sealed manifest; Refusal
        if the seal or a file fails (the files already fetched are discarded)."""
        if not event.get("attachments"):
            return []
        seal = optional_b64(answer.get("seal"))
        if raw is None or seal is None:
            raise Refusal("the event's attachments come without a sealed manifest")
        checked = check_sealed(raw, seal, anchors=self._identity.hub_ca, kind="event")
        if not checked.ok or checked.manifest is None:
            raise Refusal("; ".join(checked.reasons))
        sealed = {a.file_name: a for a in checked.manifest.attachments}
        files: list[PulledFile] = []
        try:
            for meta in event["attachments"]:
                digest = sealed.get(str(meta.get("fileName")))
                if digest is None:
                    raise Refusal(f"attachment {meta.get('id')} is not in the sealed manifest")
                files.append(
                    await self._fetcher.fetch(
                        f"/link/v1/cases/{case_id}/events/{event_id}/attachments/{meta['id']}",
                        name=f"{event_id}-{meta['id']}",
                        meta=meta,
                        sha256=digest.sha256,
                    )
                )
        except Refusal:
            await discard_all(files)
            raise
        return files

    async def _refuse_event(
        self,
        case_id: str,
        event_id: str,
        reason: str,
        raw: bytes | None,
        event: dict[str, Any],
    ) -> None:
        # The reason may quote a file name (personal data): it goes to the journal only.
        log.warning("refusing event %s of case %s (reason journaled)", event_id, case_id)
        now = self._clock()
        transmitter = event.get("transmitter")
        sender = (
            f"{transmitter.get('companyRegister')}/{transmitter.get('branchCode')}"
            if isinstance(transmitter, dict)
            else None
        )
        manifest = event_rejection_manifest(
            remote_case_id=case_id,
            remote_event_id=event_id,
            event_manifest=raw,
            reason=reason,
            sender=self._org_key,
            recipient=sender,
            at=now,
        )
        rejection = seal_manifest(manifest, self._identity.seal, now)
        await self._store.write(
            lambda tx: refuse_event(
                tx,
                remote_case_id=case_id,
                remote_event_id=event_id,
                reason=reason,
                rejection=rejection,
                now=now,
            )
        )

    async def pull_receipt(self, case_id: str, receipt_id: str) -> None:
        def known(tx: StoreTx) -> bool:
            return GatewayTables.of(tx).receipt(receipt_id) is not None

        if await self._store.read(known):
            return
        answer = await self._link.get_receipt(receipt_id)
        raw = unb64(answer.get("receipt"), "receipt")
        seal = unb64(answer.get("seal"), "seal")
        checked = check_sealed(raw, seal, anchors=self._identity.hub_ca, kind="receipt")

        def ours(tx: StoreTx) -> tuple[str | None, str | None]:
            tables = GatewayTables.of(tx)
            link = tables.case_by_remote(case_id)
            case = None if link is None else tx.case(link.case_id)
            stored = None if link is None else tables.manifest(link.folder_id)
            return (
                None if stored is None else stored.sha256,
                None if case is None else case.recipient.ref.key,
            )

        sha, recipient = await self._store.read(ours)
        problems = list(checked.reasons)
        if checked.manifest is not None:
            extra = checked.manifest.extra
            if extra.get("folderManifestSha256") != sha:
                problems.append("the receipt is not for the manifest this gateway sealed")
            if checked.manifest.sender != recipient:
                problems.append(f"sealed by {checked.manifest.sender}, not the case's recipient")
        if problems or checked.manifest is None:
            log.warning("receipt %s refused: %s", receipt_id, "; ".join(problems))
            return
        manifest = checked.manifest
        now = self._clock()
        await self._store.write(
            lambda tx: import_receipt(
                tx,
                remote_case_id=case_id,
                receipt_id=receipt_id,
                manifest=manifest,
                manifest_json=raw,
                seal=seal,
                now=now,
            )
        )
