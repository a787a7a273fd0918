"""One dossier's evidence bundle (docs/EVIDENCE.md), from what the gateway holds.

For a folder id or a case id: the dossier's sealed manifest (``manifest.json``, the
sender's exact bytes, ours or the operator's), its attachments (decrypted from the
blob store as they stream into the zip, and checked against the manifest), every
journal entry about ``folder/<id>`` that the latest time-stamped checkpoint covers,
with inclusion proofs, that checkpoint (with the hub's cosignature when it has one)
and its ``.tsr``, the sealed receipts (``receipts/<id>.json`` and ``.p7s``), the
sender's seal over ``manifest.json`` (``seals/sender.p7s``; none for a case an
operator sent straight to the hub, whose manifest says so), and the anchors (the hub
CA, the journal and witness keys). The bundle itself is sealed by this gateway.

A recipient's bundle of a folder for several recipients carries the whole sealed
manifest and only the files addressed to its own case; the others are named in
``META-INF/sceau/delivery.json`` as not delivered to it (digests only, as sealed).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from cryptography import x509

from gateway.encrypted_blobs import EncryptedBlobStore
from gateway.errors import EvidenceNotReady
from gateway.journal_access import JournalAccess
from gateway.journal_drain import subject_indexes
from gateway.tables import IN, GatewayTables, StoredManifest, StoredReceipt, folder_subject
from hubee.errors import NotFound
from hubee.store import Store, StoreTx
from trust.checkpoint import VerifierKey
from trust.evidence import (
    BundleContents,
    FileSource,
    JournalEvidence,
    SealingIdentity,
    anchors_for_bundle,
    write_bundle,
)
from trust.journal_store import CheckpointRecord
from trust.manifest import Manifest

# The journal entry binding manifest.json: sealed by the sender, or, without a sender
# seal, recorded by this gateway from the hub's digests (gateway.pull_unsealed).
_BINDING_KINDS = ("manifest.sealed", "manifest.recorded")


@dataclass(frozen=True)
class ExportedBundle:
    path: Path
    folder_id: str
    entries: int
    checkpoint_size: int
    witnessed: bool


@dataclass(frozen=True)
class _Dossier:
    manifest: StoredManifest
    indexes: list[int]
    receipts: list[StoredReceipt]
    blobs: dict[str, str]  # file name → sha256
    recipient: str | None  # this organisation, when it received the dossier
    own_cases: frozenset[str]  # the external ids of the cases it received


class _ChunkStream(io.RawIOBase):
    """A read-only stream over an iterator of chunks (the decrypted blob)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buffer = nxt
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def resolve_folder(tx: StoreTx, dossier_id: str) -> str:
    """The folder id of a folder id or of a case id; NotFound if neither is sealed here."""
    tables = GatewayTables.of(tx)
    if tables.manifest(dossier_id) is not None:
        return dossier_id
    link = tables.case_link(dossier_id) or tables.case_by_remote(dossier_id)
    if link is not None and tables.manifest(link.folder_id) is not None:
        return link.folder_id
    raise NotFound(f"no sealed dossier {dossier_id} here (unknown, not completed yet, or refused)")


def _gather(tx: StoreTx, folder_id: str) -> _Dossier:
    tables = GatewayTables.of(tx)
    manifest = tables.manifest(folder_id)
    assert manifest is not None
    shas: dict[str, str] = {}
    folder = tx.folder(folder_id)
    attachments = list(folder.attachments) if folder is not None else []
    for link in tables.cases_of_folder(folder_id):
        attachments += tx.case_attachments(link.case_id)
    recipient: str | None = None
    own_cases: set[str] = set()
    for link in tables.cases_of_folder(folder_id):
        case = tx.case(link.case_id) if link.direction == IN else None
        if case is not None:
            recipient = case.recipient.ref.key
            own_cases.add(case.external_id)
    for a in attachments:
        if a.sha256 is not None:
            shas[a.file_name] = a.sha256
    return _Dossier(
        manifest,
        subject_indexes(tx, folder_subject(folder_id)),
        tables.receipts_of_folder(folder_id),
        shas,
        recipient,
        frozenset(own_cases),
    )


