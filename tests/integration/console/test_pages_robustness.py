"""Console pages under stress: font types, a handler that crashes, an expired session
that brings the agent back where they were, and ``next=`` values that try to leave."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gateway.console import views_inbox
from gateway.settings import ConsoleSettings
from tests.integration.console.support import (
    PASSWORD,
    Browser,
    Clock,
    Page,
    hidden_fields,
    offline_console,
)


def test_fonts_are_served_with_font_types(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            browser = console.browser()
            try:
                for asset, kind in (
                    ("dsfr/fonts/Marianne-Regular.woff2", "font/woff2"),
                    ("dsfr/fonts/Marianne-Regular.woff", "font/woff"),
                    ("dsfr/dsfr.min.css", "text/css"),
                ):
                    async with browser.session.get(f"{console.base}/console/static/{asset}") as r:
                        assert r.status == 200, asset
                        assert r.headers["Content-Type"] == kind, asset
                        assert r.headers["X-Content-Type-Options"] == "nosniff"
                        assert len(await r.read()) > 500
            finally:
                await browser.close()

    asyncio.run(main())


def test_a_crashing_handler_shows_the_french_500_page_and_logs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "database file /srv/secret.sqlite is gone"

    def broken(*args: object) -> object:
        raise RuntimeError(secret)

    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                monkeypatch.setattr(views_inbox, "own_org", broken)
                page = await browser.get("/console/dossiers")
                assert page.status == 500
                assert page.headers["Content-Type"].startswith("text/html")
                assert "Erreur interne" in page.text and "Erreur 500" in page.text
                assert "prévenez le service informatique" in page.text
                for leak in (secret, "RuntimeError", "Traceback", "views_inbox"):
                    assert leak not in page.text, leak
                assert page.headers["Cache-Control"] == "no-store"
            finally:
                await browser.close()

    with caplog.at_level(logging.ERROR, logger="gateway.console"):
        asyncio.run(main())
    (record,) = [r for r in caplog.records if r.name == "gateway.console"]
    assert record.getMessage() == "console: internal error on GET /console/dossiers"
    assert record.exc_info is not None and secret in str(record.exc_info[1])


async def _sign_in_to(browser: Browser, target: str) -> tuple[int, str]:
    """Post the sign-in form with ``next`` set to ``target``; the redirect's Location."""
    form = await browser.get("/console/connexion")
    async with browser.session.post(
        browser.base + "/console/connexion",
        data={
            "pre": hidden_fields(form.text)["pre"],
            "next": target,
            "login": "marie",
            "password": PASSWORD,
        },
        allow_redirects=False,
    ) as r:
        return r.status, r.headers.get("Location", "")


def test_an_expired_session_signs_in_again_back_to_the_same_page(tmp_path: Path) -> None:
    clock = Clock()

    async def main() -> None:
        settings = ConsoleSettings(session_minutes=15)
        async with offline_console(tmp_path / "gw", clock=clock, console=settings) as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                wanted = "/console/dossiers?statut=DONE&du=2026-11-01"
                assert (await browser.get(wanted)).status == 200
                clock.advance(minutes=16)
                page: Page = await browser.get(wanted)
                assert page.status == 200 and "/console/connexion?suite=" in page.url
                assert (
                    "Votre session a expiré après une période d'inactivité : reconnectez-vous."
                    in page.text
                )
                assert hidden_fields(page.text)["next"] == wanted
                async with browser.session.post(
                    browser.base + "/console/connexion",
                    data={
                        "pre": hidden_fields(page.text)["pre"],
                        "next": wanted,
                        "login": "marie",
                        "password": PASSWORD,
                    },
                ) as r:
                    assert r.status == 200
                    assert str(r.url).endswith(wanted)
                    assert "Dossiers reçus" in await r.text()
            finally:
                await browser.close()

    asyncio.run(main())


_LEAVING = (
    "https://evil.example/console/",
    "//evil.example/console/",
    "/\\evil.example/",
    "/console\\..\\..\\evil.example",
    "/console/\\evil.example",
    "/console/../metrics",
    "/console/%2e%2e/metrics",
    "/consolex/",
    "javascript:alert(1)",
    "/console/\r\nSet-Cookie: sceau_console=x",
    "/console/\tevil",
    " /console/dossiers",
    "",
)


def test_next_only_goes_to_a_console_page(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            for target in _LEAVING:
                browser = console.browser()  # a fresh one: not signed in
                try:
                    assert await _sign_in_to(browser, target) == (303, "/console/dossiers"), target
                finally:
                    await browser.close()

    asyncio.run(main())


def test_next_keeps_a_console_page_with_its_query(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                wanted = "/console/dossiers?recherche=ER%2F1&page=2"
                assert await _sign_in_to(browser, wanted) == (303, wanted)
            finally:
                await browser.close()

    asyncio.run(main())
