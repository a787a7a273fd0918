"""The IT dashboard over HTTP, against a real gateway runtime (real SQLite, the LAN app
on loopback): the admin role, CSRF, secrets shown once and working, revocation,
« Relancer », users, the journal verifier, and an audit entry for each action."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any

import aiohttp

from gateway.console.accounts import Role
from gateway.runtime import GatewayRuntime
from gateway.settings_tasks import WatchedFolder
from gateway.tables import GatewayTables
from hubee.store import StoreTx
from tests.integration.console.support import Browser, Console, Page, offline_console

ADMIN_PAGES = (
    "/console/admin",
    "/console/admin/flux",
    "/console/admin/journal",
    "/console/admin/clients",
    "/console/admin/statistiques",
)
_SECRET = re.compile(r'<code id="secret">([^<]+)</code>')
_IDENT = re.compile(r'<code id="identifiant">([^<]+)</code>')


async def _token_status(base: str, client_id: str, secret: str) -> int:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/token",
            headers={"Authorization": f"Basic {basic}"},
            data={"grant_type": "client_credentials", "scope": "SI"},
        ) as r,
    ):
        return r.status


async def _journal(runtime: GatewayRuntime) -> list[dict[str, Any]]:
    """Every entry of the Merkle journal, once the journal outbox is drained into it."""
    runtime.drain.poke()
    await runtime.drain.wait_drained()
    size = await runtime.journal.size()
    return [json.loads(e) for e in await runtime.journal.entries(0, size)]


def _facts(entries: list[dict[str, Any]]) -> set[str]:
    return {str(e["data"].get("fact")) for e in entries}


async def _admin(console: Console) -> Browser:
    await console.add_user("dsi", role=Role.ADMIN)
    browser = console.browser()
    await browser.sign_in("dsi")
    return browser


async def _verify(admin: Browser) -> Page:
    started = await admin.post("/console/admin/journal/verifier", {})
    assert "Vérification du journal lancée" in started.text
    for _ in range(400):
        page = await admin.get("/console/admin/journal")
        if "Vérifier maintenant" in page.text:  # the button is back: done
            return page
        await asyncio.sleep(0.05)
    raise AssertionError("the journal verification did not finish")


def test_admin_pages_need_the_admin_role(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            anonymous = console.browser()
            agent = console.browser()
            try:
                for path in ADMIN_PAGES:
                    page = await anonymous.get(path)
                    assert "/console/connexion" in page.url, path
                await agent.sign_in("marie")
                for path in ADMIN_PAGES:
                    page = await agent.get(path)
                    assert page.status == 403 and "Accès refusé" in page.text, path
                    assert "Traceback" not in page.text
                posted = await agent.post("/console/admin/clients/ajouter", {"name": "x"})
                assert posted.status == 403
                admin = await _admin(console)
                for path in ADMIN_PAGES:
                    page = await admin.get(path)
                    assert page.status == 200, (path, page.text[-500:])
                    assert 'aria-current="page"' in page.text
                await admin.close()
            finally:
                await anonymous.close()
                await agent.close()

    asyncio.run(main())


def test_clients_added_reset_and_revoked_with_secrets_shown_once(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            admin = await _admin(console)
            try:
                forged = await admin.post(
                    "/console/admin/clients/ajouter",
                    {"name": "logiciel-ec", "process": "CERTDC"},
                    csrf="forged",
                )
                assert forged.status == 403
                listing = await admin.get("/console/admin/clients")
                assert "logiciel-ec" not in listing.text
                bad = await admin.post(
                    "/console/admin/clients/ajouter", {"name": "a b", "process": "CERTDC"}
                )
                assert "Client non créé" in bad.text
                made = await admin.post(
                    "/console/admin/clients/ajouter", {"name": "logiciel-ec", "process": "CERTDC"}
                )
                assert made.status == 200 and "Client créé" in made.text
                assert made.headers["Cache-Control"] == "no-store"
                client_id, secret = _IDENT.findall(made.text)[0], _SECRET.findall(made.text)[0]
                assert await _token_status(console.base, client_id, secret) == 200
                listing = await admin.get("/console/admin/clients")
                assert "logiciel-ec" in listing.text and secret not in listing.text
                reset = await admin.post(f"/console/admin/clients/{client_id}/secret", {})
                fresh = _SECRET.findall(reset.text)[0]
                assert fresh != secret
                assert await _token_status(console.base, client_id, secret) == 401
                assert await _token_status(console.base, client_id, fresh) == 200
                gone = await admin.post(f"/console/admin/clients/{client_id}/revoquer", {})
                assert "est révoqué" in gone.text
                assert await _token_status(console.base, client_id, fresh) == 401
                again = await admin.post(f"/console/admin/clients/{client_id}/revoquer", {})
                assert again.status == 404
                entries = await _journal(console.runtime)
                facts = _facts(entries)
                for fact in (
                    "action.admin.client.add",
                    "action.admin.client.reset_secret",
                    "action.admin.client.revoke",
                    "client.revoked",
                ):
                    assert fact in facts, (fact, facts)
                dumped = json.dumps(entries)
                assert secret not in dumped and fresh not in dumped
            finally:
                await admin.close()

    asyncio.run(main())


def test_retry_a_failed_item_and_manage_users(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            runtime = console.runtime

            def failed(tx: StoreTx) -> None:
                GatewayTables.of(tx).conn.execute(
                    "INSERT INTO gw_link_outbox (kind, lane, idem, payload, state, attempts, "
                    "next_at, last_error, created_at, done_at) VALUES ('push_status', "
                    "'folder-1', 'k1', '{}', 'failed', 3, 0, 'HTTP 409: statut refusé', "
                    "'2026-11-20T10:00:00Z', '2026-11-20T10:01:00Z')"
                )

            await runtime.store.write(failed)
            admin = await _admin(console)
            try:
                flows = await admin.get("/console/admin/flux")
                assert "HTTP 409: statut refusé" in flows.text and "Relancer" in flows.text
                item = re.findall(r"/console/admin/flux/relancer/(\d+)", flows.text)[0]
                done = await admin.post(f"/console/admin/flux/relancer/{item}", {})
                assert f"L'envoi n° {item} est relancé" in done.text

                def state(tx: StoreTx) -> tuple[str, int]:
                    row = (
                        GatewayTables.of(tx)
                        .conn.execute(
                            "SELECT state, attempts FROM gw_link_outbox WHERE id = ?", (int(item),)
                        )
                        .fetchone()
                    )
                    return str(row[0]), int(row[1])

                assert await runtime.store.read(state) == ("pending", 0)
                twice = await admin.post(f"/console/admin/flux/relancer/{item}", {})
                assert "rien à relancer" in twice.text
                # Users: created with a password shown once that signs in; reset; disabled.
                made = await admin.post(
                    "/console/admin/utilisateurs/ajouter",
                    {
                        "login": "paul",
                        "name": "Paul Martin",
                        "role": "agent",
                        "processes": "CERTDC",
                    },
                )
                password = _SECRET.findall(made.text)[0]
                paul = console.browser()
                signed = await paul.sign_in("paul", password)
                assert signed.url.endswith("/console/dossiers")
                reset = await admin.post("/console/admin/utilisateurs/paul/mot-de-passe", {})
                new_password = _SECRET.findall(reset.text)[0]
                assert "/console/connexion" in (await paul.get("/console/dossiers")).url
                await paul.close()
                off = await admin.post("/console/admin/utilisateurs/paul/desactiver", {})
                assert "est désactivé" in off.text
                self_off = await admin.post("/console/admin/utilisateurs/dsi/desactiver", {})
                assert "votre propre compte" in self_off.text
                paul = console.browser()
                refused = await paul.sign_in("paul", new_password)
                assert "/console/connexion" in refused.url
                await paul.close()
                # The journal verifier runs in the background and reports its verdict:
                # entries under no signed checkpoint fail it; once signed, it passes.
                page = await _verify(admin)
                assert "PAS passé la vérification" in page.text and "is signed" in page.text
                await _journal(runtime)
                await runtime.checkpoints.maybe_checkpoint(force=True)
                page = await _verify(admin)
                assert "Journal intègre" in page.text, page.text
                facts = _facts(await _journal(runtime))
                assert {
                    "action.admin.retry",
                    "action.admin.user.add",
                    "action.admin.user.reset_password",
                    "action.admin.user.disable",
                    "action.admin.journal.verify",
                } <= facts
                dumped = json.dumps(await _journal(runtime))
                assert password not in dumped and new_password not in dumped
            finally:
                await admin.close()

    asyncio.run(main())


def test_retry_a_watched_folders_failed_dossier(tmp_path: Path) -> None:
    watched = WatchedFolder(
        process="CERTDC",
        root=tmp_path / "watch",
        side="OSL",
        client_id="logiciel",
        client_secret_file=tmp_path / "secret",
    )
    failed = tmp_path / "watch" / "FAILED"
    (failed / "deces-42").mkdir(parents=True)
    (tmp_path / "watch" / "OUT").mkdir()
    (failed / "deces-42" / "acte.pdf").write_bytes(b"%PDF-1.4 test")
    (failed / "deces-42.error").write_text(
        "Dossier: deces-42\nFailed at: 2026-11-20T10:00:00Z\n"
        "Reason: the gateway refused to complete the folder: not subscribed\n"
        "What to do: Fix the dossier, then move its folder back into OUT/.\n",
        "utf-8",
    )

    async def main() -> None:
        async with offline_console(tmp_path / "gw", folders=(watched,)) as console:
            admin = await _admin(console)
            try:
                flows = await admin.get("/console/admin/flux")
                assert "the gateway refused to complete the folder: not subscribed" in flows.text
                path = "/console/admin/flux/dossiers/CERTDC/deces-42/relancer"
                assert path in flows.text
                sneaky = await admin.post(
                    "/console/admin/flux/dossiers/CERTDC/..%2FOUT/relancer", {}
                )
                assert sneaky.status == 404
                other = await admin.post("/console/admin/flux/dossiers/RSA/deces-42/relancer", {})
                assert other.status == 404
                done = await admin.post(path, {})
                assert "Le dossier deces-42 est remis dans OUT/" in done.text
                assert (tmp_path / "watch" / "OUT" / "deces-42" / "acte.pdf").read_bytes() == (
                    b"%PDF-1.4 test"
                )
                assert not (failed / "deces-42").exists()
                assert not (failed / "deces-42.error").exists()
                assert "Aucun dossier déposé en échec" in done.text
                assert "action.admin.folder.retry" in _facts(await _journal(console.runtime))
            finally:
                await admin.close()

    asyncio.run(main())
