"""The exchange over mTLS: a sealed folder from an operator's gateway reaches the
recipient's gateway through the long-polled feed, with its seal, and a sealed
receipt comes back."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.integration.hub_link.harness import (
    DGS,
    MONTREUIL,
    SAINT_DENIS,
    Gateway,
    LinkHub,
    b64,
    push_body,
    sealed_folder,
    send_folder,
    sha256_digest_header,
)
from trust.manifest import AttachmentDigest, Manifest
from trust.seal import verify_seal

LinkRun = Callable[..., None]
ACTE = b"%PDF-1.4 acte de deces " + bytes(range(256)) * 40


def receipt_manifest(
    gateway: Gateway, case_id: str, folder_manifest: bytes, *, outcome: str = "accepted"
) -> bytes:
    extra: dict[str, object] = {
        "caseId": case_id,
        "folderManifestSha256": hashlib.sha256(folder_manifest).hexdigest(),
        "outcome": outcome,
    }
    if outcome == "rejected":
        extra["reason"] = "digest mismatch"
    return Manifest(
        id=str(uuid.uuid4()),
        kind="receipt",
        created=datetime.now(UTC),
        sender=gateway.org_key,
        recipients=(DGS.key,),
        extra=extra,
    ).to_json()


async def poll(gateway: Gateway, after: int = 0, wait: float = 0) -> dict[str, Any]:
    reply = await gateway.call(
        "GET", "/link/v1/notifications", params=[("after", str(after)), ("wait", str(wait))]
    )
    assert reply.status == 200, reply.body
    answer: dict[str, Any] = reply.json()
    return answer


def test_a_completed_folder_wakes_the_recipients_long_poll_and_arrives_sealed(
    link_run: LinkRun,
) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        saint_denis = await hub.gateway(SAINT_DENIS)
        montreuil = await hub.gateway(MONTREUIL)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE, "acte.xml": b"<acte/>"})
        await send_folder(dgs, folder, complete=False)

        waiting = asyncio.create_task(poll(saint_denis, wait=30))
        await asyncio.sleep(0.3)  # the poll is parked on the bell
        assert not waiting.done()
        done = await dgs.call("POST", f"/link/v1/folders/{folder.folder_id}/complete")
        completed = time.perf_counter()
        assert done.status == 200 and done.json()["folder"]["globalStatus"] == "HUBEE_NOTIFIED"
        feed = await waiting
        latency = time.perf_counter() - completed
        assert latency < 2.0, f"the long poll woke {latency:.3f} s after completion"
        items = feed["items"]
        assert isinstance(items, list) and len(items) == 1
        item = items[0]
        assert item["kind"] == "case" and item["processCode"] == "CERTDC"
        assert feed["cursor"] == item["cursor"]
        case_id = item["caseId"]

        pulled = await saint_denis.call("GET", f"/link/v1/cases/{case_id}")
        assert pulled.status == 200, pulled.body
        body = pulled.json()
        assert body["folderId"] == folder.folder_id
        assert body["transmitter"]["branchCode"] == "DGS"
        assert body["case"]["status"] == "SENT"  # fetched by its recipient
        manifest = base64.b64decode(body["manifest"])
        assert manifest == folder.manifest_bytes
        verified = verify_seal(
            base64.b64decode(body["seal"]), manifest, anchors=[hub.runtime.identity.ca_certificate]
        )
        assert verified.ok and "O=11000201100044:DGS" in verified.subject

        for attachment in body["case"]["attachments"]:
            url = f"/link/v1/cases/{case_id}/attachments/{attachment['id']}"
            data = folder.files[attachment["fileName"]]
            whole = await saint_denis.call("GET", url)
            assert whole.status == 200 and whole.body == data
            assert whole.headers["digest"] == b64(hashlib.sha256(data).digest())
            if len(data) > 100:
                part = await saint_denis.call("GET", url, headers={"Range": "bytes=100-"})
                assert part.status == 206 and part.body == data[100:]

        # The operator's gateway hears that its case was fetched; Montreuil sees nothing.
        dgs_feed = await poll(dgs)
        statuses = [i["status"] for i in dgs_feed["items"]]
        assert statuses == ["HUBEE_NOTIFIED", "SENT"]
        assert (await poll(montreuil))["items"] == []
        hidden = await montreuil.call("GET", f"/link/v1/cases/{case_id}")
        assert hidden.status == 404
        again = await poll(saint_denis, after=int(feed["cursor"]))
        assert again["items"] == [] and again["cursor"] == feed["cursor"]

    link_run(scenario)


def test_a_push_is_idempotent_and_another_manifest_conflicts(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        path = f"/link/v1/folders/{folder.folder_id}"
        first = await dgs.call("PUT", path, json_body=push_body(dgs, folder))
        second = await dgs.call("PUT", path, json_body=push_body(dgs, folder))
        assert (first.status, second.status) == (201, 200)
        assert first.json()["folder"]["id"] == second.json()["folder"]["id"] == folder.folder_id
        assert [a["id"] for a in first.json()["folder"]["attachments"]] == [
            a["id"] for a in second.json()["folder"]["attachments"]
        ]
        other = sealed_folder(
            DGS,
            [SAINT_DENIS],
            {"acte.pdf": ACTE + b"!"},
            folder_id=folder.folder_id,
            external_id=str(folder.body["externalId"]),
        )
        body = push_body(dgs, other)
        conflict = await dgs.call("PUT", path, json_body=body)
        assert conflict.status == 409 and "another manifest" in conflict.message

    link_run(scenario)


def test_receipts_travel_back_to_the_sender_sealed(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        saint_denis = await hub.gateway(SAINT_DENIS)
        montreuil = await hub.gateway(MONTREUIL)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        await send_folder(dgs, folder)
        case_id = (await poll(saint_denis))["items"][0]["caseId"]
        before = int((await poll(dgs))["cursor"])

        receipt = receipt_manifest(saint_denis, case_id, folder.manifest_bytes)
        body = {"receipt": b64(receipt), "seal": b64(saint_denis.seal(receipt))}
        path = f"/link/v1/cases/{case_id}/receipt"
        stored = await saint_denis.call("POST", path, json_body=body)
        assert stored.status == 201, stored.body
        assert (await saint_denis.call("POST", path, json_body=body)).status == 200
        other = receipt_manifest(saint_denis, case_id, folder.manifest_bytes, outcome="rejected")
        clash = await saint_denis.call(
            "POST", path, json_body={"receipt": b64(other), "seal": b64(saint_denis.seal(other))}
        )
        assert clash.status == 409

        feed = await poll(dgs, after=before)
        items = feed["items"]
        assert [(i["kind"], i["caseId"]) for i in items] == [("receipt", case_id)]
        receipt_id = items[0]["receiptId"]
        fetched = await dgs.call("GET", f"/link/v1/receipts/{receipt_id}")
        assert fetched.status == 200
        answer = fetched.json()
        assert answer["outcome"] == "accepted" and base64.b64decode(answer["receipt"]) == receipt
        verified = verify_seal(
            base64.b64decode(answer["seal"]), receipt, anchors=[hub.runtime.identity.ca_certificate]
        )
        assert verified.ok and "O=21930066200016:93066" in verified.subject
        assert (await montreuil.call("GET", f"/link/v1/receipts/{receipt_id}")).status == 404

        # A receipt for the wrong manifest is refused, saying which field.
        folder2 = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        await send_folder(dgs, folder2)
        case2 = (await poll(saint_denis, after=int(feed["cursor"])))["items"]
        wrong = receipt_manifest(saint_denis, case2[0]["caseId"], b"not the manifest")
        refused = await saint_denis.call(
            "POST",
            f"/link/v1/cases/{case2[0]['caseId']}/receipt",
            json_body={"receipt": b64(wrong), "seal": b64(saint_denis.seal(wrong))},
        )
        assert refused.status == 400 and "folderManifestSha256" in refused.message

    link_run(scenario)


def test_status_changes_and_sealed_events_reach_the_other_side(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        saint_denis = await hub.gateway(SAINT_DENIS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        await send_folder(dgs, folder)
        case_id = (await poll(saint_denis))["items"][0]["caseId"]
        await saint_denis.call("GET", f"/link/v1/cases/{case_id}")
        cursor = int((await poll(dgs))["cursor"])

        moved = await saint_denis.call(
            "PATCH", f"/link/v1/cases/{case_id}", json_body={"status": "SI_RECEIVED"}
        )
        assert moved.status == 204
        backwards = await saint_denis.call(
            "PATCH", f"/link/v1/cases/{case_id}", json_body={"status": "SENT"}
        )
        assert backwards.status == 400 and "rule:" in backwards.message
        feed = await poll(dgs, after=cursor)
        assert [(i["kind"], i["status"]) for i in feed["items"]] == [("status", "SI_RECEIVED")]
        cursor = int(feed["cursor"])

        # An event with a file, sealed by the instructing service's gateway.
        extra_file = b"<piece complementaire/>"
        event_manifest = Manifest(
            id=str(uuid.uuid4()),
            kind="event",
            created=datetime.now(UTC),
            attachments=(
                AttachmentDigest(
                    "piece.xml",
                    "application/xml",
                    len(extra_file),
                    hashlib.sha256(extra_file).hexdigest(),
                ),
            ),
            sender=SAINT_DENIS.key,
            extra={"caseId": case_id},
        ).to_json()
        event_body = {
            "event": {
                "actionType": "ATTACH_DEPOSIT",
                "notification": True,
                "message": "pièce complémentaire",
                "attachments": [
                    {
                        "fileName": "piece.xml",
                        "type": "PJ",
                        "size": len(extra_file),
                        "mimeType": "application/xml",
                    }
                ],
            },
            "manifest": b64(event_manifest),
            "seal": b64(saint_denis.seal(event_manifest)),
        }
        created = await saint_denis.call(
            "POST", f"/link/v1/cases/{case_id}/events", json_body=event_body
        )
        assert created.status == 201, created.body
        event = created.json()["event"]
        retried = await saint_denis.call(
            "POST", f"/link/v1/cases/{case_id}/events", json_body=event_body
        )
        assert retried.status == 200 and retried.json()["event"]["id"] == event["id"]
        attachment_id = event["attachments"][0]["id"]
        url = f"/link/v1/cases/{case_id}/events/{event['id']}/attachments/{attachment_id}"
        put = await saint_denis.call(
            "PUT",
            url,
            data=extra_file,
            headers={
                "Content-Type": "application/octet-stream",
                "digest": sha256_digest_header(extra_file),
            },
        )
        assert put.status == 204, put.body

        feed = await poll(dgs, after=cursor)
        kinds = [(i["kind"], i.get("eventId")) for i in feed["items"]]
        assert ("event", event["id"]) in kinds
        seen = await dgs.call("GET", f"/link/v1/cases/{case_id}/events/{event['id']}")
        assert seen.status == 200
        assert base64.b64decode(seen.json()["seal"]) and seen.json()["event"]["status"] == "SENT"
        assert base64.b64decode(seen.json()["manifest"]) == event_manifest
        download = await dgs.call("GET", url)
        assert download.status == 200 and download.body == extra_file

        # A message turns a status change into a notified STATUS_UPDATE event.
        with_message = await saint_denis.call(
            "PATCH",
            f"/link/v1/cases/{case_id}",
            json_body={"status": "IN_PROGRESS", "message": "instruction en cours"},
        )
        assert with_message.status == 204
        case = (await dgs.call("GET", f"/link/v1/cases/{case_id}")).json()["case"]
        assert case["status"] == "IN_PROGRESS"
        assert any(e["message"] == "instruction en cours" for e in case["events"])

    link_run(scenario)
