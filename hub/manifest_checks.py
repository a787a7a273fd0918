"""Does a sealed manifest describe what it travels with?

A folder's manifest (kind ``folder``) must carry the folder's id, démarche, external
id, the sender's organisation (``<companyRegister>/<branchCode>``), exactly the
cases' recipients (in any order), and exactly the folder's attachments: the same
file names, each with the same size and MIME type (their SHA-256 digests are checked
when the bytes arrive). An event's manifest (kind ``event``) carries
``extra.caseId`` and the event's attachments the same way. A receipt's manifest
(kind ``receipt``) is read by :func:`receipt_fields`.

Each function raises :class:`~hubee.errors.ValidationFailed` on ``manifest`` (or
``receipt``) listing every difference found.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hub.link_model import ReceiptOutcome
from hubee.commands import NewAttachment, NewEvent, NewFolder
from hubee.errors import ValidationFailed
from trust.manifest import Manifest


def _attachments(manifest: Manifest, declared: Sequence[NewAttachment]) -> list[str]:
    sealed = Counter((a.file_name, a.size, a.mime_type) for a in manifest.attachments)
    sent = Counter((a.file_name, a.size, a.mime_type) for a in declared)
    problems = []
    for name, size, mime in sorted(sent - sealed):
        problems.append(f"attachment {name!r} ({size} bytes, {mime}) is not in the manifest")
    for name, size, mime in sorted(sealed - sent):
        problems.append(f"the manifest lists {name!r} ({size} bytes, {mime}), not sent")
    return problems


def _refuse(field: str, problems: list[str]) -> None:
    if problems:
        raise ValidationFailed(field, "does not describe this request: " + "; ".join(problems))


def check_folder_manifest(
    manifest: Manifest, *, folder_id: str, folder: NewFolder, sender: str
) -> None:
    problems = []
    expected = {
        "kind": ("folder", manifest.kind),
        "id": (folder_id, manifest.id),
        "processCode": (folder.process_code, manifest.process_code),
        "externalId": (folder.external_id, manifest.external_id),
        "sender": (sender, manifest.sender),
    }
    for name, (want, got) in expected.items():
        if want != got:
            problems.append(f"{name} is {got!r}, expected {want!r}")
    recipients = sorted(c.recipient.key for c in folder.cases)
    if sorted(manifest.recipients) != recipients:
        problems.append(f"recipients are {sorted(manifest.recipients)}, expected {recipients}")
    problems += _attachments(manifest, folder.attachments)
    _refuse("manifest", problems)


def check_event_manifest(manifest: Manifest, *, case_id: str, event: NewEvent, sender: str) -> None:
    problems = []
    if manifest.kind != "event":
        problems.append(f"kind is {manifest.kind!r}, expected 'event'")
    if manifest.extra.get("caseId") != case_id:
        problems.append(f"extra.caseId is {manifest.extra.get('caseId')!r}, expected {case_id!r}")
    if manifest.sender != sender:
        problems.append(f"sender is {manifest.sender!r}, expected {sender!r}")
    problems += _attachments(manifest, event.attachments)
    _refuse("manifest", problems)


@dataclass(frozen=True)
class ReceiptFields:
    receipt_id: str
    outcome: ReceiptOutcome
    folder_manifest_sha256: str
    reason: str | None


def receipt_fields(manifest: Manifest, *, case_id: str, sender: str) -> ReceiptFields:
    """A receipt manifest's content, checked against the case it is for and its sender."""
    problems = []
    extra = manifest.extra
    if manifest.kind != "receipt":
        problems.append(f"kind is {manifest.kind!r}, expected 'receipt'")
    try:
        receipt_id = str(uuid.UUID(manifest.id))
    except ValueError:
        receipt_id = ""
        problems.append(f"id {manifest.id!r} is not a UUID")
    if manifest.sender != sender:
        problems.append(f"sender is {manifest.sender!r}, expected {sender!r} (the receiver)")
    if extra.get("caseId") != case_id:
        problems.append(f"extra.caseId is {extra.get('caseId')!r}, expected {case_id!r}")
    digest = extra.get("folderManifestSha256")
    if not isinstance(digest, str) or len(digest) != 64:
        problems.append("extra.folderManifestSha256 must be the folder manifest's SHA-256 (hex)")
    outcome = extra.get("outcome")
    if outcome not in {o.value for o in ReceiptOutcome}:
        problems.append(f"extra.outcome is {outcome!r}, expected 'accepted' or 'rejected'")
    reason = extra.get("reason")
    if outcome == ReceiptOutcome.REJECTED.value and not isinstance(reason, str):
        problems.append("a rejection needs extra.reason")
    _refuse("receipt", problems)
    return ReceiptFields(
        receipt_id,
        ReceiptOutcome(outcome),
        str(digest),
        reason if isinstance(reason, str) else None,
    )
