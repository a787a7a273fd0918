"""Link API benchmarks over real HTTPS (mutual TLS) on loopback, the hub in its own process.

    .venv/bin/python bench/bench_link.py [--folders 300] [--checkpoints 400] [--enrollments 200]

Measured, each beside the limits measured in the same run (P-256 and Ed25519 signatures
per second, fsyncs per second in the hub's data folder):

- delivery latency: an operator's gateway pushes a sealed folder with a 10 KB file and
  completes it while the recipient's gateway long-polls the feed (``wait=30``); p50,
  p90, p99 and max of the time from sending ``POST …/complete`` (the request that
  commits the completion) to the feed answer carrying the case, one folder at a time.
  Target p99 ≤ 200 ms;
- witness cosignatures per second: 8 gateways, each sending its checkpoints (10 new
  entries each, with the consistency proof from the last one) one after the other;
  notes and proofs are made before the clock starts;
- enrollments per second: CSRs made beforehand, 8 in flight.

The machine is shared (2 cores; the clients run on it too): the load average is
recorded. Figures, not asserts; results in ``bench/results/link.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.serialization import Encoding

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import ed25519_signs_per_s, fsyncs_per_s, p256_signs_per_s
from record import write_results

from hub.admin import HubAdmin
from hub.settings import HubConfig
from hubee.directory import Directory
from hubee.model import OrgRef, OrgType, Process
from trust.checkpoint import VerifierKey
from trust.journal import Journal, journal_entry
from trust.keys import FileSigner, KeyAlgorithm, write_private_key
from trust.manifest import AttachmentDigest, Manifest
from trust.pki import load_certificates_pem, make_csr
from trust.seal import seal

RESULTS = Path(__file__).resolve().parent / "results" / "link.json"
OSL = OrgRef(OrgType.OSL, "11000201100044", "DGS")
SI = OrgRef(OrgType.SI, "21930066200016", "93066")
FILE = os.urandom(10 * 1024)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sceau(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "appliance", "hub", *args], check=True, stdout=subprocess.DEVNULL
    )


def _start_hub(data: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "hub", "run", "--data", str(data), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"(https://127\.0\.0\.1:\d+)", line)
    if not found:
        process.kill()
        raise SystemExit(f"the hub did not start: {line!r}")
    return process, found[1]


async def _tokens(data: Path, ref: OrgRef, count: int) -> list[str]:
    admin = await HubAdmin.open(HubConfig(data_dir=data))
    try:
        if ref == OSL:
            d = Directory(admin.deps.store, admin.deps.sink, admin.deps.clock)
            await d.add_org(OSL, "DGS")
            await d.add_org(SI, "Saint-Denis")
            await d.add_process(Process("CERTDC", "Certificat de décès"), osl=OSL)
            await d.subscribe(
                process_code="CERTDC",
                subscriber=SI,
                activate=True,
                local_admin_email="admin@ville-saint-denis.fr",
            )
        now = datetime.now(UTC)
        return [
            (
                await admin.tokens.new_token(
                    ref.company_register, ref.branch_code, now=now, ttl=timedelta(hours=1)
                )
            )[0]
            for _ in range(count)
        ]
    finally:
        await admin.close()


class Gateway:
    """A minimal gateway: keys, enrollment, an mTLS session, seals."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder / name
        self.folder.mkdir(parents=True)
        self.tls, self.seal_key = FileSigner.generate(), FileSigner.generate()
        self.journal_signer = FileSigner.generate(KeyAlgorithm.ED25519)
        self.journal_key = VerifierKey.for_signer(f"{name}.bench/journal", self.journal_signer)
        self.enrolled: dict[str, Any] = {}
        self.session: aiohttp.ClientSession | None = None

    def enroll_body(self, token: str) -> dict[str, str]:
        return {
            "token": token,
            "tlsCsr": make_csr(self.tls.private_key, common_name="gw")
            .public_bytes(Encoding.PEM)
            .decode(),
            "sealCsr": make_csr(self.seal_key.private_key, common_name="seal")
            .public_bytes(Encoding.PEM)
            .decode(),
            "journalKey": self.journal_key.encode(),
        }

    def connect(self, ca: Path) -> None:
        cert, key = self.folder / "tls.pem", self.folder / "tls.key"
        cert.write_text(self.enrolled["tlsCertificate"])
        write_private_key(key, self.tls.private_key)
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(cert, key)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=16))

    def seal(self, content: bytes) -> bytes:
        certificate = load_certificates_pem(self.enrolled["sealCertificate"].encode())[0]
        return seal(
            content, signer=self.seal_key, certificate=certificate, signing_time=datetime.now(UTC)
        )