def _for_others_only(manifest: Manifest, file_name: str, own_cases: frozenset[str]) -> bool:
    """The sealed routing sends ``file_name`` to other recipients' cases only."""
    routing = manifest.extra.get("attachments")
    if not own_cases or not isinstance(routing, list):
        return False
    for a in routing:
        if isinstance(a, dict) and a.get("fileName") == file_name:
            addressees = {str(r) for r in a.get("recipients") or []}
            return bool(addressees) and not addressees & own_cases
    return False


def _choose_checkpoint(records: Sequence[CheckpointRecord], needed: int) -> CheckpointRecord:
    stamped = [r for r in records if r.tsr is not None and r.size > needed]
    if not stamped:
        raise EvidenceNotReady("the dossier's entries are not yet under a time-stamped checkpoint")
    witnessed = [r for r in stamped if r.cosigned_note is not None]
    return max(witnessed or stamped, key=lambda r: r.size)


async def export_bundle(
    dossier_id: str,
    out: Path,
    *,
    store: Store,
    blobs: EncryptedBlobStore,
    journal: JournalAccess,
    sealer: SealingIdentity,
    anchors: Sequence[x509.Certificate],
    journal_key: VerifierKey,
    witness_key: VerifierKey | None,
    now: datetime,
) -> ExportedBundle:
    folder_id = await store.read(lambda tx: resolve_folder(tx, dossier_id))
    dossier = await store.read(lambda tx: _gather(tx, folder_id))
    manifest = Manifest.from_json(dossier.manifest.manifest)
    all_entries = await journal.entries_at(dossier.indexes)
    sealed = [
        i
        for i, entry in zip(dossier.indexes, all_entries, strict=True)
        if json.loads(entry).get("kind") in _BINDING_KINDS
    ]
    if not sealed:
        raise EvidenceNotReady("the dossier's sealing has not reached the journal yet")
    record = _choose_checkpoint(await journal.checkpoints(), needed=sealed[0])
    chosen = [(i, e) for i, e in zip(dossier.indexes, all_entries, strict=True) if i < record.size]
    indexes = [i for i, _ in chosen]
    entries = [e for _, e in chosen]
    proofs = await journal.inclusion_proofs(indexes, record.size)
    files: dict[str, FileSource] = {}
    not_delivered: list[str] = []
    for a in manifest.attachments:
        sha = dossier.blobs.get(a.file_name)
        if sha == a.sha256:
            files[a.file_name] = _opener(blobs, a.sha256)
        elif _for_others_only(manifest, a.file_name, dossier.own_cases):
            not_delivered.append(a.file_name)
        else:
            raise NotFound(f"{a.file_name} of dossier {folder_id} is not held here")
    receipts: dict[str, bytes] = {}
    for receipt in dossier.receipts:
        receipts[f"{receipt.id}.json"] = receipt.manifest
        receipts[f"{receipt.id}.p7s"] = receipt.seal
    keys = {"journal.vkey": (journal_key.encode() + "\n").encode()}
    if witness_key is not None and record.cosigned_note is not None:
        keys["witness.vkey"] = (witness_key.encode() + "\n").encode()
    contents = BundleContents(
        manifest,
        JournalEvidence(
            tuple(entries), tuple(proofs), record.cosigned_note or record.note, record.tsr
        ),
        anchors=anchors_for_bundle(certificates={"hub-ca": list(anchors)}, keys=keys),
        receipts=receipts,
        # No sender's seal for a case sent straight to the hub (its manifest says so).
        seals={"sender.p7s": dossier.manifest.seal} if dossier.manifest.seal else {},
        not_delivered=tuple(not_delivered),
        recipient=dossier.recipient if not_delivered else None,
    )
    path = await asyncio.to_thread(
        write_bundle, out, contents=contents, files=files, sealer=sealer, signing_time=now
    )
    return ExportedBundle(
        path, folder_id, len(entries), record.size, record.cosigned_note is not None
    )


def _opener(blobs: EncryptedBlobStore, sha256: str) -> Callable[[], BinaryIO]:
    def open_stream() -> BinaryIO:
        return io.BufferedReader(_ChunkStream(blobs.verified_chunks(sha256)), 1024 * 1024)

    return open_stream
