"""Signing in and out of the console, over HTTP against a real gateway runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.console.support import offline_console


def test_an_agent_signs_in_sees_the_inbox_and_signs_out(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                anonymous = await browser.get("/console/dossiers")
                assert anonymous.url.endswith("/console/connexion?suite=/console/dossiers")
                page = await browser.sign_in("marie")
                assert page.status == 200, page.text
                assert page.url.endswith("/console/dossiers")
                assert "Dossiers reçus" in page.text and "Agent marie" in page.text
                assert 'lang="fr"' in page.text and "République<br>française" in page.text
                assert "Content-Security-Policy" in page.headers
                out = await browser.post("/console/deconnexion", {})
                assert "Vous êtes déconnecté" in out.text
                again = await browser.get("/console/dossiers")
                assert "/console/connexion" in again.url
            finally:
                await browser.close()

    asyncio.run(main())
