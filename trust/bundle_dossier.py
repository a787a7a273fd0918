"""What an exchange bundle says about its dossier's sender and delivery
(docs/EVIDENCE.md §10): pure checks used by :mod:`trust.bundle_verify`.

- **The sender's seal.** ``META-INF/sceau/seals/sender.p7s`` is the sending gateway's
  detached CAdES seal over the exact bytes of ``manifest.json``; it is verified like
  the bundle's own seal (chain to a trusted anchor at the signing time). A folder sent
  without one (straight to the hub's HubEE API) has a manifest marked
  ``extra.senderSeal = "none"`` and ``extra.attestedBy``: the report says plainly that
  nobody sealed it before the hub, and what the hub attests. It is never reported as a
  sealed dossier.
- **Delivery.** A recipient's bundle of a folder for several recipients leaves out the
  files that went only to others. ``META-INF/sceau/delivery.json`` names the
  recipient and each file not delivered to it, with its SHA-256 and size (digests
  only); each must be listed with the same digest in ``manifest.json`` and, when the
  manifest routes files to cases, addressed to none of the recipient's cases.

Not checked here: that the organisation named in the sender's seal certificate is the
manifest's ``sender`` (the receiving gateway checked it before delivery; the
certificate subject is reported for the reader to compare).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from trust.canonical import parse_json
from trust.errors import MalformedInputError
from trust.manifest import AttachmentDigest, Manifest
from trust.results import Check, VerificationResult
from trust.seal import verify_seal

SENDER_SEAL_NONE = "none"
RECORDED_ENTRY_KIND = "manifest.recorded"
NO_SENDER_SEAL = (
    "no sender seal: the sender used the hub directly (no gateway); the {by} attests only "
    "who sent it (its HubEE client) and the files' SHA-256 digests, which the recipient's "
    "gateway checked and journaled. This is not a sealed dossier."
)


@dataclass(frozen=True)
class SenderFinding:
    result: VerificationResult | None = None
    facts: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def unsealed(manifest: Manifest | None) -> bool:
    return manifest is not None and manifest.extra.get("senderSeal") == SENDER_SEAL_NONE


def check_sender(
    sender_seal: bytes | None,
    manifest: Manifest | None,
    manifest_json: bytes,
    anchors: Sequence[x509.Certificate],
) -> SenderFinding:
    """The sender's seal over manifest.json, or the plain statement that there is none."""
    if sender_seal is not None:
        found = verify_seal(sender_seal, manifest_json, anchors=anchors)
        facts = {"sender's seal": "verified" if found.ok else "INVALID"}
        if found.subject:
            facts["sender sealed by"] = found.subject
        if manifest is not None and manifest.sender:
            facts["sender"] = manifest.sender
        return SenderFinding(VerificationResult("sender seal", found.result.checks), facts)
    if unsealed(manifest):
        assert manifest is not None
        by = str(manifest.extra.get("attestedBy") or "hub")
        text = NO_SENDER_SEAL.format(by=by)
        facts = {"sender's seal": text}
        if manifest.sender:
            facts["sender (as the hub names it)"] = manifest.sender
        return SenderFinding(None, facts, (text[0].upper() + text[1:],))
    return SenderFinding()


@dataclass(frozen=True)
class Delivery:
    recipient: str | None
    not_delivered: dict[str, tuple[str, int]]  # file name → (sha256, size)

    @classmethod
    def parse(cls, data: bytes) -> Delivery:
        doc = parse_json(data, what="delivery.json")
        if not isinstance(doc, dict) or set(doc) != {"recipient", "notDelivered"}:
            raise MalformedInputError("delivery.json is {recipient, notDelivered}")
        recipient, items = doc["recipient"], doc["notDelivered"]
        if recipient is not None and not isinstance(recipient, str):
            raise MalformedInputError("delivery.json: recipient must be a string")
        if not isinstance(items, list):
            raise MalformedInputError("delivery.json: notDelivered must be a list")
        out: dict[str, tuple[str, int]] = {}
        for item in items:
            if not isinstance(item, dict) or set(item) != {"fileName", "sha256", "size"}:
                raise MalformedInputError("delivery.json: each file is {fileName, sha256, size}")
            name, sha, size = item["fileName"], item["sha256"], item["size"]
            if not (isinstance(name, str) and isinstance(sha, str) and isinstance(size, int)):
                raise MalformedInputError("delivery.json: a file has a bad name, digest or size")
            if name in out:
                raise MalformedInputError(f"delivery.json lists {name} twice")
            out[name] = (sha, size)
        return cls(recipient, out)


def _routing(manifest: Manifest, recipient: str) -> tuple[set[str], dict[str, list[Any]]] | None:
    """The recipient's case external ids and each file's addressees, if the manifest
    routes files to cases (HubEE folders do); None if it does not say."""
    cases, files = manifest.extra.get("cases"), manifest.extra.get("attachments")
    if not isinstance(cases, list) or not isinstance(files, list):
        return None
    ours = {
        str(c.get("externalId"))
        for c in cases
        if isinstance(c, dict) and c.get("recipient") == recipient
    }
    routes = {
        str(f.get("fileName")): list(f.get("recipients") or [])
        for f in files
        if isinstance(f, dict)
    }
    return ours, routes


def check_not_delivered(manifest: Manifest, delivery: Delivery, a: AttachmentDigest) -> Check:
    """A manifest file absent from the bundle: fine only if it went to others only."""
    name = f"attachment {a.file_name}"
    listed = delivery.not_delivered.get(a.file_name)
    if listed != (a.sha256, a.size):
        return Check(name, False, "delivery.json's digest or size differs from manifest.json")
    recipient = delivery.recipient
    if recipient is None or recipient not in manifest.recipients:
        return Check(name, False, "delivery.json names no recipient of this manifest")
    routing = _routing(manifest, recipient)
    if routing is None:
        return Check(name, False, "the manifest does not say which recipient each file is for")
    ours, routes = routing
    addressees = routes.get(a.file_name)
    if addressees is None or not addressees or ours & {str(r) for r in addressees}:
        return Check(name, False, f"addressed to {recipient}, yet not in its bundle")
    return Check(
        name,
        True,
        f"not delivered to this recipient ({recipient}): for {', '.join(map(str, addressees))}; "
        f"digest only, SHA-256 {a.sha256}, {a.size} bytes, as sealed in manifest.json",
    )