async def _enroll(
    base: str, ca: Path, gateways: list[Gateway], tokens: list[str], concurrency: int
) -> float:
    bodies = [g.enroll_body(t) for g, t in zip(gateways, tokens, strict=True)]
    context = ssl.create_default_context(cafile=str(ca))
    connector = aiohttp.TCPConnector(ssl=context, limit=concurrency)
    queue: asyncio.Queue[tuple[Gateway, dict[str, str]]] = asyncio.Queue()
    for item in zip(gateways, bodies, strict=True):
        queue.put_nowait(item)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                gateway, body = queue.get_nowait()
                async with session.post(f"{base}/link/v1/enroll", json=body) as r:
                    assert r.status == 201, await r.text()
                    gateway.enrolled = await r.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def _deliveries(base: str, osl: Gateway, si: Gateway, count: int) -> dict[str, Any]:
    assert osl.session is not None and si.session is not None
    cursor = 0
    async with si.session.get(f"{base}/link/v1/notifications") as r:
        cursor = (await r.json())["cursor"]
    latencies, answered = [], []
    for _ in range(count):
        folder_id = str(uuid.uuid4())
        ext = folder_id[:20]
        manifest = Manifest(
            id=folder_id,
            kind="folder",
            created=datetime.now(UTC),
            attachments=(
                AttachmentDigest(
                    "acte.pdf", "application/pdf", len(FILE), hashlib.sha256(FILE).hexdigest()
                ),
            ),
            process_code="CERTDC",
            external_id=ext,
            sender=OSL.key,
            recipients=(SI.key,),
        ).to_json()
        folder = {
            "processCode": "CERTDC",
            "externalId": ext,
            "applicant": {"firstName": "Camille", "lastName": "Martin"},
            "cases": [
                {
                    "recipient": {
                        "type": "SI",
                        "companyRegister": SI.company_register,
                        "branchCode": SI.branch_code,
                    },
                    "externalId": ext + "-1",
                }
            ],
            "attachments": [
                {
                    "fileName": "acte.pdf",
                    "type": "PJ",
                    "size": len(FILE),
                    "mimeType": "application/pdf",
                    "recipients": [ext + "-1"],
                }
            ],
        }
        body = {"folder": folder, "manifest": b64(manifest), "seal": b64(osl.seal(manifest))}
        async with osl.session.put(f"{base}/link/v1/folders/{folder_id}", json=body) as r:
            assert r.status == 201, await r.text()
            attachment = (await r.json())["folder"]["attachments"][0]["id"]
        digest = "sha-256=" + b64(hashlib.sha256(FILE).digest())
        async with osl.session.put(
            f"{base}/link/v1/folders/{folder_id}/attachments/{attachment}",
            data=FILE,
            headers={"digest": digest, "Content-Type": "application/octet-stream"},
        ) as r:
            assert r.status == 204, await r.text()

        async def poll(after: int) -> tuple[float, int]:
            assert si.session is not None
            async with si.session.get(
                f"{base}/link/v1/notifications", params={"after": str(after), "wait": "30"}
            ) as r:
                feed = await r.json()
            seen = time.perf_counter()
            kinds = [i["kind"] for i in feed["items"]]
            assert "case" in kinds, feed
            return seen, feed["cursor"]

        waiting = asyncio.create_task(poll(cursor))
        await asyncio.sleep(0.02)  # the poll is parked on the hub's bell
        sent = time.perf_counter()
        async with osl.session.post(f"{base}/link/v1/folders/{folder_id}/complete") as r:
            assert r.status == 200, await r.text()
        done = time.perf_counter()
        seen, cursor = await waiting
        latencies.append((seen - sent) * 1000)
        answered.append((seen - done) * 1000)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "folders": count,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "after_complete_answer_p50_ms": round(statistics.median(answered), 2),
    }


