"""The console in a real browser: Debian's chromium driven by Playwright, against a real
hub and two real gateways on loopback (tests/integration/gateway/world.py).

The DGS's software deposits the CERTDC sample on its gateway; at Saint-Denis an agent
signs in, opens the dossier, downloads an attachment, takes it in hand and finishes it
with a message, and the DGS's software sees the status through its gateway's HubEE API.
An admin goes through every dashboard page and adds a LAN client, whose secret then
opens a token. axe-core audits every page visited (no serious or critical violation);
the results go to ``artifacts/axe-results.json`` and screenshots to ``artifacts/``.

One test, one file: the suite's ``--dist loadfile`` keeps it on one worker.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from gateway.console.accounts import Accounts, Role, roles_of
from hubee.model import Scope
from hubee.sqlite_store import sqlite_connection
from hubee.store import StoreTx
from tests.browser.axe import AxeReport
from tests.integration.gateway.world import SAINT_DENIS, Gw, eventually, lan_client, world
from tests.unit.gateway.support import SAMPLES, LanClient, certdc_folder, deposit

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "mot de passe de test 2026"
FOLDER_NUMBER = "ER20260000042"
CLOSING = "Acte de décès transcrit au registre le jour même."


async def _accounts(gw: Gw) -> None:
    accounts = Accounts(gw.runtime.store)
    now = datetime.now(UTC)
    await accounts.add(
        "c.durand",
        display_name="Claire Durand",
        email="c.durand@saint-denis.example.fr",
        roles=roles_of(Role.AGENT, ["CERTDC"]),
        password=PASSWORD,
        now=now,
    )
    await accounts.add(
        "dsi",
        display_name="Service informatique",
        email=None,
        roles=roles_of(Role.ADMIN, []),
        password=PASSWORD,
        now=now,
    )


async def _cases_in(gw: Gw) -> int:
    def count(tx: StoreTx) -> int:
        row = (
            sqlite_connection(tx)
            .execute("SELECT count(*) FROM gw_cases WHERE direction = 'in'")
            .fetchone()
        )
        return int(row[0])

    return int(await gw.runtime.store.read(count))


class Visit:
    """Every page visited is audited by axe and may be photographed."""

    def __init__(self, page: Page, axe: AxeReport) -> None:
        self.page = page
        self.axe = axe

    async def check(self, name: str, *, shot: bool = True) -> None:
        await self.page.wait_for_load_state("load")
        await self.axe.audit(self.page, name)
        if shot:
            await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    async def sign_in(self, base: str, login: str, *, audit_as: str | None = None) -> None:
        page = self.page
        await page.goto(f"{base}/console/connexion")
        if audit_as:
            await self.check(audit_as)
        await page.get_by_label("Identifiant").fill(login)
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await page.wait_for_load_state("load")

    async def sign_out(self) -> None:
        await self.page.get_by_role("button", name="Se déconnecter").click()
        await self.page.wait_for_load_state("load")


async def _agent(visit: Visit, si: Gw, dgs: LanClient, folder: dict[str, Any]) -> None:
    page = visit.page
    await visit.sign_in(si.base, "c.durand", audit_as="connexion")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Dossiers")
    await visit.check("dossiers")
    await page.get_by_role("link", name=re.compile(FOLDER_NUMBER)).first.click()
    await page.wait_for_load_state("load")
    await visit.check("dossier")
    # Download an attachment: the very bytes the DGS deposited.
    async with page.expect_download() as info:
        await page.get_by_role("link", name=re.compile("^Télécharger")).first.click()
    download = await info.value
    got = Path(await download.path()).read_bytes()
    assert got == (SAMPLES / "CERTDC" / download.suggested_filename).read_bytes()
    # Take it in hand, then finish it with a message.
    await page.get_by_role("button", name="Prendre en charge").click()
    await page.wait_for_load_state("load")
    await visit.check("dossier-pris-en-charge", shot=False)
    await page.locator("#message-fin").fill(CLOSING)
    await page.get_by_role("button", name="Terminer (traité)").click()
    await page.wait_for_load_state("load")
    await visit.check("dossier-traite")
    # The operator's software sees the status (and the message) through its gateway.
    local_case = folder["cases"][0]["id"]

    async def done_at_dgs() -> dict[str, Any] | None:
        view: dict[str, Any] = (
            await dgs.call("GET", f"/teledossiers/v1/cases/{local_case}")
        ).json()
        return view if view.get("status") == "DONE" else None

    view = await eventually(done_at_dgs, timeout=60, what="DONE at the DGS")
    messages = [e.get("message") or "" for e in view.get("events", [])]
    assert any(CLOSING in m for m in messages), messages
    # « Preuve » and « Mes notifications ».
    await page.get_by_role("link", name=re.compile("^Preuve")).click()
    await page.wait_for_load_state("load")
    await visit.check("preuve")
    await page.get_by_role("link", name="Mes notifications").click()
    await page.get_by_text("Un récapitulatif par jour").click()  # DSFR: the label covers the radio
    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_load_state("load")
    await expect(page.get_by_label("Un récapitulatif par jour")).to_be_checked()
    await visit.check("mes-notifications", shot=False)
    # An agent is no admin: the dashboard answers with the 403 page.
    await page.goto(f"{si.base}/console/admin/flux")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    await visit.check("erreur-403-agent", shot=False)
    await visit.sign_out()


async def _admin(visit: Visit, si: Gw, session: aiohttp.ClientSession) -> None:
    page = visit.page
    await visit.sign_in(si.base, "dsi")
    for path, name, heading in (
        ("admin", "admin-sante", "Santé de la passerelle"),
        ("admin/flux", "admin-flux", "Files d'attente"),
        ("admin/journal", "admin-journal", "Journal de la passerelle"),
        ("admin/clients", "admin-clients", "Clients du réseau local"),
        ("admin/statistiques", "admin-statistiques", "Dossiers reçus par semaine"),
    ):
        await page.goto(f"{si.base}/console/{path}")
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await visit.check(name)
    # Add a LAN client: its secret is shown once, and it opens a token on the LAN API.
    await page.goto(f"{si.base}/console/admin/clients")
    await page.get_by_label("Nom du client").fill("logiciel-etat-civil")
    await page.locator("#client-process").fill("CERTDC")
    await page.get_by_role("button", name="Créer le client").click()
    await page.wait_for_load_state("load")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Client créé")
    await visit.check("admin-client-cree", shot=False)
    client_id = await page.locator("#identifiant").inner_text()
    secret = await page.locator("#secret").inner_text()
    software = LanClient(session, si.base)
    await software.login(client_id, secret, "SI")
    await page.get_by_role("link", name="J'ai noté, revenir à la liste").click()
    await page.wait_for_load_state("load")
    await expect(page.get_by_role("cell", name="logiciel-etat-civil", exact=True)).to_be_visible()
    assert secret not in await page.content()
    # Verify the journal now: the page follows the verifier until it is done.
    await page.goto(f"{si.base}/console/admin/journal")
    await page.get_by_role("button", name="Vérifier maintenant").click()
    await expect(page.get_by_text("Journal intègre")).to_be_visible(timeout=30_000)
    await visit.check("admin-journal-verifie", shot=False)
    # Error pages: unknown page, a forged form (no CSRF token).
    await page.goto(f"{si.base}/console/nulle-part")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    await visit.check("erreur-404", shot=False)
    await page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post';
        f.action = '/console/admin/clients/ajouter'; document.body.appendChild(f); f.submit(); }"""
    )
    await page.wait_for_load_state("load")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    await visit.check("erreur-403", shot=False)
    await page.goto(f"{si.base}/console/admin")
    await visit.sign_out()


