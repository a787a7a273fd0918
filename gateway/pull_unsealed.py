"""Cases an operator sent straight to the hub's HubEE API: no gateway, hence no seal.

Policy ``unsealed_from_hub`` (:class:`gateway.settings.GatewaySettings`):

- ``accept`` (the default): each file is checked against the digest the hub gives
  (the HubEE ``digest`` header, the SHA-256 the hub recorded when the operator
  uploaded it) and its declared size; the gateway then records a manifest of what
  it received, marked ``extra.senderSeal = "none"`` and ``extra.attestedBy = "hub"``,
  with the sender the hub names. It is journaled as ``manifest.recorded`` (never
  ``manifest.sealed``), delivered, and answered with a sealed receipt as usual. The
  evidence bundle then carries no sender's seal, and ``sceau verify`` says so.
- ``refuse``: refused like a case with a bad seal (journaled, never shown on the
  LAN), with a sealed rejection naming the policy.

What the hub attests is only what HubEE itself holds: who called its API (the
operator's OAuth2 client) and the digests of the uploaded bytes. Nobody sealed the
dossier before it reached the hub.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.case_checks import Refusal
from gateway.pull_import import PulledFile
from trust.errors import MalformedInputError
from trust.manifest import AttachmentDigest, Manifest

ACCEPT = "accept"
REFUSE = "refuse"
SENDER_SEAL_NONE = "none"
REFUSED_BY_POLICY = (
    "the dossier carries no sender seal (it was sent straight to the hub's HubEE API) "
    "and this gateway refuses unsealed dossiers (unsealed_from_hub: refuse)"
)


def sender_of(answer: dict[str, Any]) -> str:
    """``SIRET/BRANCH`` of the sender the hub names; Refusal if it names none."""
    transmitter = answer.get("transmitter")
    if not isinstance(transmitter, dict) or not transmitter.get("companyRegister"):
        raise Refusal("the hub names no sender for this unsealed dossier")
    return f"{transmitter.get('companyRegister')}/{transmitter.get('branchCode')}"


def check_unsealed_case(answer: dict[str, Any], *, own_key: str) -> None:
    """What can be checked without a seal: a démarche, a sender, this organisation as
    the recipient, and files with names and sizes; else Refusal."""
    case_json = answer.get("case") or {}
    problems = []
    if not case_json.get("processCode"):
        problems.append("the case names no démarche")
    recipient = case_json.get("recipient")
    if isinstance(recipient, dict):
        key = f"{recipient.get('companyRegister')}/{recipient.get('branchCode')}"
        if key != own_key:
            problems.append(f"the case is for {key}, not {own_key}")
    for meta in case_json.get("attachments", []):
        if not meta.get("fileName") or not isinstance(meta.get("size"), int):
            problems.append(f"attachment {meta.get('id')} has no name or size")
    sender_of(answer)
    if problems:
        raise Refusal("; ".join(problems))


def hub_attested_manifest(
    folder_id: str,
    answer: dict[str, Any],
    files: list[PulledFile],
    *,
    own_key: str,
    now: datetime,
) -> Manifest:
    """The manifest of what was received, as the hub attests it (not a sender's)."""
    case_json = answer.get("case") or {}
    external_id = str(case_json.get("externalId", ""))
    try:
        return Manifest(
            id=folder_id,
            kind="folder",
            created=now,
            attachments=tuple(
                AttachmentDigest(f.file_name, f.mime_type, f.size, f.sha256) for f in files
            ),
            process_code=str(case_json.get("processCode")),
            external_id=external_id or None,
            sender=sender_of(answer),
            recipients=(own_key,),
            extra={
                "senderSeal": SENDER_SEAL_NONE,
                "attestedBy": "hub",
                "cases": [
                    {
                        "id": str(case_json.get("id")),
                        "externalId": external_id,
                        "recipient": own_key,
                    }
                ],
                "attachments": [
                    {
                        "id": f.remote_id,
                        "fileName": f.file_name,
                        "type": f.type,
                        "recipients": [external_id],
                    }
                    for f in files
                ],
            },
        )
    except MalformedInputError as exc:
        raise Refusal(f"the dossier cannot be recorded: {exc.message}") from exc


def is_unsealed(manifest: Manifest) -> bool:
    return manifest.extra.get("senderSeal") == SENDER_SEAL_NONE