def _checkpoint_bodies(gateway: Gateway, folder: Path, count: int) -> list[dict[str, Any]]:
    journal = Journal.open(folder / f"{gateway.folder.name}.db")
    bodies, last = [], 0
    at = datetime.now(UTC)
    try:
        for i in range(count):
            journal.append_many(
                [journal_entry("received", f"f/{i}/{j}", {"j": j}, at) for j in range(10)]
            )
            record = journal.checkpoint(
                signer=gateway.journal_signer, origin=gateway.journal_key.name, now=at
            )
            proof = journal.consistency_proof(last, record.size).path if last else ()
            bodies.append(
                {"note": record.note.decode(), "proof": [b64(h) for h in proof], "fromSize": last}
            )
            last = record.size
    finally:
        journal.close()
    return bodies


async def _witness(base: str, gateways: list[Gateway], bodies: list[list[dict[str, Any]]]) -> float:
    async def one(gateway: Gateway, notes: list[dict[str, Any]]) -> None:
        assert gateway.session is not None
        for body in notes:
            async with gateway.session.post(f"{base}/link/v1/checkpoints", json=body) as r:
                assert r.status == 200, await r.text()

    started = time.perf_counter()
    await asyncio.gather(*(one(g, b) for g, b in zip(gateways, bodies, strict=True)))
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="sceau-bench-link-", dir=args.dir))
    data = root / "hub"
    _sceau("init", "--data", str(data), "--host", "127.0.0.1")
    ca = data / "keys" / "ca.pem"
    limits = {
        "p256_signs_per_s": round(p256_signs_per_s()),
        "ed25519_signs_per_s": round(ed25519_signs_per_s()),
        "fsyncs_per_s": round(fsyncs_per_s(data)),
    }
    witnesses = 8
    osl_tokens = await _tokens(data, OSL, 1)
    si_tokens = await _tokens(data, SI, 1 + witnesses + args.enrollments)
    hub, base = _start_hub(data)
    results: dict[str, Any] = {}
    gateways: list[Gateway] = []
    try:
        osl, si = Gateway(root, "osl"), Gateway(root, "si")
        await _enroll(base, ca, [osl, si], [osl_tokens[0], si_tokens[0]], 2)
        osl.connect(ca)
        si.connect(ca)
        gateways += [osl, si]
        results["delivery_latency"] = await _deliveries(base, osl, si, args.folders)

        pool = [Gateway(root, f"w{i}") for i in range(witnesses)]
        await _enroll(base, ca, pool, si_tokens[1 : 1 + witnesses], witnesses)
        for g in pool:
            g.connect(ca)
        gateways += pool
        per = args.checkpoints // witnesses
        bodies = [_checkpoint_bodies(g, root, per) for g in pool]
        seconds = await _witness(base, pool, bodies)
        results["witness"] = {
            "cosignatures": per * witnesses,
            "gateways": witnesses,
            "per_s": round(per * witnesses / seconds, 1),
        }

        enrolling = [Gateway(root, f"e{i}") for i in range(args.enrollments)]
        seconds = await _enroll(base, ca, enrolling, si_tokens[1 + witnesses :], 8)
        results["enrollments"] = {
            "count": args.enrollments,
            "concurrency": 8,
            "per_s": round(args.enrollments / seconds, 1),
        }
    finally:
        for g in gateways:
            if g.session is not None:
                await g.session.close()
        hub.terminate()
        hub.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    return {"limits": limits, "results": results}


def _report(out: dict[str, Any]) -> None:
    limits, r = out["limits"], out["results"]
    d, w, e = r["delivery_latency"], r["witness"], r["enrollments"]
    print(
        f"limits: P-256 {limits['p256_signs_per_s']:,} signs/s, Ed25519 "
        f"{limits['ed25519_signs_per_s']:,} signs/s, fsync {limits['fsyncs_per_s']:,}/s"
    )
    print(
        f"completion → long-poll answer over mTLS ({d['folders']} folders): p50 {d['p50_ms']} ms, "
        f"p90 {d['p90_ms']} ms, p99 {d['p99_ms']} ms, max {d['max_ms']} ms  target p99 ≤ 200 ms"
    )
    print(f"witness: {w['per_s']:,} cosignatures/s ({w['gateways']} gateways, HTTPS, durable)")
    print(f"enrollments: {e['per_s']:,}/s (2 certificates each, {e['concurrency']} in flight)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", type=int, default=300)
    parser.add_argument("--checkpoints", type=int, default=400)
    parser.add_argument("--enrollments", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None, help="Where the hub keeps its data.")
    args = parser.parse_args()
    started = time.perf_counter()
    out = write_results("link", asyncio.run(main(args)), started=started, path=RESULTS)
    _report(out)
