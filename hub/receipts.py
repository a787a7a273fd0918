"""Receipts: the receiving gateway's sealed acknowledgement of a case, relayed to the
sender.

The receiver seals a receipt manifest (kind ``receipt``: the folder manifest's
SHA-256, the time, the receiver, ``accepted`` or ``rejected`` with a reason). The hub
checks the seal as for any manifest, that the receipt names this case and this
folder's sealed manifest (any manifest, for a folder sent without one through the
HubEE API), and that the caller is the case's recipient. It then
stores the receipt, journals ``receipt.stored`` and puts a ``receipt`` item in the
sender's feed, all in one transaction. One receipt per case: the same one again
answers as the first; another is a conflict.
"""

from __future__ import annotations

from datetime import datetime

from hub.fact_sink import HubSink
from hub.link_model import FeedKind, LinkCaller, Receipt, SealedManifest
from hub.link_tx import link_tx
from hub.manifest_checks import receipt_fields
from hub.seal_checks import SealChecker
from hubee.errors import Conflict, NotFound, ValidationFailed
from hubee.model import Case, Status
from hubee.store import Store, StoreTx


class Receipts:
    def __init__(self, store: Store, sink: HubSink, seals: SealChecker) -> None:
        self._store = store
        self._sink = sink
        self._seals = seals

    async def accept(
        self, caller: LinkCaller, case_id: str, receipt: bytes, seal: bytes, *, now: datetime
    ) -> tuple[Receipt, bool]:
        """Store a receipt for ``case_id``; ``True`` when it is new."""

        def find(tx: StoreTx) -> tuple[Case, SealedManifest | None]:
            case = tx.case(case_id)
            if (
                case is None
                or case.recipient.id != caller.org.id
                or case.status is Status.HUBEE_RECEIVED
            ):
                raise NotFound(f"Case is not found: {case_id}")
            return case, link_tx(tx).sealed(case.folder_id)

        case, sealed = await self._store.read(find)
        checked = await self._seals.check(caller, receipt, seal, now=now, field="receipt")
        fields = receipt_fields(checked.manifest, case_id=case_id, sender=caller.org.ref.key)
        # A folder an operator sent straight to the HubEE API has no sealed manifest:
        # the receiver acknowledges the manifest it recorded from the hub's digests,
        # which the hub cannot compare with anything.
        if sealed is not None and fields.folder_manifest_sha256 != sealed.manifest_sha256:
            raise ValidationFailed(
                "receipt",
                "extra.folderManifestSha256 is not the SHA-256 of the folder's sealed manifest "
                f"({sealed.manifest_sha256})",
            )
        stored = Receipt(
            id=fields.receipt_id,
            case_id=case_id,
            folder_id=case.folder_id,
            receiver_org_id=caller.org.id,
            sender_org_id=case.transmitter.id,
            manifest=checked.manifest_bytes,
            seal=checked.seal,
            manifest_sha256=checked.sha256,
            outcome=fields.outcome,
            stored_at=now,
        )

        def keep(tx: StoreTx) -> tuple[Receipt, bool]:
            link = link_tx(tx)
            existing = link.receipt_for_case(case_id)
            if existing is not None:
                if existing.manifest_sha256 != checked.sha256:
                    raise Conflict(f"case {case_id} already has another receipt ({existing.id})")
                return existing, False
            if link.receipt(stored.id) is not None:
                raise Conflict(f"receipt id {stored.id} is already used by another case")
            link.insert_receipt(stored)
            self._sink.record(
                tx,
                "receipt.stored",
                stored.id,
                now,
                {
                    "case": case_id,
                    "folder": case.folder_id,
                    "outcome": stored.outcome.value,
                    "receiptSha256": checked.sha256,
                    "folderManifestSha256": fields.folder_manifest_sha256,
                    "receiver": caller.org.ref.key,
                },
            )
            self._sink.announce(
                tx,
                case.transmitter.id,
                FeedKind.RECEIPT,
                case_id,
                at=now,
                process_code=case.process_code,
                receipt_id=stored.id,
            )
            return stored, True

        return await self._store.write(keep)

    async def get(self, caller: LinkCaller, receipt_id: str) -> Receipt:
        """A receipt, for its sender or its receiver only."""
        found = await self._store.read(lambda tx: link_tx(tx).receipt(receipt_id))
        if found is None or caller.org.id not in (found.sender_org_id, found.receiver_org_id):
            raise NotFound(f"Receipt is not found: {receipt_id}")
        return found
