"""Evidence bundles: sealing a 1 MB dossier into a bundle, and verifying it offline.

Target (issue #2): a bundle for a 1 MB dossier verified in ≤ 100 ms.
Run: ./run bench, or .venv/bin/python bench/bench_bundle.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import measure

from trust.bundle_verify import TrustInputs, verify_bundle
from trust.checkpoint import VerifierKey
from trust.evidence import SealingIdentity, anchors_for_bundle, seal_files
from trust.journal import Journal
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import InProcessTimeStamper

RESULTS = Path(__file__).resolve().parent / "results" / "bundle.json"


def main() -> None:
    pki = ThrowawayPki.create()
    tsa = TimeStampAuthority(pki.tsa.signer, pki.tsa.certificate)
    stamper = InProcessTimeStamper(responder=tsa.respond, anchors=[pki.root.certificate])
    vkey = VerifierKey.for_signer("bench", pki.journal)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        limits = measure(d)
        files = []
        for i, size in enumerate((700_000, 250_000, 50_000)):  # ~1 MB like a CERTDC dossier
            path = d / f"piece{i}.pdf"
            path.write_bytes(os.urandom(size))
            files.append(path)
        seal_times = []
        with Journal.open(d / "journal.db") as journal:
            for n in range(30):
                t0 = time.perf_counter()
                seal_files(
                    files,
                    out=d / f"b{n}.asice",
                    sealer=SealingIdentity(pki.seal.signer, pki.seal.certificate),
                    journal=journal,
                    journal_signer=pki.journal,
                    origin="bench",
                    timestamper=stamper,
                    anchors=anchors_for_bundle(
                        certificates={"ca": [pki.root.certificate]}, keys={}
                    ),
                    now=dt.datetime.now(dt.UTC),
                )
                seal_times.append(time.perf_counter() - t0)
        trust = TrustInputs(anchors=(pki.root.certificate,), journal_keys=(vkey,))
        verify_times = []
        for n in range(30):
            t0 = time.perf_counter()
            report = verify_bundle(d / f"b{n}.asice", trust=trust)
            verify_times.append(time.perf_counter() - t0)
            assert report.ok, report.reasons
    result = {
        "dossier_bytes": 1_000_000,
        "seal_bundle_ms_median": round(statistics.median(seal_times) * 1000, 1),
        "verify_bundle_ms_median": round(statistics.median(verify_times) * 1000, 1),
        "verify_bundle_ms_p90": round(sorted(verify_times)[int(len(verify_times) * 0.9)] * 1000, 1),
        "target_verify_ms": 100,
        "limits": limits,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("evidence bundle, 1 MB dossier (3 attachments)")
    print(
        f"  seal into a bundle (journal, checkpoint, TSA, CAdES, zip, fsync): {result['seal_bundle_ms_median']} ms median"
    )
    print(
        f"  verify offline: {result['verify_bundle_ms_median']} ms median, {result['verify_bundle_ms_p90']} ms p90 (target ≤ 100 ms)"
    )
    print(
        f"  limits: SHA-256 {limits['sha256_MB_per_s']} MB/s, P-256 {limits['p256_signs_per_s']}/s, "
        f"Ed25519 {limits['ed25519_signs_per_s']}/s, fsync {limits['fsyncs_per_s']}/s"
    )


if __name__ == "__main__":
    main()
