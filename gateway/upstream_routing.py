"""The gateway's :class:`hubee.routing.FolderRouting`: completed folders go upstream.

The gateway does not hold the hub's directory. A new case may name any recipient
organisation: it is recorded locally as met (the hub checks the subscription when the
folder arrives). Completing a folder, in the completing transaction: the folder
becomes HUBEE_COMPLETED, its manifest is built from the digests recorded at upload,
sealed with the gateway's seal key, stored and journaled (``manifest.sealed``), and a
``push_folder`` item is queued for the hub. The cases become HUBEE_NOTIFIED when the
hub has accepted the folder (:mod:`gateway.push`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from gateway.sealing import folder_manifest, seal_manifest
from gateway.tables import OUT, GatewayTables, folder_subject
from hubee.event_sink import EventSink
from hubee.model import Folder, Organization, OrgRef, Status, utc_now
from hubee.routing import record_folder_status, require_attachments_received
from hubee.store import StoreTx
from trust.evidence import SealingIdentity


class UpstreamRouting:
    def __init__(self, sink: EventSink, identity: SealingIdentity) -> None:
        self._sink = sink
        self._identity = identity

    def recipient(self, tx: StoreTx, ref: OrgRef) -> Organization | None:
        found = tx.org_by_ref(ref.company_register, ref.branch_code)
        if found is None:
            found = Organization(str(uuid.uuid4()), ref, ref.key)
            tx.insert_org(found, at=utc_now())
        return found

    def complete(self, tx: StoreTx, folder: Folder, now: datetime) -> Status:
        require_attachments_received(folder)
        sealed = seal_manifest(folder_manifest(folder, now), self._identity, now)
        record_folder_status(
            self._sink, tx, folder.id, folder.global_status, Status.HUBEE_COMPLETED, now
        )
        tables = GatewayTables.of(tx)
        tables.put_manifest(folder.id, OUT, sealed.manifest_json, sealed.seal, sealed.sha256, now)
        tables.journal(
            "manifest.sealed",
            folder_subject(folder.id),
            {
                "manifestSha256": sealed.sha256,
                "sealedBy": folder.transmitter.ref.key,
                "attachments": len(folder.attachments),
            },
            now,
        )
        for case in folder.cases:
            tables.link_case(case.id, folder.id, OUT, None)
        tables.enqueue(
            "push_folder",
            lane=folder.id,
            idem=f"folder:{folder.id}",
            payload={"folderId": folder.id},
            now=now,
        )
        return Status.HUBEE_COMPLETED
