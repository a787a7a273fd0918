"""``/referential/v1``: subscriptions as in the spec, and the admin extras."""

from __future__ import annotations

from collections.abc import Callable

from hubee.model import Scope
from tests.integration.hub.harness import Hub

REF = "/referential/v1"


def test_admin_opens_a_commune_to_a_demarche(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        dinum = await hub.org("ADMIN", "13002526500013", "DINUM", "DINUM")
        admin = await hub.login(dinum, Scope.ADMIN, None)
        commune = {"type": "SI", "companyRegister": "21930066200016", "branchCode": "93066"}
        made = await hub.call(
            "POST",
            f"{REF}/organizations",
            token=admin,
            json_body={**commune, "name": "Saint-Denis"},
        )
        assert made.status == 201 and made.json()["name"] == "Saint-Denis"
        assert (
            await hub.call("POST", f"{REF}/organizations", token=admin, json_body=commune)
        ).status == 409
        dgs = {"type": "OSL", "companyRegister": "11000201100044", "branchCode": "DGS"}
        assert (
            await hub.call("POST", f"{REF}/organizations", token=admin, json_body=dgs)
        ).status == 201
        process = await hub.call(
            "POST",
            f"{REF}/processes",
            token=admin,
            json_body={
                "code": "CERTDC",
                "name": "Certificat de décès",
                "osl": dgs,
                "timeBeforeFileDeletion": 30,
                "timeBeforeArchiving": 30,
                "timeBeforeFolderDeletion": 365,
                "attachmentMaxSizeEnabled": 10485760,
            },
        )
        assert process.status == 201 and process.json()["statusBeforeFileDeletion"] == "SI_RECEIVED"
        listed = await hub.call("GET", f"{REF}/processes/CERTDC", token=admin)
        assert listed.json()["attachmentMaxSizeEnabled"] == 10485760

        subscription = {
            "datapassId": 14632,
            "processCode": "CERTDC",
            "subscriber": commune,
            "notificationFrequency": "unitaire",
            "accessMode": "API",
            "localAdministrator": {"email": "george.dubois@ville-saint-denis.fr"},
        }
        bad = await hub.call(
            "POST",
            f"{REF}/subscriptions",
            token=admin,
            json_body={**subscription, "localAdministrator": {"email": "george"}},
        )
        assert bad.status == 400 and "localAdministrator.email" in bad.message
        created = await hub.call(
            "POST", f"{REF}/subscriptions", token=admin, json_body=subscription
        )
        assert created.status == 201 and created.checked == "spec"
        sub = created.json()
        assert sub["status"] == "Inactif" and sub["activateDateTime"] is None
        url = f"{REF}/subscriptions/{sub['id']}"
        active = await hub.call(
            "GET",
            f"{REF}/subscriptions",
            token=admin,
            params=[("processCode", "CERTDC"), ("status", "Actif")],
        )
        assert active.json() == []
        put = await hub.call("PUT", url, token=admin, json_body={**subscription, "status": "Actif"})
        assert (
            put.status == 200 and put.json()["status"] == "Actif" and put.json()["activateDateTime"]
        )
        active = await hub.call(
            "GET",
            f"{REF}/subscriptions",
            token=admin,
            params=[("processCode", "CERTDC"), ("status", "Actif")],
        )
        assert [s["id"] for s in active.json()] == [sub["id"]]
        assert active.headers["Content-Range"] == "Subscriptions 0-0/1"
        back = await hub.call(
            "PUT", url, token=admin, json_body={**subscription, "status": "Inactif"}
        )
        assert back.status == 400 and "subscription-lifecycle" in back.message
        moved = await hub.call(
            "PUT", url, token=admin, json_body={**subscription, "processCode": "OTHER"}
        )
        assert moved.status == 400 and "@processCode" in moved.message

        client = await hub.call(
            "POST",
            f"{REF}/clients",
            token=admin,
            json_body={"organization": dgs, "scope": "OSL", "processCode": "CERTDC"},
        )
        assert client.status == 201
        token = await hub.token(client.json()["clientId"], client.json()["clientSecret"], "OSL")
        operator = token.json()["access_token"]
        seen = await hub.call("GET", f"{REF}/subscriptions", token=operator)
        assert [s["subscriber"]["branchCode"] for s in seen.json()] == ["93066"]
        assert (await hub.call("GET", url, token=operator)).json()["status"] == "Actif"
        other = await hub.call(
            "GET", f"{REF}/subscriptions", token=operator, params=[("processCode", "RSA")]
        )
        assert other.json() == []
        assert (await hub.call("PUT", url, token=operator, json_body=subscription)).status == 403
        si_client = await hub.call(
            "POST",
            f"{REF}/clients",
            token=admin,
            json_body={"organization": commune, "scope": "SI", "processCode": "CERTDC"},
        )
        si = (
            await hub.token(si_client.json()["clientId"], si_client.json()["clientSecret"])
        ).json()
        assert (
            await hub.call("GET", f"{REF}/subscriptions", token=si["access_token"])
        ).status == 403
        assert (await hub.call("GET", "/healthz")).json() == {"status": "ok"}
        assert (await hub.call("GET", "/readyz")).json() == {"status": "ready"}

    hub_run(scenario)