async def _browser_run(browser: Browser, hub: Any, osl: Gw, si: Gw, session: Any) -> None:
    dgs = await lan_client(osl, session, name="logiciel-dgs", process="CERTDC", scope=Scope.OSL)
    recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
    folder = await deposit(dgs, *certdc_folder(recipient, FOLDER_NUMBER))

    async def arrived() -> bool:
        return await _cases_in(si) == 1

    await eventually(arrived, timeout=60, what="the CERTDC dossier at Saint-Denis")
    axe = AxeReport()
    context = await browser.new_context(
        bypass_csp=True,
        accept_downloads=True,
        locale="fr-FR",
        viewport={"width": 1280, "height": 900},
    )
    try:
        visit = Visit(await context.new_page(), axe)
        await _agent(visit, si, dgs, folder)
        await _admin(visit, si, session)
    finally:
        axe.write(ARTIFACTS / "axe-results.json")
        await context.close()
    assert axe.blocking() == {}, json.dumps(axe.blocking(), indent=2, ensure_ascii=False)
    assert len(axe.pages) >= 10


@pytest.mark.timeout(300)  # ~45 s on a quiet machine; 100 s seen at load 13 on 2 cores
def test_console_in_chromium(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)

    async def main() -> None:
        async with world(tmp_path) as (hub, osl, si, session):
            await _accounts(si)
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    await _browser_run(browser, hub, osl, si, session)
                finally:
                    await browser.close()

    asyncio.run(main())
