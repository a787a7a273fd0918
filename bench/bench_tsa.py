"""RFC 3161 time-stamps per second through the in-process TSA, beside the machine's limits.

    .venv/bin/python bench/bench_tsa.py [--seconds 2]

For each key algorithm: the responder alone (parse the request, build TSTInfo, sign
the CMS token, encode the response), the offline verifier alone
(``verify_timestamp_response``: parse, signature, attributes, chain at genTime), and
the full client round trip (``InProcessTimeStamper.timestamp``: request with nonce,
responder, every check). Limits measured in the same run: SHA-256 MB/s and P-256
signs/s. Writes ``bench/results/tsa.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import p256_signs_per_s, sha256_mb_per_s

from trust.keys import KeyAlgorithm
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import InProcessTimeStamper
from trust.tsp_request import TimestampRequest
from trust.tsp_verify import verify_timestamp_response

RESULTS = Path(__file__).resolve().parent / "results" / "tsa.json"
DATA = b"bench.example.org/journal\n100000\nq2mHnO4zXXw0lFP8TzK0iDPGzrLkF3eU8JU6JdQ2C4w=\n"


def _rate(fn: Callable[[], object], seconds: float) -> float:
    for _ in range(20):  # warm caches (trust.cms keeps per-signer templates)
        fn()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            fn()
        count += 20
    return count / elapsed


def _measure(algorithm: KeyAlgorithm, seconds: float) -> dict[str, float]:
    pki = ThrowawayPki.create(algorithm)
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    anchors = [pki.root.certificate]
    stamper = InProcessTimeStamper(responder=tsa.respond, anchors=anchors)
    request = TimestampRequest.for_data(DATA).der
    response = tsa.respond(request)
    assert verify_timestamp_response(response, data=DATA, anchors=anchors).ok
    return {
        "responder_per_s": round(_rate(lambda: tsa.respond(request), seconds)),
        "verify_per_s": round(
            _rate(lambda: verify_timestamp_response(response, data=DATA, anchors=anchors), seconds)
        ),
        "round_trip_per_s": round(_rate(lambda: stamper.timestamp(DATA), seconds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    limits = {
        "sha256_MB_per_s": round(sha256_mb_per_s()),
        "p256_signs_per_s": round(p256_signs_per_s()),
    }
    results = {a.value: _measure(a, args.seconds) for a in KeyAlgorithm}
    report = {
        "benchmark": "tsa",
        "command": "python bench/bench_tsa.py" + (f" --seconds {args.seconds:g}"),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "limits": limits,
        "results": results,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print("RFC 3161 through the in-process TSA (one core, per second)")
    print(f"  {'algorithm':<10} {'responder':>10} {'verify':>10} {'round trip':>11}")
    for name, r in results.items():
        print(
            f"  {name:<10} {r['responder_per_s']:>10} {r['verify_per_s']:>10}"
            f" {r['round_trip_per_s']:>11}"
        )
    print(
        f"  limits: SHA-256 {limits['sha256_MB_per_s']} MB/s, "
        f"P-256 {limits['p256_signs_per_s']} signs/s"
    )


if __name__ == "__main__":
    main()
