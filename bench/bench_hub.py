"""Hub benchmarks over real HTTP on loopback, the hub in its own process.

    .venv/bin/python bench/bench_hub.py [--folders 3000] [--concurrency 64] [--big-mb 1024]

Measured, each beside the limits measured in the same run (SHA-256 MB/s, fsyncs/s in
the hub's data folder):

- folders created and completed per second, each with one 10 KB attachment: POST
  /folders, PUT the attachment (with its digest), PATCH HUBEE_COMPLETED — three durable
  requests per folder, ``--concurrency`` folders in flight;
- notifications served per second (GET /notifications?maxResult=100, concurrently);
- one ``--big-mb`` attachment uploaded and downloaded (MB/s), and the hub's peak RSS
  (VmHWM from /proc/<pid>/status).

Targets: ≥ 1,000 folders/s; 1 GB at ≥ 300 MB/s with the hub's peak RSS ≤ 150 MB.
The machine is shared (2 cores, the client runs on it too): the load average is
recorded. Figures, not asserts; results in ``bench/results/hub.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import fsyncs_per_s, sha256_mb_per_s
from record import write_results

from hubee.directory import Directory
from hubee.model import OrgRef, OrgType, Process, Scope
from hubee.services import HubDeps
from hubee.settings import HubSettings

RESULTS = Path(__file__).resolve().parent / "results" / "hub.json"
MB = 1024 * 1024
OSL = OrgRef(OrgType.OSL, "11000201100044", "DGS")
SI = OrgRef(OrgType.SI, "21930066200016", "93066")


async def _setup(data: Path) -> dict[str, tuple[str, str]]:
    deps = await asyncio.to_thread(HubDeps.open, HubSettings(data_dir=data))
    try:
        d = Directory(deps.store, deps.sink, deps.clock)
        await d.add_org(OSL, "DGS")
        await d.add_org(SI, "Saint-Denis")
        await d.add_process(Process("CERTDC", "Certificat de décès"), osl=OSL)
        await d.subscribe(
            process_code="CERTDC", subscriber=SI, activate=True, local_admin_email="admin@ville.fr"
        )
        osl, osl_secret = await d.add_client(org=OSL, scope=Scope.OSL, process_code="CERTDC")
        si, si_secret = await d.add_client(org=SI, scope=Scope.SI, process_code="CERTDC")
        return {"osl": (osl.client_id, osl_secret), "si": (si.client_id, si_secret)}
    finally:
        await deps.close()


def _start_hub(data: Path, max_bytes: int) -> tuple[subprocess.Popen[str], str]:
    if not (data / "hub.yaml").exists():
        subprocess.run(
            [sys.executable, "-m", "appliance", "hub", "init", "--data", str(data)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "hub",
            "run",
            "--data",
            str(data),
            "--port",
            "0",
            "--insecure-http",  # the HubEE API measured without TLS, as before
            "--max-attachment-bytes",
            str(max_bytes),
            "--token-ttl",
            "36000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not found:
        process.kill()
        raise SystemExit(f"the hub did not start: {line!r}")
    return process, found[1]


def _profile_summary(raw: Path, top: int = 12) -> dict[str, float]:
    """Share of GIL-holding samples per function (inclusive), from a py-spy raw file."""
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        for name in {frame.split(" (")[0] for frame in stack.split(";")[1:]}:
            counts[name] = counts.get(name, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    skip = (
        "Thread.",
        "_run_module",
        "_run_code",
        "<module>",
        "Command.",
        "Context.",
        "Group.",
        "SceauGroup",
        "HubGroup",
        "pass_context",
        "run",
        "Runner.",
        "BaseEventLoop.run",
    )
    kept = [(k, v) for k, v in ranked if not k.startswith(skip)][:top]
    return {k: round(v / total, 3) for k, v in kept} if total else {}


def _disk_mb_per_s(folder: Path, size: int = 256 * MB) -> float:
    """Sequential write then fsync in ``folder``: what the disk takes durably."""
    block = os.urandom(MB)
    path = folder / "disk-probe"
    start = time.perf_counter()
    with path.open("wb") as f:
        for _ in range(size // MB):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - start
    path.unlink()
    return size / MB / elapsed


def _cpu_s(pid: int) -> tuple[float, float]:
    """User and system CPU seconds used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found[1]) / 1024 if found else float("nan")


