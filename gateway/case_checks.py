"""Checking a case pulled from the hub against its sender's sealed manifest.

Refused unless: the seal verifies (chain to the pinned hub CA at its signing time, a
seal certificate naming the manifest's sender), the manifest is the folder's, of the
case's démarche, addressed to this gateway's organisation, its sender is the one the
hub names, and the case's files are exactly those the manifest seals for this case.
Each file's digest is checked as it downloads (:mod:`gateway.pull`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography import x509

from gateway.sealing import check_sealed
from trust.manifest import Manifest


class Refusal(Exception):
    """A pulled dossier that must not be delivered; the message is the reason."""


def check_pulled_case(
    folder_id: str,
    answer: dict[str, Any],
    raw: bytes,
    seal: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    own_key: str,
) -> Manifest:
    """The sender's verified manifest, if it seals exactly this case for us; else Refusal."""
    checked = check_sealed(raw, seal, anchors=anchors, kind="folder")
    if not checked.ok or checked.manifest is None:
        raise Refusal("; ".join(checked.reasons))
    manifest = checked.manifest
    case_json = answer.get("case") or {}
    problems = []
    if manifest.id != folder_id:
        problems.append(f"the manifest is for folder {manifest.id}, not {folder_id}")
    if manifest.process_code != case_json.get("processCode"):
        problems.append(f"the manifest's démarche {manifest.process_code} is not the case's")
    if own_key not in manifest.recipients:
        problems.append(f"{own_key} is not among the manifest's recipients")
    transmitter = answer.get("transmitter")
    if isinstance(transmitter, dict):
        key = f"{transmitter.get('companyRegister')}/{transmitter.get('branchCode')}"
        if key != manifest.sender:
            problems.append(f"the hub names {key} as sender, the seal {manifest.sender}")
    cases = manifest.extra.get("cases")
    if isinstance(cases, list) and not any(
        isinstance(c, dict)
        and c.get("recipient") == own_key
        and c.get("externalId") == case_json.get("externalId")
        for c in cases
    ):
        problems.append(f"the manifest seals no case {case_json.get('externalId')} for {own_key}")
    expected = _expected_files(manifest, str(case_json.get("externalId")), own_key)
    offered = sorted((a.get("fileName"), a.get("size")) for a in case_json.get("attachments", []))
    if offered != sorted((a.file_name, a.size) for a in expected):
        problems.append(
            f"the case's files {offered} are not the sealed ones "
            f"{sorted((a.file_name, a.size) for a in expected)}"
        )
    if problems:
        raise Refusal("; ".join(problems))
    return manifest


def _expected_files(manifest: Manifest, case_external_id: str, own_key: str) -> list[Any]:
    """The manifest's attachments addressed to this case (all, if it does not say)."""
    routing = manifest.extra.get("attachments")
    if not isinstance(routing, list):
        return list(manifest.attachments)
    for_us = {
        str(a.get("fileName"))
        for a in routing
        if isinstance(a, dict) and (not a.get("recipients") or case_external_id in a["recipients"])
    }
    return [a for a in manifest.attachments if a.file_name in for_us]
