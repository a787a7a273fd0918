"""« Preuve »: a dossier's evidence bundle, and what it proves in plain words.

The bundle is made by :func:`gateway.evidence_export.export_bundle` (the same as
``GET /evidence/{id}`` on the LAN API), then checked by the verifier
(:func:`trust.bundle_verify.verify_bundle`) with this gateway's trust inputs: the hub
CA, the journal key and the hub's witness key; it also checks the sender's seal over
the dossier (``seals/sender.p7s`` over ``manifest.json``) and names who sealed it.

Exports hold the dossier in clear: each lives in ``<data>/exports`` only while it is
read, then is deleted, also when the export or the check fails (:mod:`gateway.exports`;
the service's start sweeps what a killed gateway left).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from gateway.console.proof_words import Words, check_name, reason, section, warning
from gateway.evidence_export import ExportedBundle, export_bundle
from gateway.exports import discard, fresh_export
from gateway.runtime import GatewayRuntime
from trust.bundle_verify import TrustInputs, verify_bundle

_NOT_DELIVERED = "not delivered to this recipient"


@dataclass(frozen=True)
class Proof:
    """What the bundle of one dossier establishes, as the verifier found it."""

    ok: bool
    sender: str | None  # subject of the sender's seal certificate
    sender_ok: bool
    no_sender_seal: Words | None  # the verifier's statement when the sender did not seal
    bundle_sealed_by: str | None
    time_stamped_at: str | None
    tsa: str | None
    witnessed: bool
    witnessed_at: str | None
    checkpoint_size: int
    entries: int
    files: str | None
    # (name, ok, failures as (check, reason)); French where proof_words knows the text
    sections: tuple[tuple[Words, bool, tuple[tuple[Words, Words], ...]], ...]
    warnings: tuple[Words, ...]
    notes: tuple[tuple[Words, Words], ...] = ()  # files not delivered to this recipient


async def export_to(runtime: GatewayRuntime, dossier_id: str) -> ExportedBundle:
    """Export to a fresh file under ``<data>/exports`` (the caller deletes it; a failed
    or cancelled export deletes its own)."""
    target = await fresh_export(runtime.settings.data_dir, dossier_id)
    identity = runtime.identity
    try:
        await runtime.drain.wait_drained()
        return await export_bundle(
            dossier_id,
            target,
            store=runtime.store,
            blobs=runtime.blobs,
            journal=runtime.journal,
            sealer=identity.seal,
            anchors=identity.hub_ca,
            journal_key=identity.journal_vkey,
            witness_key=identity.witness_vkey,
            now=runtime.deps.clock(),
        )
    except BaseException:
        await asyncio.to_thread(discard, target)
        raise


def _verify(runtime: GatewayRuntime, done: ExportedBundle) -> Proof:
    identity = runtime.identity
    anchors = tuple(identity.hub_ca)
    report = verify_bundle(
        done.path,
        trust=TrustInputs(
            anchors=anchors,
            journal_keys=(identity.journal_vkey,),
            witness_keys=(identity.witness_vkey,),
        ),
    )
    facts = report.facts
    sender_seal = facts.get("sender's seal")
    return Proof(
        ok=report.ok,
        sender=facts.get("sender sealed by"),
        sender_ok=sender_seal == "verified",
        no_sender_seal=(
            None if sender_seal in (None, "verified", "INVALID") else warning(sender_seal)
        ),
        bundle_sealed_by=facts.get("sealed by"),
        time_stamped_at=facts.get("time-stamped at"),
        tsa=facts.get("time-stamp authority"),
        witnessed="witnessed by" in facts,
        witnessed_at=facts.get("witnessed at"),
        checkpoint_size=done.checkpoint_size,
        entries=done.entries,
        files=facts.get("files"),
        sections=tuple(
            (
                section(s.subject),
                s.ok,
                tuple((check_name(c.name), reason(c.detail)) for c in s.checks if not c.ok),
            )
            for s in report.sections
        ),
        warnings=tuple(warning(w) for w in report.warnings),
        notes=tuple(
            (check_name(c.name), reason(c.detail))
            for s in report.sections
            for c in s.checks
            if c.ok and c.detail.startswith(_NOT_DELIVERED)
        ),
    )


async def prove(runtime: GatewayRuntime, dossier_id: str) -> Proof:
    """Export, verify, delete; raises EvidenceNotReady while the checkpoint is unstamped."""
    done = await export_to(runtime, dossier_id)
    try:
        return await asyncio.to_thread(_verify, runtime, done)
    finally:
        await asyncio.to_thread(discard, done.path)


def parse_time(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))
