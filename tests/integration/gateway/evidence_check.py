"""Exporting a dossier's bundle from a running gateway once its entries are stamped and
witnessed, and verifying it as an auditor would (the hub CA, both keys, witness
required)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gateway.evidence_export import export_bundle
from tests.integration.gateway.world import Gw, eventually
from trust.bundle_verify import BundleReport, TrustInputs, verify_bundle


async def witnessed_report(gw: Gw, dossier_id: str, out: Path) -> BundleReport:
    runtime = gw.runtime

    async def ready() -> bool:
        await runtime.checkpoints.maybe_checkpoint(force=True)
        gap = await runtime.checkpoints.gap()
        return bool(gap.unstamped == 0 and gap.unwitnessed == 0 and gap.checkpoints > 0)

    await runtime.drain.wait_drained()
    await eventually(ready, what=f"{gw.name}'s checkpoints stamped and witnessed")
    identity = runtime.identity
    done = await export_bundle(
        dossier_id,
        out,
        store=runtime.store,
        blobs=runtime.blobs,
        journal=runtime.journal,
        sealer=identity.seal,
        anchors=identity.hub_ca,
        journal_key=identity.journal_vkey,
        witness_key=identity.witness_vkey,
        now=runtime.deps.clock(),
    )
    assert done.witnessed
    return verify_bundle(
        done.path,
        trust=TrustInputs(
            anchors=identity.hub_ca,
            journal_keys=(identity.journal_vkey,),
            witness_keys=(identity.witness_vkey,),
            require_witness=True,
        ),
    )


def hub_receipts(db: Path) -> list[tuple[Any, ...]]:
    """(case_id, outcome) of every receipt the hub stored."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT case_id, outcome FROM link_receipts ORDER BY case_id"
        ).fetchall()
    finally:
        conn.close()


async def journal_kinds(gw: Gw, folder_id: str) -> list[str]:
    """The kinds of the journal entries about ``folder/<folder_id>``, in order."""
    import json

    from gateway.journal_drain import subject_indexes

    await gw.runtime.drain.wait_drained()
    indexes = await gw.runtime.store.read(lambda tx: subject_indexes(tx, f"folder/{folder_id}"))
    entries = await gw.runtime.journal.entries_at(indexes)
    return [json.loads(e)["kind"] for e in entries]


def sceau_verify(gw: Gw, bundle: Path) -> str:
    """``sceau verify`` as an auditor runs it (hub CA, both keys, witness required); the
    report's text, after checking that it exits 0."""
    from click.testing import CliRunner

    from appliance.cli_verify import verify

    paths = gw.settings.paths
    result = CliRunner().invoke(
        verify,
        [
            str(bundle),
            "--anchor",
            str(paths.hub_ca),
            "--journal-key",
            str(paths.journal_vkey),
            "--witness-key",
            str(paths.witness_vkey),
            "--require-witness",
        ],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())
