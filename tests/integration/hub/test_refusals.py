"""Bad inputs over real HTTP: each is refused with the spec's error body, and leaves nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hubee.model import Scope, SubscriptionStatus
from tests.integration.hub.harness import Hub, b64_sha256
from tests.integration.hub.world import CERTDC_FILES, build_world, deposit, folder_body

TD = "/teledossiers/v1"


def stored_files(root: Path) -> list[Path]:
    """Every blob kept, or in transit, under the hub's blob store."""
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


def test_scopes_tokens_and_expiry(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        si = world.tokens["saint_denis_certdc"]
        body = folder_body("CERTDC", "DGS-1", world.saint_denis, CERTDC_FILES[:1])
        wrong = await hub.call("POST", f"{TD}/folders", token=si, json_body=body)
        assert wrong.status == 403 and "scope SI" in wrong.message
        osl_on_admin = await hub.call(
            "POST",
            "/referential/v1/organizations",
            token=world.tokens["dgs"],
            json_body={"type": "SI", "companyRegister": "21750056000019", "branchCode": "75056"},
        )
        assert osl_on_admin.status == 403

        missing = await hub.call("GET", f"{TD}/notifications")
        assert missing.status == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
        unknown = await hub.call("GET", f"{TD}/notifications", token="not-a-token")
        assert unknown.status == 401 and "unknown" in unknown.message

        fresh = await hub.call("GET", f"{TD}/notifications", token=si)
        assert fresh.status == 200
        hub.clock.advance(seconds=61)
        expired = await hub.call("GET", f"{TD}/notifications", token=si)
        assert expired.status == 401 and "expired" in expired.message

        client_id, secret = await hub.client(world.dgs, Scope.OSL, "CERTDC")
        bad_secret = await hub.token(client_id, secret + "x", "OSL")
        assert bad_secret.status == 401 and bad_secret.json()["error"] == "invalid_client"
        unknown_client = await hub.token("nobody", secret, "OSL")
        assert unknown_client.status == 401
        bad_scope = await hub.token(client_id, secret, "ADMIN")
        assert bad_scope.status == 400 and bad_scope.json()["error"] == "invalid_scope"
        good = await hub.token(client_id, secret)
        assert good.status == 200 and good.json()["expires_in"] == 60
        assert good.json()["scope"] == "OSL" and good.headers["Cache-Control"] == "no-store"

    hub_run(scenario, token_ttl=timedelta(seconds=60))


def test_other_organizations_cases_are_not_found(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        body = folder_body("CERTDC", "DGS-2", world.saint_denis, CERTDC_FILES[:1])
        folder = await deposit(hub, world.tokens["dgs"], body, CERTDC_FILES[:1])
        case_id = folder["cases"][0]["id"]
        att_id = folder["attachments"][0]["id"]
        other_commune = world.tokens["montreuil_certdc"]
        same_org_other_process = world.tokens["saint_denis_pacs"]
        other_operator = world.tokens["cnaf"]
        for token in (other_commune, same_org_other_process, other_operator):
            for path in (f"{TD}/cases/{case_id}", f"{TD}/cases/{case_id}/attachments/{att_id}"):
                reply = await hub.call("GET", path, token=token)
                assert reply.status == 404, (path, reply.body)
            patch = await hub.call(
                "PATCH", f"{TD}/cases/{case_id}", token=token, json_body={"status": "SENT"}
            )
            assert patch.status == 404
        assert (
            await hub.call("GET", f"{TD}/folders/{folder['id']}", token=other_operator)
        ).status == 404
        assert (await hub.call("GET", f"{TD}/notifications", token=other_commune)).json() == []
        # The recipient still sees it, untouched by the attempts.
        mine = await hub.call(
            "GET", f"{TD}/cases/{case_id}", token=world.tokens["saint_denis_certdc"]
        )
        assert mine.status == 200 and mine.json()["status"] == "SENT"

    hub_run(scenario)


def test_oversized_and_corrupt_uploads_leave_nothing(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dgs = world.tokens["dgs"]
        big = folder_body("CERTDC", "DGS-3", world.saint_denis, CERTDC_FILES[:1])
        big["attachments"][0]["size"] = 5000
        too_big = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=big)
        assert too_big.status == 413 and "attachments[0].size" in too_big.message

        data = b"%PDF-1.4 certificat\n" * 10
        body = folder_body("CERTDC", "DGS-4", world.saint_denis, CERTDC_FILES[:1])
        body["attachments"][0]["size"] = len(data)
        folder = (await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)).json()
        url = f"{TD}/folders/{folder['id']}/attachments/{folder['attachments'][0]['id']}"
        octet = {"Content-Type": "application/octet-stream"}

        oversized = await hub.call("PUT", url, token=dgs, data=os.urandom(4000), headers=octet)
        assert oversized.status == 413
        mismatch = await hub.call(
            "PUT", url, token=dgs, data=data, headers={**octet, "digest": b64_sha256(data + b"!")}
        )
        assert mismatch.status == 400 and "@digest" in mismatch.message
        shorter = await hub.call("PUT", url, token=dgs, data=data[:-1], headers=octet)
        assert shorter.status == 400 and "Content-Length" in shorter.message

        async def chunks() -> object:
            yield data
            yield b"one byte too many"

        async with hub.session.put(
            url, data=chunks(), headers={**octet, "Authorization": f"Bearer {dgs}"}
        ) as streamed:
            assert streamed.status == 400
            assert "declared size" in (await streamed.json())["errors"][0]["message"]
        bad_digest = await hub.call(
            "PUT", url, token=dgs, data=data, headers={**octet, "digest": "abc"}
        )
        assert bad_digest.status == 400

        assert stored_files(hub.settings.data_dir) == []
        seen = (await hub.call("GET", f"{TD}/folders/{folder['id']}", token=dgs)).json()
        assert seen["attachments"][0]["status"] == "PENDING"

        good = await hub.call(
            "PUT", url, token=dgs, data=data, headers={**octet, "digest": b64_sha256(data)}
        )
        assert good.status == 204
        assert len(stored_files(hub.settings.data_dir)) == 1
        again = await hub.call("PUT", url, token=dgs, data=data, headers=octet)
        assert again.status == 204
        other = await hub.call("PUT", url, token=dgs, data=data.upper(), headers=octet)
        assert other.status == 409
        assert len(stored_files(hub.settings.data_dir)) == 1

    hub_run(scenario, max_attachment_bytes=1000)


def test_malformed_requests_name_the_field(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dgs = world.tokens["dgs"]
        broken = await hub.call(
            "POST",
            f"{TD}/folders",
            token=dgs,
            data=b'{"processCode": "CERTDC",',
            headers={"Content-Type": "application/json"},
        )
        assert broken.status == 400 and "@body" in broken.message
        assert broken.message.startswith("Bad Request : Validation failed.")
        body = folder_body("CERTDC", "DGS-5", world.saint_denis, CERTDC_FILES[:1])
        del body["applicant"]["lastName"]
        no_name = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        assert no_name.status == 400 and "@applicant.lastName" in no_name.message
        body = folder_body("CERTDC", "DGS-5", world.saint_denis, CERTDC_FILES[:1])
        body["cases"][0]["recipient"]["companyRegister"] = "2193006620001"
        short_siret = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        assert short_siret.status == 400
        assert "@cases[0].recipient.companyRegister" in short_siret.message
        body = folder_body("CERTDC", "DGS-5", world.saint_denis, CERTDC_FILES[:1])
        body["attachments"][0]["recipients"] = ["nobody"]
        stray = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        assert stray.status == 400 and "@attachments[0].recipients" in stray.message
        body["attachments"][0]["size"] = "12"
        typed = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        assert typed.status == 400 and "@attachments[0].size" in typed.message
        bad_uuid = await hub.call("GET", f"{TD}/folders/dddddd", token=dgs)
        assert (
            bad_uuid.status == 400
            and 'Input string "dddddd" is not a valid UUID' in bad_uuid.message
        )
        bad_max = await hub.call(
            "GET", f"{TD}/notifications", token=dgs, params=[("maxResult", "many")]
        )
        assert bad_max.status == 400 and "@query.maxResult" in bad_max.message
        folder = (
            await hub.call(
                "POST",
                f"{TD}/folders",
                token=dgs,
                json_body=folder_body("CERTDC", "DGS-6", world.saint_denis, CERTDC_FILES[:1]),
            )
        ).json()
        no_override = await hub.call(
            "POST",
            f"{TD}/folders/{folder['id']}",
            token=dgs,
            json_body={"globalStatus": "HUBEE_COMPLETED"},
        )
        assert no_override.status == 405
        unknown_status = await hub.call(
            "PATCH",
            f"{TD}/folders/{folder['id']}",
            token=dgs,
            json_body={"globalStatus": "FINISHED"},
        )
        assert unknown_status.status == 400 and "@globalStatus" in unknown_status.message
        missing_route = await hub.call("GET", f"{TD}/nothing-here", token=dgs)
        assert missing_route.status == 404

    hub_run(scenario)


def test_file_names_cannot_traverse_paths(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dgs = world.tokens["dgs"]
        body = folder_body("CERTDC", "DGS-7", world.saint_denis, CERTDC_FILES[:2])
        body["attachments"][0]["fileName"] = "../../../../etc/passwd"
        body["attachments"][1]["fileName"] = "..\\..\\windows\\boot\u0000.ini"
        folder = await deposit(hub, dgs, body, CERTDC_FILES[:2])
        assert [a["fileName"] for a in folder["attachments"]] == ["passwd", "boot.ini"]
        case_id = folder["cases"][0]["id"]
        si = world.tokens["saint_denis_certdc"]
        got = await hub.call(
            "GET", f"{TD}/cases/{case_id}/attachments/{folder['attachments'][0]['id']}", token=si
        )
        assert 'filename="passwd"' in got.headers["Content-Disposition"]
        for blob in stored_files(hub.settings.data_dir):
            assert blob.resolve().is_relative_to(hub.settings.data_dir.resolve())
        dots = folder_body("CERTDC", "DGS-8", world.saint_denis, CERTDC_FILES[:1])
        dots["attachments"][0]["fileName"] = "a/.."
        refused = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=dots)
        assert refused.status == 400 and "@attachments[0].fileName" in refused.message

    hub_run(scenario)


def test_illegal_transitions_name_their_rule(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dgs, si = world.tokens["dgs"], world.tokens["saint_denis_certdc"]
        body = folder_body("CERTDC", "DGS-9", world.saint_denis, CERTDC_FILES[:1])
        created = (await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)).json()
        url = f"{TD}/folders/{created['id']}"
        early = await hub.call(
            "PATCH", url, token=dgs, json_body={"globalStatus": "HUBEE_COMPLETED"}
        )
        assert early.status == 400 and "attachments-first" in early.message
        skip = await hub.call("PATCH", url, token=dgs, json_body={"globalStatus": "DONE"})
        assert skip.status == 400 and "folder-complete-first" in skip.message

        folder = await deposit(
            hub,
            dgs,
            folder_body("CERTDC", "DGS-10", world.saint_denis, CERTDC_FILES[:1]),
            CERTDC_FILES[:1],
        )
        case_url = f"{TD}/cases/{folder['cases'][0]['id']}"
        unfetched = await hub.call("PATCH", case_url, token=si, json_body={"status": "IN_PROGRESS"})
        assert unfetched.status == 400 and "si-fetch-first" in unfetched.message
        await hub.call("GET", case_url, token=si)
        osl_moves = await hub.call("PATCH", case_url, token=dgs, json_body={"status": "DONE"})
        assert osl_moves.status == 400 and "osl-moves" in osl_moves.message
        si_closes = await hub.call("PATCH", case_url, token=si, json_body={"status": "CLOSED"})
        assert si_closes.status == 400 and "osl-closes" in si_closes.message
        assert (
            await hub.call("PATCH", case_url, token=si, json_body={"status": "DONE"})
        ).status == 204
        back = await hub.call("PATCH", case_url, token=si, json_body={"status": "IN_PROGRESS"})
        assert back.status == 400 and "decision-is-final" in back.message
        early_close = await hub.call(
            "PATCH", f"{TD}/folders/{folder['id']}", token=dgs, json_body={"globalStatus": "CLOSED"}
        )
        assert early_close.status == 400 and "folder-follows-cases" in early_close.message
        delete = await hub.call("DELETE", f"{TD}/folders/{folder['id']}", token=dgs)
        assert delete.status == 400 and "delete-before-complete" in delete.message
        event = (
            await hub.call(
                "POST",
                f"{case_url}/events",
                token=dgs,
                json_body={"actionType": "SENDING_MESSAGE", "message": "hello"},
            )
        ).json()
        self_ack = await hub.call(
            "PATCH", f"{case_url}/events/{event['id']}", token=dgs, json_body={"status": "RECEIVED"}
        )
        assert self_ack.status == 400 and "event-ack-by-recipient" in self_ack.message
        gone = await hub.call("DELETE", f"{case_url}/events/{event['id']}", token=dgs)
        assert gone.status == 400 and "event-delete-deposit-in-progress" in gone.message
        # The operator may reopen a decided case.
        assert (
            await hub.call("PATCH", case_url, token=dgs, json_body={"status": "IN_PROGRESS"})
        ).status == 204
        # A folder with nothing delivered can be deleted, and its blobs go with it.
        assert (await hub.call("DELETE", url, token=dgs)).status == 204
        assert (await hub.call("GET", url, token=dgs)).status == 404

    hub_run(scenario)


def test_completion_needs_active_subscriptions(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub, subscribe=False)
        sub_id = await hub.subscribe("CERTDC", world.saint_denis, activate=False)
        dgs = world.tokens["dgs"]
        body = folder_body("CERTDC", "DGS-11", world.saint_denis, CERTDC_FILES[:1])
        folder = await deposit(hub, dgs, body, CERTDC_FILES[:1], complete=False)
        url = f"{TD}/folders/{folder['id']}"
        refused = await hub.call(
            "PATCH", url, token=dgs, json_body={"globalStatus": "HUBEE_COMPLETED"}
        )
        assert refused.status == 400
        assert (
            "21930066200016/93066 (Commune de Saint-Denis) is not subscribed (Actif)"
            in refused.message
        )
        assert "Inactif" in refused.message
        await hub.services.directory.set_subscription_status(sub_id, SubscriptionStatus.ACTIVE)
        assert (
            await hub.call("PATCH", url, token=dgs, json_body={"globalStatus": "HUBEE_COMPLETED"})
        ).status == 204
        # A retried completion answers as the first and notifies nobody twice.
        assert (
            await hub.call("PATCH", url, token=dgs, json_body={"globalStatus": "HUBEE_COMPLETED"})
        ).status == 204
        notes = (
            await hub.call("GET", f"{TD}/notifications", token=world.tokens["saint_denis_certdc"])
        ).json()
        assert len(notes) == 1

    hub_run(scenario)


def test_folder_creation_is_idempotent(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub)
        dgs = world.tokens["dgs"]
        body = folder_body("CERTDC", "DGS-12", world.saint_denis, CERTDC_FILES)
        first = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        again = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        assert first.status == again.status == 201
        assert first.json() == again.json()
        body["applicant"]["firstName"] = "Dominique"
        other = await hub.call("POST", f"{TD}/folders", token=dgs, json_body=body)
        assert other.status == 409 and first.json()["id"] in other.message

    hub_run(scenario)
