"""One sample dossier's HubEE life in the demo, driven only through the gateways' LAN
HubEE APIs (and one recipient's watched folder): create and complete at the operator,
notified and downloaded at the recipient, IN_PROGRESS then DONE or REFUSED with a
message, and the decision, the events and the sealed receipt seen back at the operator."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.demo_cast import Dossier
from appliance.demo_lan import HubeeClient, b64_sha256, eventually
from appliance.demo_services import DemoStepFailed

TIMEOUT = 20.0  # seconds for any one step to be seen


@dataclass
class Outcome:
    dossier: Dossier
    folder_id: str = ""
    operator_case_id: str = ""
    recipient_case_id: str = ""
    completed_at: float = 0.0
    delivered_at: float = 0.0
    final_status: str = "—"
    message_seen: str = ""
    receipt_seen: bool = False
    bundles: dict[str, Path] = field(default_factory=dict)  # side → file
    verified: dict[str, bool] = field(default_factory=dict)  # check → ok
    error: str = ""

    @property
    def delivery_ms(self) -> float | None:
        if not self.delivered_at:
            return None
        return (self.delivered_at - self.completed_at) * 1000

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and self.final_status == self.dossier.decision
            and self.receipt_seen
            and len(self.bundles) == 2
            and bool(self.verified)
            and all(self.verified.values())
        )


async def send(osl: HubeeClient, out: Outcome) -> None:
    """The operator's software: create the folder, upload the files, complete it."""
    d = out.dossier
    created = await osl.expect(201, "POST", "/teledossiers/v1/folders", json_body=d.folder_body())
    folder = created.json()
    out.folder_id = folder["id"]
    out.operator_case_id = folder["cases"][0]["id"]
    by_name = {f.name: f for f in d.files}
    for meta in folder["attachments"]:
        data = await asyncio.to_thread(by_name[meta["fileName"]].read_bytes)
        await osl.expect(
            204,
            "PUT",
            f"/teledossiers/v1/folders/{out.folder_id}/attachments/{meta['id']}",
            data=data,
            headers={"Content-Type": "application/octet-stream", "digest": b64_sha256(data)},
        )
    await osl.expect(
        204,
        "PATCH",
        f"/teledossiers/v1/folders/{out.folder_id}",
        json_body={"globalStatus": "HUBEE_COMPLETED"},
    )
    out.completed_at = time.monotonic()


async def receive_by_api(si: HubeeClient, out: Outcome) -> None:
    """The recipient's software: notification, case, files (digests checked), answer."""
    d = out.dossier

    async def notified() -> dict[str, Any] | None:
        reply = await si.expect(200, "GET", "/teledossiers/v1/notifications?maxResult=100")
        mine = [n for n in reply.json() if n.get("processCode") == d.process and n.get("caseId")]
        return mine[0] if mine else None

    note = await eventually(
        notified, timeout=TIMEOUT, what=f"{d.recipient.name}'s notification", every=0.02
    )
    out.delivered_at = time.monotonic()
    out.recipient_case_id = note["caseId"]
    case = (await si.expect(200, "GET", f"/teledossiers/v1/cases/{out.recipient_case_id}")).json()
    if case["externalId"] != d.case_external_id:
        raise DemoStepFailed(f"{d.process}: notified of case {case['externalId']}, not ours")
    by_name = {f.name: f for f in d.files}
    for attachment in case["attachments"]:
        got = await si.expect(
            200,
            "GET",
            f"/teledossiers/v1/cases/{out.recipient_case_id}/attachments/{attachment['id']}",
        )
        expected = await asyncio.to_thread(by_name[attachment["fileName"]].read_bytes)
        if got.body != expected or got.headers.get("digest") != b64_sha256(got.body):
            raise DemoStepFailed(f"{d.process}: {attachment['fileName']} differs from the sample")
    await _status(si, out, "SI_RECEIVED", "dossier intégré")
    await answer(si, out)
    await si.expect(204, "DELETE", f"/teledossiers/v1/notifications/{note['id']}")


async def receive_by_folder(si: HubeeClient, root: Path, out: Outcome) -> None:
    """The recipient's legacy software: the case appears in IN/<case-id>/, complete."""
    d = out.dossier

    def appeared() -> Path | None:
        for meta in (root / "IN").glob("*/metadata.json"):
            found = json.loads(meta.read_text(encoding="utf-8"))
            if found.get("case", {}).get("externalId") == d.case_external_id:
                return meta.parent
        return None

    async def poll() -> Path | None:
        return await asyncio.to_thread(appeared)

    case_dir = await eventually(
        poll, timeout=TIMEOUT, what=f"the case in {root / 'IN'}", every=0.02
    )
    out.delivered_at = time.monotonic()
    out.recipient_case_id = case_dir.name
    meta = json.loads((case_dir / "metadata.json").read_text(encoding="utf-8"))
    by_name = {f.name: f for f in d.files}
    for entry in meta["files"]:
        data = (case_dir / entry["path"]).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"] or data != by_name[entry["fileName"]].read_bytes():
            raise DemoStepFailed(f"{d.process}: IN/{entry['path']} differs from the sample")

    async def acknowledged() -> bool:
        reply = await si.expect(200, "GET", f"/teledossiers/v1/cases/{out.recipient_case_id}")
        return bool(reply.json()["status"] == "SI_RECEIVED")

    await eventually(acknowledged, timeout=TIMEOUT, what="the adapter's acknowledgement")
    await answer(si, out)


async def answer(si: HubeeClient, out: Outcome) -> None:
    await _status(si, out, "IN_PROGRESS", "instruction en cours")
    await _status(si, out, out.dossier.decision, out.dossier.message)


async def _status(si: HubeeClient, out: Outcome, status: str, message: str) -> None:
    await si.expect(
        201,
        "POST",
        f"/teledossiers/v1/cases/{out.recipient_case_id}/events",
        json_body={
            "actionType": "STATUS_UPDATE",
            "caseNewStatus": status,
            "message": message,
            "notification": True,
        },
    )


async def await_decision(osl: HubeeClient, out: Outcome) -> None:
    """Poll the operator's LAN API until the decision and the sealed receipt are there."""
    d = out.dossier

    async def decided() -> dict[str, Any] | None:
        reply = await osl.expect(200, "GET", f"/teledossiers/v1/cases/{out.operator_case_id}")
        view: dict[str, Any] = reply.json()
        out.final_status = view["status"]
        events = view.get("events", [])
        out.receipt_seen = any(e["actionType"] == "SENDING_MESSAGE" for e in events)
        said = [e.get("message", "") for e in events if e.get("caseNewStatus") == d.decision]
        out.message_seen = said[0] if said else ""
        return view if out.final_status == d.decision and out.receipt_seen and said else None

    await eventually(decided, timeout=TIMEOUT, what=f"{d.decision} at {d.operator.name}")
