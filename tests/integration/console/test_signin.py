"""Signing in and out of the console, over HTTP against a real gateway runtime."""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.console.signin_guard import BURST, REFILL
from gateway.lan import make_lan_app
from gateway.metrics import create_metrics_token, metrics_routes
from gateway.settings import ConsoleSettings
from tests.integration.console.support import (
    PASSWORD,
    Browser,
    Clock,
    hidden_fields,
    offline_console,
)


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
                # The vendored DSFR assets are served by the gateway itself.
                for asset, kind in (
                    ("dsfr/dsfr.min.css", "text/css"),
                    ("dsfr/fonts/Marianne-Regular.woff2", None),
                    ("console.css", "text/css"),
                ):
                    async with browser.session.get(f"{console.base}/console/static/{asset}") as r:
                        assert r.status == 200 and len(await r.read()) > 500, asset
                        assert kind is None or r.content_type == kind, asset
                out = await browser.post("/console/deconnexion", {})
                assert "Vous êtes déconnecté" in out.text
                again = await browser.get("/console/dossiers")
                assert "/console/connexion" in again.url
            finally:
                await browser.close()

    asyncio.run(main())


def test_a_wrong_password_and_an_unknown_login_read_the_same(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                wrong = await browser.sign_in("marie", "not the password at all")
                unknown = await browser.sign_in("nobody", "not the password at all")
                for page in (wrong, unknown):
                    assert page.status == 401
                    assert "Identifiant ou mot de passe incorrect." in page.text
                    assert "bloqué" not in page.text
                assert "Dossiers reçus" not in wrong.text
            finally:
                await browser.close()
            await console.runtime.drain.wait_drained()
            facts = [(e["subject"], e["data"]["fact"]) for e in await _console_entries(console)]
            assert ("console/marie", "signin.failed") in facts
            assert ("console/?", "signin.failed") in facts  # an unknown login is not journaled
            assert all("nobody" not in subject for subject, _ in facts)

    asyncio.run(main())


def test_repeated_failures_lock_the_account_until_the_lockout_ends(tmp_path: Path) -> None:
    clock = Clock()

    async def main() -> None:
        settings = ConsoleSettings(max_failed_logins=3, lockout_minutes=15)
        async with offline_console(tmp_path / "gw", clock=clock, console=settings) as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                for _ in range(2):
                    assert (await browser.sign_in("marie", "wrong password!")).status == 401
                locked = await browser.sign_in("marie", "wrong password!")
                assert locked.status == 429
                assert "ce compte est bloqué jusqu'au" in locked.text
                # The right password does not help while locked.
                still = await browser.sign_in("marie")
                assert still.status == 429 and "bloqué" in still.text
                for _ in range(4):  # refused while locked: counted, not journaled
                    assert (await browser.sign_in("marie", "wrong password!")).status == 429
                await console.runtime.drain.wait_drained()
                facts = [e["data"]["fact"] for e in await _console_entries(console)]
                assert facts == ["signin.failed"] * 2 + ["signin.locked"]
                clock.advance(minutes=16)
                page = await browser.sign_in("marie")
                assert page.status == 200 and "Dossiers reçus" in page.text
            finally:
                await browser.close()
            await console.runtime.drain.wait_drained()
            facts = [e["data"]["fact"] for e in await _console_entries(console)]
            assert facts.count("signin.locked") == 1 and facts[-1] == "signin.ok"

    asyncio.run(main())


def test_parallel_failures_cannot_undo_the_lock_out(tmp_path: Path) -> None:
    """Failures checked in parallel (all read the account unlocked, argon2 runs in
    threads) must not clear the lock the first of them set."""
    clock = Clock()

    async def main() -> None:
        settings = ConsoleSettings(max_failed_logins=3, lockout_minutes=15)
        async with offline_console(tmp_path / "gw", clock=clock, console=settings) as console:
            await console.add_user("marie")
            browsers = [console.browser() for _ in range(5)]
            try:
                pages = await asyncio.gather(
                    *(b.sign_in("marie", "wrong password!") for b in browsers)
                )
                assert sorted(p.status for p in pages).count(429) >= 1
                still = await browsers[0].sign_in("marie")
                assert still.status == 429 and "bloqué" in still.text
            finally:
                for browser in browsers:
                    await browser.close()
            await console.runtime.drain.wait_drained()
            facts = [e["data"]["fact"] for e in await _console_entries(console)]
            assert facts.count("signin.locked") == 1 and "signin.ok" not in facts

    asyncio.run(main())


def test_failed_sign_ins_from_one_address_are_rate_limited(tmp_path: Path) -> None:
    clock = Clock()

    async def main() -> None:
        async with offline_console(tmp_path / "gw", clock=clock) as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                for _ in range(BURST):
                    assert (await browser.sign_in("nobody", "wrong password!")).status == 401
                await console.runtime.drain.wait_drained()
                before = len(await _console_entries(console))
                for login, password in (("nobody", "wrong password!"), ("marie", PASSWORD)):
                    page = await browser.sign_in(login, password)
                    assert page.status == 429, page.text
                    assert "Trop de tentatives de connexion depuis ce poste" in page.text
                    assert "Dossiers reçus" not in page.text
                await console.runtime.drain.wait_drained()
                assert len(await _console_entries(console)) == before  # nothing journaled
                clock.advance(seconds=REFILL.total_seconds())  # one token back
                page = await browser.sign_in("marie")
                assert page.status == 200 and "Dossiers reçus" in page.text
            finally:
                await browser.close()

    asyncio.run(main())


def test_refusals_without_a_password_check_are_counted_in_the_metrics(tmp_path: Path) -> None:
    clock = Clock()

    async def main() -> None:
        settings = ConsoleSettings(max_failed_logins=2, lockout_minutes=15)
        async with offline_console(tmp_path / "gw", clock=clock, console=settings) as console:
            await console.add_user("marie")
            runtime = console.runtime
            runner = web.AppRunner(make_lan_app(runtime, route_tables=[metrics_routes]))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            browser = Browser(f"http://127.0.0.1:{port}")
            try:
                statuses = [(await browser.sign_in("marie", "wrong!")).status for _ in range(5)]
                assert statuses == [401, 429, 429, 429, 429]  # locked at the 2nd: 3 refusals
                for _ in range(BURST - 5):
                    assert (await browser.sign_in("nobody", "wrong!")).status == 401
                for _ in range(2):
                    assert (await browser.sign_in("nobody", "wrong!")).status == 429
                token = await asyncio.to_thread(create_metrics_token, runtime.settings.paths)
                async with browser.session.get(
                    f"{browser.base}/metrics", headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    assert r.status == 200
                    text = await r.text()
                assert 'sceau_gateway_console_signin_refusals{reason="locked"} 3.0' in text
                assert 'sceau_gateway_console_signin_refusals{reason="rate"} 2.0' in text
            finally:
                await browser.close()
                await runner.cleanup()

    asyncio.run(main())


def test_an_idle_session_expires_and_says_so(tmp_path: Path) -> None:
    clock = Clock()

    async def main() -> None:
        settings = ConsoleSettings(session_minutes=30)
        async with offline_console(tmp_path / "gw", clock=clock, console=settings) as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                clock.advance(minutes=20)
                assert "Dossiers reçus" in (await browser.get("/console/dossiers")).text
                clock.advance(minutes=20)  # 20 minutes after the last request: still alive
                assert "Dossiers reçus" in (await browser.get("/console/dossiers")).text
                clock.advance(minutes=31)
                page = await browser.get("/console/dossiers")
                assert "/console/connexion" in page.url
                assert "Votre session a expiré" in page.text
                # A POST with the old session: refused, with a page that says what to do.
                late = await browser.post("/console/deconnexion", {})
                assert late.status == 403 and "reconnectez-vous" in late.text
            finally:
                await browser.close()

    asyncio.run(main())


def test_forged_or_missing_csrf_tokens_are_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                # The sign-in form without its double-submit cookie value.
                async with browser.session.post(
                    console.base + "/console/connexion",
                    data={"pre": "forged", "login": "marie", "password": PASSWORD},
                ) as r:
                    assert r.status == 403
                    assert "formulaire de connexion n'a pas été reconnu" in html.unescape(
                        await r.text()
                    )
                await browser.sign_in("marie")
                forged = await browser.post("/console/deconnexion", {}, csrf="forged")
                assert forged.status == 403 and "jeton de sécurité" in forged.text
                missing = await browser.post("/console/deconnexion", {"x": "1"}, csrf="")
                assert missing.status == 403
                # Still signed in: the forged requests changed nothing.
                assert "Dossiers reçus" in (await browser.get("/console/dossiers")).text
            finally:
                await browser.close()

    asyncio.run(main())


def test_secure_cookies_use_the_host_prefix(tmp_path: Path) -> None:
    async def main() -> None:
        settings = ConsoleSettings(secure_cookies=True)
        async with offline_console(tmp_path / "gw", console=settings) as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                form = await browser.get("/console/connexion")
                fields = hidden_fields(form.html)
                # Over plain HTTP the client keeps the Secure pre-session cookie to itself:
                # send it as a browser on HTTPS would.
                async with browser.session.post(
                    console.base + "/console/connexion",
                    data={**fields, "login": "marie", "password": PASSWORD},
                    headers={"Cookie": f"sceau_console_signin={fields['pre']}"},
                    allow_redirects=False,
                ) as r:
                    assert r.status == 303
                    cookie = r.cookies["__Host-sceau_console"]
                    assert cookie["secure"] and cookie["httponly"]
                    assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
                    assert len(cookie.value) >= 43  # 256 bits, URL-safe base64
            finally:
                await browser.close()

    asyncio.run(main())


def test_errors_are_pages_never_traces(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await console.add_user("marie")
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                for path in (
                    "/console/nothing-here",
                    "/console/dossiers/not-a-uuid",
                    "/console/dossiers/6f1c2f0e-0000-4000-8000-000000000000",
                    "/console/dossiers/6f1c2f0e-0000-4000-8000-000000000000/preuve",
                ):
                    page = await browser.get(path)
                    assert page.status == 404, path
                    assert "Page introuvable" in page.text and "Traceback" not in page.text
                    assert page.headers["Content-Type"].startswith("text/html")
                admin_only = await browser.get("/console/admin")
                assert admin_only.status == 403 and "Accès refusé" in admin_only.text
            finally:
                await browser.close()

    asyncio.run(main())


async def _console_entries(console: Any) -> list[dict[str, Any]]:
    journal = console.runtime.journal
    size = await journal.size()
    entries = [json.loads(raw) for raw in await journal.entries(0, size)]
    return [e for e in entries if e["kind"] == "console"]