async def _token(session: aiohttp.ClientSession, creds: tuple[str, str], scope: str) -> str:
    basic = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
    async with session.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": f"Basic {basic}"},
    ) as r:
        r.raise_for_status()
        return str((await r.json())["access_token"])


def _folder(external_id: str, size: int) -> dict[str, Any]:
    case = f"{external_id}-01"
    return {
        "processCode": "CERTDC",
        "externalId": external_id,
        "applicant": {"firstName": "Camille", "lastName": "Martin"},
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": SI.company_register,
                    "branchCode": SI.branch_code,
                },
                "externalId": case,
            }
        ],
        "attachments": [
            {
                "fileName": "acte.pdf",
                "type": "VA",
                "size": size,
                "mimeType": "application/pdf",
                "recipients": [case],
            }
        ],
    }


async def _one_folder(session: aiohttp.ClientSession, token: str, n: int, run_id: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    data = n.to_bytes(8, "big", signed=True) + os.urandom(10 * 1024 - 8)
    async with session.post(
        "/teledossiers/v1/folders", json=_folder(f"B{run_id}-{n}", len(data)), headers=auth
    ) as r:
        assert r.status == 201, await r.text()
        folder = await r.json()
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    url = f"/teledossiers/v1/folders/{folder['id']}"
    async with session.put(
        f"{url}/attachments/{folder['attachments'][0]['id']}",
        data=data,
        headers={**auth, "digest": digest, "Content-Type": "application/octet-stream"},
    ) as r:
        assert r.status == 204, await r.text()
    async with session.patch(url, json={"globalStatus": "HUBEE_COMPLETED"}, headers=auth) as r:
        assert r.status == 204, await r.text()


async def _folders(base: str, token: str, count: int, concurrency: int) -> dict[str, float]:
    run_id = os.urandom(3).hex()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        await _one_folder(session, token, -1, run_id)  # warm-up
        queue = iter(range(count))

        async def worker() -> None:
            for n in queue:
                await _one_folder(session, token, n, run_id)

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "folders": count,
        "seconds": elapsed,
        "per_s": count / elapsed,
        "requests_per_s": 3 * count / elapsed,
        "client_cpu_s": time.process_time() - cpu,
    }


async def _notifications(
    base: str, token: str, seconds: float, concurrency: int
) -> dict[str, float]:
    served = requests = 0
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal served, requests
            while time.perf_counter() < deadline:
                async with s.get("/teledossiers/v1/notifications?maxResult=100", headers=auth) as r:
                    served += len(await r.json())
                    requests += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"per_s": served / elapsed, "requests_per_s": requests / elapsed, "page": 100}


