"""End to end on loopback, with real processes: OSL software → its gateway → hub →
the recipient's gateway → SI software.

    .venv/bin/python bench/bench_e2e.py            # the full run (several minutes)
    .venv/bin/python bench/bench_e2e.py --quick    # about a minute
    .venv/bin/python bench/bench_e2e.py --tiny --out /tmp/e2e.json   # the test's mode

A hub (``sceau hub run``, TLS) and two gateways (``sceau gateway run``: the DGS, an
operator, and the commune of Saint-Denis, a recipient) are set up as ``sceau demo`` does
it (hub init, directory, enrollment tokens, gateway init and enroll, LAN clients), each
its own process. This process is the load: an OSL client on the DGS gateway's LAN HubEE
API creates folders (one attachment each), uploads and completes them; an SI client on
Saint-Denis's lists its notifications every ``POLL`` seconds, reads each new case and
deletes the notification, as DINUM's reference SI client does.

Measured, each beside the machine's limits measured in the same run (SHA-256 MB/s, P-256
signatures/s, fsyncs/s, and the trust core's durable pipeline per dossier without HTTP:
a seal and a journal append with fsync):

- dossiers per second, 10 KB and 1 MB: a burst of N, from the first POST until the SI
  client has seen all N, with the CPU each process spent per dossier;
- latency from the OSL's completion (its PATCH returning) to the SI client seeing the
  notification, p50 and p99, at a moderate fixed rate;
- one big attachment (1 GB by default) end to end: MB/s from the first uploaded byte to
  the last downloaded one (digest checked), and the peak RSS (VmHWM) of each process.

Targets (issue #4): ≥ 300 dossiers/s (10 KB), p99 ≤ 1 s, 1 GB at ≥ 200 MB/s with each
process's peak RSS ≤ 150 MB. Figures, not asserts; the load average is recorded, since
this 2-core machine is often shared. Results in ``bench/results/e2e.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import durable_dossiers_per_s, fsyncs_per_s, p256_signs_per_s, sha256_mb_per_s

from appliance.demo_cast import DGS, SAINT_DENIS
from appliance.demo_lan import HubeeClient
from appliance.demo_services import Service, sceau
from appliance.demo_world import Gateway, _client

RESULTS = Path(__file__).resolve().parent / "results" / "e2e.json"
PROCESS = "CERTDC"
API = "/teledossiers/v1"
POLL = 0.01  # seconds between the SI client's notification listings
KB, MB = 1024, 1024 * 1024
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Topology:
    work: Path
    hub: Service
    osl: Gateway
    si: Gateway

    def services(self) -> dict[str, Service]:
        return {"hub": self.hub, "osl_gateway": self.osl.service, "si_gateway": self.si.service}

    async def stop(self) -> None:
        await asyncio.gather(self.osl.service.stop(), self.si.service.stop())
        await self.hub.stop()


async def _run(*args: str) -> str:
    return await asyncio.to_thread(sceau, *args)


async def build(work: Path) -> Topology:
    """A hub and two enrolled gateways, each a ``python -m appliance … run`` process."""
    hub_data = str(work / "hub")
    await _run("hub", "init", "--data", hub_data, "--name", "bench-hub")
    for org in (DGS, SAINT_DENIS):
        await _run(
            "hub", "org", "add", "--data", hub_data, "--type", org.kind,
            "--siret", org.siret, "--branch", org.branch, "--name", org.name,
        )  # fmt: skip
    await _run(
        "hub", "process", "add", "--data", hub_data, "--code", PROCESS,
        "--name", "Certificat de décès", "--osl", DGS.key,
    )  # fmt: skip
    await _run(
        "hub", "subscription", "add", "--data", hub_data, "--org", SAINT_DENIS.key,
        "--process", PROCESS, "--local-admin", "admin@saint-denis.example.fr",
    )  # fmt: skip
    hub = Service("hub", ["hub", "run", "--data", hub_data, "--port", "0"], work / "hub.log")
    await hub.start()
    gateways = []
    for org, scope in ((DGS, "OSL"), (SAINT_DENIS, "SI")):
        data = work / org.slug
        await _run(
            "gateway", "init", "--data", str(data), "--org", org.key,
            "--listen", "127.0.0.1:0",
        )  # fmt: skip
        token = (await _run("hub", "enrollment-token", "--data", hub_data, org.key)).strip()
        await _run(
            "gateway", "enroll", "--data", str(data), "--hub", hub.url,
            "--token", token.splitlines()[0], "--hub-ca", str(work / "hub" / "keys" / "ca.pem"),
        )  # fmt: skip
        service = Service(
            org.slug, ["gateway", "run", "--data", str(data)], work / f"{org.slug}.log"
        )
        gateway = Gateway(org, data, service)
        await _client(gateway, scope.lower(), PROCESS, scope)
        gateways.append(gateway)
    await asyncio.gather(*(g.service.start() for g in gateways))
    return Topology(work, hub, gateways[0], gateways[1])


def b64_sha256(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def folder_body(external_id: str, size: int) -> dict[str, Any]:
    case = f"{external_id}-1"
    return {
        "processCode": PROCESS,
        "externalId": external_id,
        "applicant": {"firstName": "Camille", "lastName": "Martin"},
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": SAINT_DENIS.siret,
                    "branchCode": SAINT_DENIS.branch,
                },
                "externalId": case,
            }
        ],
        "attachments": [
            {
                "fileName": "acte.pdf",
                "type": "acte",
                "size": size,
                "mimeType": "application/pdf",
                "recipients": [case],
            }
        ],
    }


async def send(osl: HubeeClient, external_id: str, data: Any, size: int, digest: str) -> float:
    """Create, upload, complete; the monotonic time the completion returned."""
    created = await osl.expect(
        201, "POST", f"{API}/folders", json_body=folder_body(external_id, size)
    )
    folder = created.json()
    await osl.expect(
        204,
        "PUT",
        f"{API}/folders/{folder['id']}/attachments/{folder['attachments'][0]['id']}",
        data=data,
        headers={"Content-Type": "application/octet-stream", "digest": digest},
    )
    await osl.expect(
        204, "PATCH", f"{API}/folders/{folder['id']}", json_body={"globalStatus": "HUBEE_COMPLETED"}
    )
    return time.monotonic()


@dataclass
class Receiver:
    """The SI software: lists notifications, reads each new case, deletes the notification."""

    si: HubeeClient
    seen: dict[str, float] = field(default_factory=dict)  # folder externalId → seen at
    cases: dict[str, str] = field(default_factory=dict)  # folder externalId → case id
    _handled: set[str] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            reply = await self.si.expect(200, "GET", f"{API}/notifications?maxResult=100")
            at = time.monotonic()
            for note in reply.json():
                if note["id"] in self._handled:
                    continue
                self._handled.add(note["id"])
                task = asyncio.create_task(self._handle(note, at))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(POLL)
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def _handle(self, note: dict[str, Any], at: float) -> None:
        try:
            if note.get("caseId") and not note.get("eventId"):
                case = (await self.si.expect(200, "GET", f"{API}/cases/{note['caseId']}")).json()
                external_id = case["externalId"].removesuffix("-1")
                self.seen.setdefault(external_id, at)
                self.cases[external_id] = note["caseId"]
            await self.si.expect(204, "DELETE", f"{API}/notifications/{note['id']}")
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            self.errors.append(f"{type(exc).__name__}: {exc}")

    async def wait_for(self, ids: Iterable[str], timeout: float) -> None:
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        while not wanted <= self.seen.keys():
            if time.monotonic() > deadline:
                missing = len(wanted - self.seen.keys())
                raise SystemExit(f"{missing} of {len(wanted)} dossiers not notified in {timeout} s")
            await asyncio.sleep(0.005)


_REQUESTS = re.compile(
    r'^sceau_hub_requests_total\{method="(\w+)",route="([^"]*)",status="(\w+)"\} (\S+)$', re.M
)


async def hub_requests(topo: Topology) -> dict[str, float]:
    """The hub's request counters (``GET /metrics`` with the metrics token), by method and
    route."""
    from hub.metrics import create_metrics_token, metrics_token_path

    keys = topo.work / "hub" / "keys"
    token_file = metrics_token_path(keys)
    token = token_file.read_text().strip() if token_file.exists() else create_metrics_token(keys)
    context = ssl.create_default_context(cafile=str(keys / "ca.pem"))
    bearer = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{topo.hub.url}/metrics", ssl=context, headers=bearer) as r,
    ):
        r.raise_for_status()
        text = await r.text()
    out: dict[str, float] = {}
    for method, route, _status, value in _REQUESTS.findall(text):
        key = f"{method} {route}"
        out[key] = out.get(key, 0.0) + float(value)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """The largest RSS of each service seen in each phase (sampled every 50 ms)."""

    def __init__(self, topo: Topology) -> None:
        self.pids = {name: s.process.pid for name, s in topo.services().items() if s.process}
        self.phase = "upload_and_complete"
        self.peaks: dict[str, dict[str, float]] = {}

    async def run(self) -> None:
        while True:
            peaks = self.peaks.setdefault(self.phase, {})
            for name, pid in self.pids.items():
                peaks[name] = max(peaks.get(name, 0.0), round(rss_mb(pid), 1))
            await asyncio.sleep(0.05)


class CpuMeter:
    def __init__(self, topo: Topology) -> None:
        self.pids = {name: s.process.pid for name, s in topo.services().items() if s.process}
        self.pids["load_generator"] = os.getpid()
        self.start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def ms_per(self, count: int) -> dict[str, float]:
        return {
            name: round((cpu_seconds(pid) - self.start[name]) * 1000 / count, 2)
            for name, pid in self.pids.items()
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least ``p`` % of the values at or below."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1]


def attachments(ids: list[str], size: int) -> dict[str, tuple[bytes, str]]:
    """A distinct attachment per dossier (blobs are stored by digest: no dedup)."""
    base = os.urandom(size)
    out = {}
    for external_id in ids:
        data = external_id.encode().ljust(64, b" ")[: min(64, size)] + base[64:]
        out[external_id] = (data, b64_sha256(hashlib.sha256(data).digest()))
    return out


async def burst(
    topo: Topology, osl: HubeeClient, rx: Receiver, *, count: int, size: int, concurrency: int
) -> dict[str, Any]:
    tag = f"B{size // KB}K-{time.monotonic_ns()}"
    ids = [f"{tag}-{i:05d}" for i in range(count)]
    files = attachments(ids, size)
    queue = list(reversed(ids))
    completed: dict[str, float] = {}
    requests_before = await hub_requests(topo)
    meter = CpuMeter(topo)
    start = time.monotonic()

    async def worker() -> None:
        while queue:
            external_id = queue.pop()
            payload, digest = files[external_id]
            completed[external_id] = await send(osl, external_id, payload, size, digest)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    sent = time.monotonic() - start
    await rx.wait_for(ids, timeout=max(120.0, count * 2.0))
    elapsed = max(rx.seen[i] for i in ids) - start
    latencies = [(rx.seen[i] - completed[i]) * 1000 for i in ids]
    cpu = meter.ms_per(count)
    requests_after = await hub_requests(topo)
    per_dossier = {
        k: round((v - requests_before.get(k, 0.0)) / count, 2) for k, v in requests_after.items()
    }
    return {
        "dossiers": count,
        "attachment_bytes": size,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "dossiers_per_s": round(count / elapsed, 2),
        "osl_completed_per_s": round(count / sent, 2),
        "completion_to_notification_ms_p50": round(percentile(latencies, 50), 1),
        "completion_to_notification_ms_max": round(max(latencies), 1),
        "cpu_ms_per_dossier": cpu,
        "hub_requests_per_dossier": {k: v for k, v in sorted(per_dossier.items()) if v >= 0.05},
    }


async def latency(
    topo: Topology, osl: HubeeClient, rx: Receiver, *, count: int, rate: float
) -> dict[str, Any]:
    tag = f"L-{time.monotonic_ns()}"
    ids = [f"{tag}-{i:05d}" for i in range(count)]
    files = attachments(ids, 10 * KB)
    completed: dict[str, float] = {}
    start = time.monotonic()

    async def one(i: int, external_id: str) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        payload, digest = files[external_id]
        completed[external_id] = await send(osl, external_id, payload, len(payload), digest)

    await asyncio.gather(*(one(i, x) for i, x in enumerate(ids)))
    await rx.wait_for(ids, timeout=120.0)
    latencies = [(rx.seen[i] - completed[i]) * 1000 for i in ids]
    return {
        "dossiers": count,
        "rate_per_s": rate,
        "si_poll_interval_ms": POLL * 1000,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
    }


def _blocks(size: int, block: bytes) -> Iterable[bytes]:
    sent = 0
    while sent < size:
        chunk = block[: min(len(block), size - sent)]
        sent += len(chunk)
        yield chunk


async def big(
    topo: Topology, osl: HubeeClient, si: HubeeClient, rx: Receiver, *, size: int
) -> dict[str, Any]:
    block = os.urandom(MB)
    hasher = hashlib.sha256()
    for chunk in _blocks(size, block):
        hasher.update(chunk)
    digest = hasher.digest()

    async def body() -> AsyncIterator[bytes]:
        for chunk in _blocks(size, block):
            yield chunk

    external_id = f"BIG-{time.monotonic_ns()}"
    sampler = RssSampler(topo)
    sampling = asyncio.create_task(sampler.run())
    start = time.monotonic()
    completed = await send(osl, external_id, body(), size, b64_sha256(digest))
    sampler.phase = "push_to_notification"
    await rx.wait_for([external_id], timeout=max(300.0, size / MB))
    notified = rx.seen[external_id]
    sampler.phase = "download"
    case_id = rx.cases[external_id]
    case = (await si.expect(200, "GET", f"{API}/cases/{case_id}")).json()
    url = f"{si.base}{API}/cases/{case_id}/attachments/{case['attachments'][0]['id']}"
    got, check = 0, hashlib.sha256()
    async with si.session.get(url, headers={"Authorization": f"Bearer {si._token}"}) as r:
        if r.status != 200:
            raise SystemExit(f"download of the big attachment: {r.status}")
        async for chunk in r.content.iter_chunked(MB):
            check.update(chunk)
            got += len(chunk)
    end = time.monotonic()
    sampling.cancel()
    if got != size or check.digest() != digest:
        raise SystemExit("the big attachment came back different")
    return {
        "bytes": size,
        "MB_per_s": round(size / MB / (end - start), 1),
        "upload_and_complete_s": round(completed - start, 2),
        "completion_to_notification_s": round(notified - completed, 2),
        "download_s": round(end - notified, 2),
        "digest_checked": True,
        "peak_rss_MB": {
            name: round(peak_rss_mb(s.process.pid), 1)
            for name, s in topo.services().items()
            if s.process
        },
        "max_rss_MB_by_phase": sampler.peaks,
    }


class Profiler:
    """``py-spy record`` (raw, GIL holders only) of each service, for one phase."""

    def __init__(self, topo: Topology, folder: Path | None, phase: str) -> None:
        self.folder = folder
        self.phase = phase
        self.spies: dict[str, subprocess.Popen[bytes]] = {}
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).with_name("py-spy"))
        for name, service in topo.services().items():
            assert service.process is not None
            self.spies[name] = subprocess.Popen(
                [spy, "record", "--pid", str(service.process.pid), "--format", "raw",
                 "--rate", "200", "--nonblocking", "--gil", "-o", str(folder / f"{phase}-{name}.raw")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip

    def stop(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, spy in self.spies.items():
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            assert self.folder is not None
            out[name] = profile_summary(self.folder / f"{self.phase}-{name}.raw")
        return out


class FsyncCounter:
    """``strace -c`` on each service for one phase: fsync and fdatasync calls (it slows
    the services down: for counting, not for the figures)."""

    def __init__(self, topo: Topology, on: bool) -> None:
        self.tracers: dict[str, subprocess.Popen[str]] = {}
        if not on:
            return
        for name, service in topo.services().items():
            assert service.process is not None
            self.tracers[name] = subprocess.Popen(
                ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-p",
                 str(service.process.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
        time.sleep(0.5)  # attached to every thread before the phase starts

    def stop(self, count: int) -> dict[str, float]:
        out = {}
        for name, tracer in self.tracers.items():
            tracer.send_signal(signal.SIGINT)
            _, err = tracer.communicate(timeout=60)
            calls = sum(
                int(line.split()[3])
                for line in err.splitlines()
                if line.split()[-1:] in (["fsync"], ["fdatasync"]) and len(line.split()) >= 5
            )
            out[name] = round(calls / count, 2)
        return out


def profile_summary(raw: Path, top: int = 25) -> dict[str, float]:
    """Share of GIL-holding samples per function (inclusive), from a py-spy raw file."""
    counts: dict[str, int] = {}
    total = 0
    if not raw.exists():
        return {}
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        for name in {frame.split(" (")[0] for frame in stack.split(";")[1:]}:
            counts[name] = counts.get(name, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return {k: round(v / total, 3) for k, v in ranked} if total else {}


def measure_limits(folder: Path, seconds: float) -> dict[str, float]:
    return {
        "sha256_MB_per_s": round(sha256_mb_per_s()),
        "p256_signs_per_s": round(p256_signs_per_s()),
        "fsyncs_per_s": round(fsyncs_per_s(folder, seconds=seconds)),
        "durable_dossiers_per_s": round(durable_dossiers_per_s(folder, seconds=seconds), 1),
    }


async def exchange(topo: Topology, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    limit = aiohttp.TCPConnector(limit=args.concurrency + 8)
    async with aiohttp.ClientSession(connector=limit) as osl_s, aiohttp.ClientSession() as si_s:
        osl_c = topo.osl.clients["osl"]
        si_c = topo.si.clients["si"]
        osl = HubeeClient(osl_s, topo.osl.service.url, osl_c.client_id, osl_c.secret, "OSL")
        si = HubeeClient(si_s, topo.si.service.url, si_c.client_id, si_c.secret, "SI")
        await osl.login()
        await si.login()
        rx = Receiver(si)
        stop = asyncio.Event()
        polling = asyncio.create_task(rx.run(stop))
        try:
            say("warm-up (5 dossiers)")
            await burst(topo, osl, rx, count=5, size=10 * KB, concurrency=5)
            for name, count, size in (
                ("burst_10KB", args.burst, 10 * KB),
                ("burst_1MB", args.burst_1mb, MB),
            ):
                if count:
                    say(f"{name}: {count} dossiers, {args.concurrency} in flight")
                    spy = Profiler(topo, args.py_spy if name == "burst_10KB" else None, name)
                    fsyncs = FsyncCounter(topo, args.count_fsyncs and name == "burst_10KB")
                    results[name] = await burst(
                        topo, osl, rx, count=count, size=size, concurrency=args.concurrency
                    )
                    if fsyncs.tracers:
                        results[name]["fsyncs_per_dossier_strace"] = fsyncs.stop(count)
                    if spy.spies:
                        results[name]["py_spy"] = spy.stop()
            if args.latency_count:
                say(f"latency: {args.latency_count} dossiers at {args.rate}/s")
                results["latency_10KB"] = await latency(
                    topo, osl, rx, count=args.latency_count, rate=args.rate
                )
            if args.big_mb:
                say(f"big attachment: {args.big_mb} MB")
                spy = Profiler(topo, args.py_spy, "big_attachment")
                results["big_attachment"] = await big(topo, osl, si, rx, size=args.big_mb * MB)
                if spy.spies:
                    results["big_attachment"]["py_spy"] = spy.stop()
        finally:
            stop.set()
            await polling
        if rx.errors:
            results["si_client_errors"] = rx.errors[:10]
    return results


def say(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def report(out: dict[str, Any]) -> None:
    lim, res = out["limits"], out["results"]
    print(f"\nEnd to end on loopback (load average {out['load_average_before']} → "
          f"{out['load_average_after']}, {out['cpus']} CPUs)")  # fmt: skip
    print(f"  limits: SHA-256 {lim['sha256_MB_per_s']} MB/s, P-256 {lim['p256_signs_per_s']} "
          f"signatures/s, {lim['fsyncs_per_s']} fsyncs/s, trust core durable pipeline "
          f"(seal + journal fsync) {lim['durable_dossiers_per_s']} dossiers/s")  # fmt: skip
    for name in ("burst_10KB", "burst_1MB"):
        if name in res:
            r = res[name]
            print(f"  {name}: {r['dossiers_per_s']} dossiers/s end to end ({r['dossiers']} in "
                  f"{r['seconds']} s; OSL completed {r['osl_completed_per_s']}/s)  target ≥ 300/s "
                  f"(10 KB); vs durable pipeline {lim['durable_dossiers_per_s']}/s")  # fmt: skip
            print(f"      CPU ms per dossier: {r['cpu_ms_per_dossier']}")
    if "latency_10KB" in res:
        r = res["latency_10KB"]
        print(f"  latency completion → SI notification at {r['rate_per_s']}/s: p50 {r['p50_ms']} "
              f"ms, p99 {r['p99_ms']} ms  target p99 ≤ 1000 ms")  # fmt: skip
    if "big_attachment" in res:
        r = res["big_attachment"]
        print(f"  {r['bytes'] // MB} MB attachment: {r['MB_per_s']} MB/s end to end  target ≥ 200 "
              f"MB/s; vs SHA-256 {lim['sha256_MB_per_s']} MB/s; peak RSS MB {r['peak_rss_MB']} "
              f" target ≤ 150")  # fmt: skip
    if "si_client_errors" in res:
        print(f"  SI client errors: {res['si_client_errors']}")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sceau-bench-e2e-", dir=args.tmp))
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        say("limits")
        limits = await asyncio.to_thread(measure_limits, work, args.limits_seconds)
        say("hub init, directory, 2 gateways init + enroll, run")
        t0 = time.monotonic()
        topo = await build(work)
        setup_s = time.monotonic() - t0
        try:
            results = await exchange(topo, args)
        except BaseException:
            for name, service in topo.services().items():
                print(f"--- {name} ({service.log}) ---\n{service.tail(30)}", file=sys.stderr)
            raise
        finally:
            await topo.stop()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "benchmark": "e2e",
        "command": " ".join(["python", "bench/bench_e2e.py", *map(shlex.quote, sys.argv[1:])]),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "setup_s": round(setup_s, 1),
        "limits": limits,
        "results": results,
        "targets": {
            "dossiers_per_s_10KB": 300,
            "latency_p99_ms": 1000,
            "big_attachment_MB_per_s": 200,
            "peak_rss_MB": 150,
        },
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="about a minute")
    size.add_argument("--tiny", action="store_true", help="3 dossiers and 1 MB: the test's mode")
    p.add_argument("--burst", type=int, help="10 KB dossiers in the burst")
    p.add_argument("--burst-1mb", type=int, help="1 MB dossiers in the burst")
    p.add_argument("--concurrency", type=int, default=32, help="dossiers in flight")
    p.add_argument("--latency-count", type=int, help="dossiers sent at --rate for the latency")
    p.add_argument("--rate", type=float, default=5.0, help="dossiers/s for the latency")
    p.add_argument("--big-mb", type=int, help="the big attachment, in MB (0: none)")
    p.add_argument("--limits-seconds", type=float, help="seconds per limit probe")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"default {RESULTS}")
    p.add_argument("--tmp", type=Path, help="where the data folders go (default: $TMPDIR)")
    p.add_argument("--py-spy", type=Path, help="record py-spy profiles of the 10 KB burst here")
    p.add_argument(
        "--count-fsyncs", action="store_true", help="strace -c the 10 KB burst (slows it)"
    )
    p.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    args = p.parse_args(argv)
    # full, quick, tiny
    defaults = {
        "burst": (1000, 200, 3),
        "burst_1mb": (200, 40, 3),
        "latency_count": (200, 50, 3),
        "big_mb": (1024, 256, 1),
        "limits_seconds": (1.0, 0.5, 0.2),
    }
    mode = 2 if args.tiny else 1 if args.quick else 0
    for name, values in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, values[mode])
    return args


if __name__ == "__main__":
    arguments = parse()
    found = asyncio.run(main(arguments))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    report(found)
    print(f"\nresults in {arguments.out}")
