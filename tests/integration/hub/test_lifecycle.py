"""The whole life of real dossiers (HubEE JDD samples) over real HTTP.

Every answer is validated against the HubEE OpenAPI documents (see ``conformance``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tests.integration.hub.harness import Hub, b64_sha256
from tests.integration.hub.world import (
    CERTDC_FILES,
    PACS_FILES,
    RSA_EXTRA,
    RSA_FILES,
    build_world,
    deposit,
    folder_body,
)

TD = "/teledossiers/v1"


def journal_kinds(hub: Hub) -> list[str]:
    conn = sqlite3.connect(f"file:{hub.settings.db_path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM journal ORDER BY seq")]
    finally:
        conn.close()


def test_certdc_from_dgs_to_a_commune(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dgs, si = world.tokens["dgs"], world.tokens["saint_denis_certdc"]
        body = folder_body("CERTDC", "DGS-CERTDC-0000000000001", world.saint_denis, CERTDC_FILES)

        folder = await deposit(hub, dgs, body, CERTDC_FILES, complete=False)
        assert folder["globalStatus"] == "HUBEE_RECEIVED"
        assert [c["status"] for c in folder["cases"]] == ["HUBEE_RECEIVED"]
        seen = (await hub.call("GET", f"{TD}/folders/{folder['id']}", token=dgs)).json()
        assert {a["status"] for a in seen["attachments"]} == {"RECEIVED"}
        # Not delivered yet: the commune sees neither notification nor case.
        assert (await hub.call("GET", f"{TD}/notifications", token=si)).json() == []
        case_id = folder["cases"][0]["id"]
        assert (await hub.call("GET", f"{TD}/cases/{case_id}", token=si)).status == 404

        done = await hub.call(
            "PATCH",
            f"{TD}/folders/{folder['id']}",
            token=dgs,
            json_body={"globalStatus": "HUBEE_COMPLETED"},
        )
        assert done.status == 204
        seen = (await hub.call("GET", f"{TD}/folders/{folder['id']}", token=dgs)).json()
        assert seen["globalStatus"] == "HUBEE_NOTIFIED"
        assert seen["cases"][0]["status"] == "HUBEE_NOTIFIED"

        notes = await hub.call(
            "GET",
            f"{TD}/notifications",
            token=si,
            params=[("maxResult", "25"), ("eventDetails", "true")],
        )
        [note] = notes.json()
        assert note["caseId"] == case_id and note["eventId"] is None
        assert note["transmitter"]["companyRegister"] == world.dgs.ref.company_register

        case = (await hub.call("GET", f"{TD}/cases/{case_id}", token=si)).json()
        assert case["status"] == "SENT" and case["transmissionDateTime"]
        assert case["externalId"] == "DGS-CERTDC-0000000000001-01"
        assert [a["fileName"] for a in case["attachments"]] == [f.path.name for f in CERTDC_FILES]
        for meta, file in zip(case["attachments"], CERTDC_FILES, strict=True):
            got = await hub.call("GET", f"{TD}/cases/{case_id}/attachments/{meta['id']}", token=si)
            assert got.status == 200 and got.body == file.data
            assert got.headers["digest"] == b64_sha256(file.data)

        for status in ("SI_RECEIVED", "IN_PROGRESS", "DONE"):
            moved = await hub.call(
                "PATCH", f"{TD}/cases/{case_id}", token=si, json_body={"status": status}
            )
            assert moved.status == 204, moved.body
        event = await hub.call(
            "POST",
            f"{TD}/cases/{case_id}/events",
            token=si,
            json_body={
                "actionType": "STATUS_UPDATE",
                "caseNewStatus": "DONE",
                "message": "Décès enregistré",
                "comment": "interne",
                "notification": True,
            },
        )
        assert event.status == 201 and event.json()["status"] == "SENT"
        assert event.json()["caseCurrentStatus"] == "DONE"
        assert (
            await hub.call("DELETE", f"{TD}/notifications/{note['id']}", token=si)
        ).status == 204

        # The operator is notified of the event, reads it without the SI-internal comment.
        [back] = (await hub.call("GET", f"{TD}/notifications", token=dgs)).json()
        assert back["eventId"] == event.json()["id"]
        seen_event = (
            await hub.call("GET", f"{TD}/cases/{case_id}/events/{back['eventId']}", token=dgs)
        ).json()
        assert seen_event["message"] == "Décès enregistré" and seen_event["comment"] is None
        ack = await hub.call(
            "PATCH",
            f"{TD}/cases/{case_id}/events/{back['eventId']}",
            token=dgs,
            json_body={"status": "RECEIVED"},
        )
        assert ack.status == 204
        assert (
            await hub.call("DELETE", f"{TD}/notifications/{back['id']}", token=dgs)
        ).status == 204

        closed = await hub.call(
            "PATCH", f"{TD}/cases/{case_id}", token=dgs, json_body={"status": "CLOSED"}
        )
        assert closed.status == 204
        folder_closed = await hub.call(
            "PATCH",
            f"{TD}/folders/{folder['id']}",
            token=dgs,
            json_body={"globalStatus": "CLOSED", "closeDateTime": "2026-03-03T10:00:00Z"},
        )
        assert folder_closed.status == 204, folder_closed.body
        final = (await hub.call("GET", f"{TD}/folders/{folder['id']}", token=dgs)).json()
        assert final["globalStatus"] == "CLOSED" and final["closeDateTime"].startswith(
            "2026-03-03T10:00"
        )

        kinds = journal_kinds(hub)
        assert kinds.count("attachment.received") == 4
        for kind in (
            "folder.created",
            "case.status",
            "notification.created",
            "event.created",
            "event.status",
            "folder.status",
        ):
            assert kind in kinds

    hub_run(scenario)


def test_rsa_from_cnaf_with_an_additional_document(hub_run: Callable[..., None]) -> None:
    """CNAF → conseil départemental; the département asks for a document, CNAF deposits it."""

    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        cnaf, cd = world.tokens["cnaf"], world.tokens["cd93"]
        body = folder_body("RSABEI-RSABAI", "CNAF-RSABEI-42", world.cd93, RSA_FILES)
        folder = await deposit(hub, cnaf, body, RSA_FILES, override=True)
        [note] = (await hub.call("GET", f"{TD}/notifications", token=cd)).json()
        case_id = note["caseId"]
        case = (
            await hub.call("GET", f"{TD}/cases/{case_id}", token=cd, params=[("lite", "true")])
        ).json()
        assert "attachments" not in case and case["status"] == "SENT"
        for status in ("SI_RECEIVED", "IN_PROGRESS", "ADD_AWAITING"):
            assert (
                await hub.call(
                    "POST",
                    f"{TD}/cases/{case_id}",
                    token=cd,
                    json_body={"status": status},
                    headers={"X-HTTP-Method-Override": "PATCH"},
                )
            ).status == 204
        ask = await hub.call(
            "POST",
            f"{TD}/cases/{case_id}/events",
            token=cd,
            json_body={
                "actionType": "SENDING_MESSAGE",
                "message": "Merci de transmettre RSABAI",
                "notification": True,
            },
        )
        assert ask.status == 201

        # CNAF answers with an ATTACH_DEPOSIT event: IN_PROGRESS until its file is uploaded.
        [asked] = (await hub.call("GET", f"{TD}/notifications", token=cnaf)).json()
        assert asked["eventId"] == ask.json()["id"]
        deposit_event = await hub.call(
            "POST",
            f"{TD}/cases/{case_id}/events",
            token=cnaf,
            json_body={
                "actionType": "ATTACH_DEPOSIT",
                "notification": True,
                "message": "RSABAI",
                "attachments": [
                    {k: v for k, v in RSA_EXTRA.metadata([]).items() if k != "recipients"}
                ],
            },
        )
        assert deposit_event.status == 201
        event = deposit_event.json()
        assert event["status"] == "IN_PROGRESS"
        assert [
            n["eventId"] for n in (await hub.call("GET", f"{TD}/notifications", token=cd)).json()
        ] == [None]
        early = await hub.call(
            "PATCH",
            f"{TD}/cases/{case_id}/events/{event['id']}",
            token=cnaf,
            json_body={"status": "SENT"},
        )
        assert early.status == 400 and "event-attachments-first" in early.message
        att = event["attachments"][0]
        put = await hub.call(
            "PUT",
            f"{TD}/cases/{case_id}/events/{event['id']}/attachments/{att['id']}",
            token=cnaf,
            data=RSA_EXTRA.data,
            headers={
                "Content-Type": "application/octet-stream",
                "digest": b64_sha256(RSA_EXTRA.data),
            },
        )
        assert put.status == 204
        sent = (
            await hub.call("GET", f"{TD}/cases/{case_id}/events/{event['id']}", token=cd)
        ).json()
        assert sent["status"] == "SENT"
        notes = (
            await hub.call(
                "GET", f"{TD}/notifications", token=cd, params=[("eventDetails", "true")]
            )
        ).json()
        assert [(n["eventId"], n["eventStatus"]) for n in notes] == [
            (None, None),
            (event["id"], "SENT"),
        ]
        got = await hub.call(
            "GET", f"{TD}/cases/{case_id}/events/{event['id']}/attachments/{att['id']}", token=cd
        )
        assert got.body == RSA_EXTRA.data and got.headers["digest"] == b64_sha256(RSA_EXTRA.data)
        assert (
            await hub.call(
                "PATCH",
                f"{TD}/cases/{case_id}/events/{event['id']}",
                token=cd,
                json_body={"status": "RECEIVED"},
            )
        ).status == 204
        notes = (
            await hub.call(
                "GET", f"{TD}/notifications", token=cd, params=[("eventDetails", "true")]
            )
        ).json()
        assert notes[1]["eventStatus"] == "RECEIVED"
        for status in ("IN_PROGRESS", "REFUSED"):
            assert (
                await hub.call(
                    "PATCH", f"{TD}/cases/{case_id}", token=cd, json_body={"status": status}
                )
            ).status == 204
        full = (await hub.call("GET", f"{TD}/cases/{case_id}", token=cnaf)).json()
        assert full["status"] == "REFUSED"
        assert [e["actionType"] for e in full["events"]] == ["SENDING_MESSAGE", "ATTACH_DEPOSIT"]
        assert folder["processCode"] == "RSABEI-RSABAI"

    hub_run(scenario)


def test_dila_pacs_with_the_reference_si_client_flow(hub_run: Callable[..., None]) -> None:
    """DILA → commune, walked the way DINUM's SolutionSI script does it (events only)."""

    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dila, si = world.tokens["dila"], world.tokens["saint_denis_pacs"]
        body = folder_body("depotDossierPACS", "A-1-NGF8UV66", world.saint_denis, PACS_FILES)
        await deposit(hub, dila, body, PACS_FILES)
        loops = 0
        while notes := (
            await hub.call(
                "GET",
                f"{TD}/notifications",
                token=si,
                params=[("eventDetails", "true"), ("maxResult", "25")],
            )
        ).json():
            loops += 1
            assert loops < 5, "the SI client must drain its notifications"
            for note in notes:
                if note["eventId"] is None:
                    case = (await hub.call("GET", f"{TD}/cases/{note['caseId']}", token=si)).json()
                    for att in case["attachments"]:
                        got = await hub.call(
                            "GET", f"{TD}/cases/{case['id']}/attachments/{att['id']}", token=si
                        )
                        assert got.status == 200 and len(got.body) == att["size"]
                    for status in ("IN_PROGRESS", "DONE"):
                        made = await hub.call(
                            "POST",
                            f"{TD}/cases/{case['id']}/events",
                            token=si,
                            json_body={
                                "message": f"passage du télédossier à {status}",
                                "actionType": "STATUS_UPDATE",
                                "author": "me",
                                "notification": True,
                                "caseNewStatus": status,
                            },
                        )
                        assert made.status == 201, made.body
                    assert (
                        await hub.call("DELETE", f"{TD}/notifications/{note['id']}", token=si)
                    ).status == 204
        operator_notes = (await hub.call("GET", f"{TD}/notifications", token=dila)).json()
        assert len(operator_notes) == 2
        case_id = operator_notes[0]["caseId"]
        assert (await hub.call("GET", f"{TD}/cases/{case_id}", token=dila)).json()[
            "status"
        ] == "DONE"

    hub_run(scenario)