async def _big(base: str, osl: str, si: str, size: int) -> dict[str, float]:
    blocks = [os.urandom(4 * MB) for _ in range(4)]

    def pieces() -> list[bytes]:
        """``size`` bytes as 4 MB blocks and a shorter last one (any --big-mb)."""
        whole, rest = divmod(size, 4 * MB)
        return [blocks[i % 4] for i in range(whole)] + ([blocks[0][:rest]] if rest else [])

    digest = hashlib.sha256()
    for piece in pieces():
        digest.update(piece)

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces():
            yield piece

    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(base, timeout=timeout, read_bufsize=MB) as s:
        auth = {"Authorization": f"Bearer {osl}"}
        async with s.post(
            "/teledossiers/v1/folders",
            json=_folder("BIG-" + os.urandom(3).hex(), size),
            headers=auth,
        ) as r:
            folder = await r.json()
        url = f"/teledossiers/v1/folders/{folder['id']}"
        att = folder["attachments"][0]["id"]
        start = time.perf_counter()
        async with s.put(
            f"{url}/attachments/{att}",
            data=body(),
            headers={
                **auth,
                "digest": base64.b64encode(digest.digest()).decode(),
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
            },
        ) as r:
            assert r.status == 204, await r.text()
        upload = time.perf_counter() - start
        async with s.patch(url, json={"globalStatus": "HUBEE_COMPLETED"}, headers=auth) as r:
            assert r.status == 204
        case_id = folder["cases"][0]["id"]
        si_auth = {"Authorization": f"Bearer {si}"}
        async with s.get(f"/teledossiers/v1/cases/{case_id}", headers=si_auth) as r:
            assert r.status == 200
        # The client hashes in a worker thread, so that its loop only moves bytes.
        loop = asyncio.get_running_loop()
        start, received, check = time.perf_counter(), 0, hashlib.sha256()
        hashing: asyncio.Future[None] | None = None
        async with s.get(
            f"/teledossiers/v1/cases/{case_id}/attachments/{att}", headers=si_auth
        ) as r:
            async for chunk in r.content.iter_chunked(4 * MB):
                received += len(chunk)
                if hashing is not None:
                    await hashing
                hashing = loop.run_in_executor(None, check.update, chunk)
        if hashing is not None:
            await hashing
        download = time.perf_counter() - start
        assert received == size and check.digest() == digest.digest()
    return {
        "bytes": size,
        "upload_MB_per_s": size / MB / upload,
        "download_MB_per_s": size / MB / download,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-hub-", dir=args.dir))
    data = root / "hub"
    creds = await _setup(data)
    limits = {
        "sha256_MB_per_s": round(sha256_mb_per_s()),
        "fsyncs_per_s": round(fsyncs_per_s(data)),
        "disk_write_fsync_MB_per_s": round(_disk_mb_per_s(data)),
    }
    hub, base = _start_hub(data, max(args.big_mb * MB, 2**30))
    results: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(base) as s:
            osl = await _token(s, creds["osl"], "OSL")
            si = await _token(s, creds["si"], "SI")
        spy = None
        if args.py_spy:  # a profile of the hub while it creates folders
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(hub.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "250",
                    "--nonblocking",
                    "--gil",
                    "-o",
                    str(args.py_spy),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        user, system = _cpu_s(hub.pid)
        folders = await _folders(base, osl, args.folders, args.concurrency)
        user_after, system_after = _cpu_s(hub.pid)
        folders["hub_cpu_ms_per_folder"] = (
            1000 * (user_after + system_after - user - system) / args.folders
        )
        folders["hub_system_cpu_ms_per_folder"] = 1000 * (system_after - system) / args.folders
        folders["client_cpu_ms_per_folder"] = 1000 * folders.pop("client_cpu_s") / args.folders
        results["folders_created_and_completed"] = folders
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
            results["py_spy"] = _profile_summary(args.py_spy)
        results["rss_after_folders_MB"] = _peak_rss_mb(hub.pid)
        results["notifications_served"] = await _notifications(base, si, 5.0, 16)
        results["big_attachment"] = await _big(base, osl, si, args.big_mb * MB)
        results["hub_peak_rss_MB"] = _peak_rss_mb(hub.pid)
    finally:
        hub.terminate()
        hub.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    return {"limits": limits, "results": results}


def _report(out: dict[str, Any]) -> None:
    limits, r = out["limits"], out["results"]
    f, n, big = r["folders_created_and_completed"], r["notifications_served"], r["big_attachment"]
    print(
        f"limits: SHA-256 {limits['sha256_MB_per_s']:,} MB/s, fsync {limits['fsyncs_per_s']:,}/s, "
        f"disk write+fsync {limits['disk_write_fsync_MB_per_s']:,} MB/s"
    )
    print(
        f"folders created+completed (10 KB each): {f['per_s']:,.0f}/s "
        f"({f['requests_per_s']:,.0f} durable requests/s)  target ≥ 1,000/s; CPU per folder: "
        f"hub {f['hub_cpu_ms_per_folder']:.2f} ms (kernel {f['hub_system_cpu_ms_per_folder']:.2f}), "
        f"client {f['client_cpu_ms_per_folder']:.2f} ms"
    )
    print(f"notifications served: {n['per_s']:,.0f}/s ({n['requests_per_s']:,.0f} pages of 100/s)")
    print(
        f"{big['bytes'] // MB} MB attachment: upload {big['upload_MB_per_s']:,.0f} MB/s, "
        f"download {big['download_MB_per_s']:,.0f} MB/s  target ≥ 300 MB/s"
    )
    print(f"hub peak RSS: {r['hub_peak_rss_MB']:,.0f} MB  target ≤ 150 MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None, help="Where the hub keeps its data.")
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="Record a py-spy profile (raw) of the hub during the folder phase.",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    out = write_results("hub", asyncio.run(main(args)), started=started, path=RESULTS)
    _report(out)
