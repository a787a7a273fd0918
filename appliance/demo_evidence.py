"""Each dossier's evidence bundles, from both gateways' LAN APIs (``GET /evidence/{id}``),
checked as an auditor would: ``sceau verify`` (hub CA, the gateway's journal key, the
hub's witness key, witness required) and ``openssl cms -verify`` for the bundle's seal
and the sender's seal over ``manifest.json``."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from appliance.demo_lan import HubeeClient, eventually
from appliance.demo_lifecycle import TIMEOUT, Outcome
from appliance.demo_services import DemoStepFailed, sceau


async def fetch(client: HubeeClient, dossier_id: str, decision: str, out: Path) -> Path:
    """The bundle, once its time-stamped checkpoint covers the decision (503 until then)."""

    async def ready() -> bytes | None:
        reply = await client.call("GET", f"/evidence/{dossier_id}")
        if reply.status == 503:
            return None
        if reply.status != 200:
            raise DemoStepFailed(f"GET /evidence/{dossier_id}: {reply.status} {reply.body[:300]!r}")
        return reply.body if await asyncio.to_thread(_covers, reply.body, decision) else None

    body = await eventually(
        ready, timeout=TIMEOUT, what=f"the evidence of {dossier_id}", every=0.25
    )
    await asyncio.to_thread(out.write_bytes, body)
    return out


def _covers(bundle: bytes, decision: str) -> bool:
    """Does the bundle hold the decision's journal entry, under a witnessed checkpoint?"""
    with tempfile.TemporaryFile() as f:
        f.write(bundle)
        with zipfile.ZipFile(f) as z:
            names = set(z.namelist())
            if "META-INF/sceau/anchors/witness.vkey" not in names:
                return False
            entries = z.read("META-INF/sceau/entries.jsonl").decode()
    return f'"{decision}"' in entries


def verify(bundle: Path, *, hub_ca: Path, gateway_data: Path) -> dict[str, bool]:
    """``sceau verify`` and ``openssl cms -verify`` on one bundle."""
    checks: dict[str, bool] = {}
    try:
        sceau(
            "verify", str(bundle), "--anchor", str(hub_ca),
            "--journal-key", str(gateway_data / "certs" / "journal.vkey"),
            "--witness-key", str(gateway_data / "certs" / "witness.vkey"),
            "--require-witness",
        )  # fmt: skip
        checks["sceau verify"] = True
    except DemoStepFailed:
        checks["sceau verify"] = False
    openssl = shutil.which("openssl")
    if openssl is None:
        return checks
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(bundle) as z:
        z.extractall(tmp)
        d = Path(tmp)
        checks["openssl cms (bundle seal)"] = _cms(
            openssl, d / "META-INF/signature001.p7s", d / "META-INF/ASiCManifest001.xml", hub_ca
        )
        checks["openssl cms (sender's seal)"] = _cms(
            openssl, d / "META-INF/sceau/seals/sender.p7s", d / "manifest.json", hub_ca
        )
    return checks


def _cms(openssl: str, signature: Path, content: Path, ca: Path) -> bool:
    if not signature.is_file() or not content.is_file():
        return False
    done = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(signature),
            "-content",
            str(content),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


async def collect(
    out: Outcome, *, osl: HubeeClient, si: HubeeClient, folder: Path
) -> list[tuple[str, Path]]:
    """Both sides' bundles of one dossier, written under ``folder``."""
    d = out.dossier
    pairs = (
        ("operator", osl, out.folder_id, folder / f"{d.process}.{d.operator.slug}.asice"),
        ("recipient", si, out.recipient_case_id, folder / f"{d.process}.{d.recipient.slug}.asice"),
    )
    got = await asyncio.gather(*(fetch(c, i, d.decision, p) for _, c, i, p in pairs))
    for (side, *_), path in zip(pairs, got, strict=True):
        out.bundles[side] = path
    return list(out.bundles.items())
