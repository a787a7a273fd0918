"""Manifests and seals of what crosses the link: folders going out, cases and receipts
coming in, receipts going back.

A folder's manifest (``trust.manifest``, kind ``folder``) carries its ids, démarche,
sender and recipients, and each attachment's name, type, size and SHA-256 as the
engine recorded them while the bytes streamed in (never re-read). ``extra`` maps the
dossier for the receiving side: each case (id, externalId, recipient) and each
attachment (id, HubEE type, the cases it is for). The applicant is left out: bundles
and the journal carry no personal data beyond what identifies the dossier.

A receipt's manifest (kind ``receipt``) holds the folder manifest's SHA-256, the
receipt time, the receiver, and the outcome (``accepted``, or ``rejected`` with the
reason), sealed by the receiver.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from hubee.errors import ValidationFailed
from hubee.model import Folder
from trust.errors import MalformedInputError
from trust.evidence import SealingIdentity
from trust.manifest import AttachmentDigest, Manifest
from trust.seal import seal, verify_seal

ACCEPTED = "accepted"
REJECTED = "rejected"


@dataclass(frozen=True)
class Sealed:
    manifest: Manifest
    manifest_json: bytes
    seal: bytes

    @property
    def sha256(self) -> str:
        return self.manifest.sha256()


def seal_manifest(manifest: Manifest, identity: SealingIdentity, now: datetime) -> Sealed:
    body = manifest.to_json()
    der = seal(
        body,
        signer=identity.signer,
        certificate=identity.certificate,
        chain=identity.chain,
        signing_time=now,
    )
    return Sealed(manifest, body, der)


def folder_manifest(folder: Folder, now: datetime) -> Manifest:
    """The manifest of a completed folder; ValidationFailed if it cannot be sealed."""
    try:
        attachments = []
        for a in folder.attachments:
            if a.sha256 is None:
                raise ValidationFailed("attachments", f"{a.file_name} ({a.id}) is not received")
            attachments.append(AttachmentDigest(a.file_name, a.mime_type, a.size, a.sha256))
        return Manifest(
            id=folder.id,
            kind="folder",
            created=now,
            attachments=tuple(attachments),
            process_code=folder.process_code,
            external_id=folder.external_id,
            sender=folder.transmitter.ref.key,
            recipients=tuple(c.recipient.ref.key for c in folder.cases),
            extra={
                "cases": [
                    {"id": c.id, "externalId": c.external_id, "recipient": c.recipient.ref.key}
                    for c in folder.cases
                ],
                "attachments": [
                    {
                        "id": a.id,
                        "fileName": a.file_name,
                        "type": a.type,
                        "recipients": list(a.recipients),
                    }
                    for a in folder.attachments
                ],
            },
        )
    except MalformedInputError as exc:
        raise ValidationFailed(
            "attachments", f"the folder cannot be sealed: {exc.message}"
        ) from exc


def receipt_manifest(
    *,
    folder_manifest_sha256: str,
    folder_id: str,
    case_id: str,
    process_code: str | None,
    receiver: str,
    sender: str | None,
    outcome: str,
    reason: str | None,
    at: datetime,
) -> Manifest:
    extra: dict[str, Any] = {
        "folderManifestSha256": folder_manifest_sha256,
        "folderId": folder_id,
        "caseId": case_id,
        "receiver": receiver,
        "outcome": outcome,
    }
    if reason:
        extra["reason"] = reason[:2000]
    return Manifest(
        id=str(uuid.uuid4()),
        kind="receipt",
        created=at,
        process_code=process_code,
        sender=receiver,
        recipients=(sender,) if sender else (),
        extra=extra,
    )


def organization_of(cert: x509.Certificate) -> str | None:
    """``SIRET/BRANCH`` from the certificate's O (``<companyRegister>:<branchCode>``)."""
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if len(names) != 1:
        return None
    register, sep, branch = str(names[0].value).partition(":")
    return f"{register}/{branch}" if sep else None


@dataclass(frozen=True)
class SealCheck:
    """The verdict on a sender's sealed manifest: a manifest, or the reasons to refuse."""

    manifest: Manifest | None
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.reasons


def check_sealed(
    manifest_json: bytes,
    seal_der: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    kind: str,
    at_time: datetime | None = None,
) -> SealCheck:
    """The seal verifies (chain to ``anchors`` at signing time, or ``at_time``), the
    manifest is canonical and of ``kind``, and its sender is the sealing organisation."""
    try:
        manifest = Manifest.from_json(manifest_json)
    except MalformedInputError as exc:
        return SealCheck(None, (f"the manifest is malformed: {exc.message}",))
    reasons: list[str] = []
    if manifest.kind != kind:
        reasons.append(f"the manifest is of kind {manifest.kind}, not {kind}")
    verified = verify_seal(seal_der, manifest_json, anchors=anchors, at_time=at_time)
    if not verified.ok:
        reasons += [f"seal: {r}" for r in verified.reasons]
    elif verified.signer_certificate is not None:
        sealer = organization_of(verified.signer_certificate)
        if sealer != manifest.sender:
            reasons.append(f"sealed by {sealer}, but the manifest's sender is {manifest.sender}")
    return SealCheck(manifest, tuple(reasons))
