"""Notification e-mails against a real SMTP server (aiosmtpd on loopback), with real
dossiers: the DGS deposits CERTDC folders on its gateway, the hub routes them to
Saint-Denis's gateway, whose notifier mails the agents who asked for it."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from gateway.console import mail_store
from gateway.console.accounts import Accounts, Role, roles_of
from gateway.console.mail import MailNotifier, SmtpConfig, SmtpTransport
from gateway.console.mail_store import MailMode
from gateway.settings import ConsoleSettings, SmtpSettings
from hubee.model import Scope
from hubee.sqlite_store import sqlite_connection
from hubee.store import StoreTx
from tests.integration.console_mail.smtp_sink import SmtpSink
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    Gw,
    close_hub,
    enrolled_settings,
    eventually,
    lan_client,
    open_hub,
    start_gateway,
)
from tests.unit.gateway.support import certdc_folder, deposit

ADDRESSES = {
    "alice": "alice@saint-denis.example.fr",
    "bob": "bob@saint-denis.example.fr",
    "carol": "carol@saint-denis.example.fr",
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _address_book(conn: sqlite3.Connection, login: str, process_code: str) -> str | None:
    return ADDRESSES.get(login)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _notifier(gw: Gw, transport: SmtpTransport, clock: Clock) -> MailNotifier:
    return MailNotifier(
        gw.runtime.store,
        transport,
        sender="sceau@saint-denis.example.fr",
        console_url="http://console.saint-denis.example.fr:8080/console",
        address_book=_address_book,
        digest_hour=7,
        clock=clock,
        tz=UTC,
    )


async def _cases_in(gw: Gw) -> int:
    def count(tx: StoreTx) -> int:
        conn = sqlite_connection(tx)
        row = conn.execute("SELECT count(*) FROM gw_cases WHERE direction='in'").fetchone()
        return int(row[0])

    return int(await gw.runtime.store.read(count))


async def _queue(gw: Gw) -> list[tuple[str, str, int, str | None, str | None]]:
    def rows(tx: StoreTx) -> list[tuple[str, str, int, str | None, str | None]]:
        sql = "SELECT login, folder_number, attempts, last_error, sent_at FROM gw_mail_queue"
        found: list[tuple[str, str, int, str | None, str | None]] = (
            sqlite_connection(tx).execute(sql + " ORDER BY id").fetchall()
        )
        return found

    result: list[tuple[str, str, int, str | None, str | None]] = await gw.runtime.store.read(rows)
    return result


def test_immediate_digest_retry_and_restart(tmp_path: Path) -> None:
    async def main() -> None:
        sink = SmtpSink()
        sink.start()
        try:
            await scenario(sink)
        finally:
            sink.stop()

    async def scenario(sink: SmtpSink) -> None:
        clock = Clock()
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            osl = await start_gateway(await enrolled_settings(hub, tmp_path / "dgs", DGS), "dgs")
            stack.push_async_callback(osl.service.close)
            # console.smtp unset: this test drives its own notifier, round by round.
            si_settings = await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS)
            si = await start_gateway(si_settings, "saint-denis")
            session = await stack.enter_async_context(aiohttp.ClientSession())
            dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
            good = SmtpConfig(host="127.0.0.1", port=sink.port, sender="sceau@example.fr")
            transport = SmtpTransport(good)
            notifier = _notifier(si, transport, clock)
            await notifier.setup()

            def prefs(tx: StoreTx) -> None:
                conn = sqlite_connection(tx)
                at = clock()
                mail_store.set_preference(conn, "alice", "CERTDC", MailMode.IMMEDIATE, at)
                mail_store.set_preference(conn, "bob", "CERTDC", MailMode.DIGEST, at)
                mail_store.set_preference(conn, "carol", "RSABEI-RSABAI", MailMode.IMMEDIATE, at)
                mail_store.set_preference(conn, "dave", "CERTDC", MailMode.IMMEDIATE, at)
                mail_store.set_preference(conn, "dave", "CERTDC", None, at)  # changed his mind

            await si.runtime.store.write(prefs)
            recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
            for number in ("ER20260000001", "ER20260000002"):
                await deposit(dgs, *certdc_folder(recipient, number))

            async def two_cases() -> bool:
                return await _cases_in(si) == 2

            await eventually(two_cases, timeout=60, what="two dossiers at Saint-Denis")

            # Immediate: one e-mail per dossier, to alice only; then nothing more.
            assert await notifier.round() == 2
            assert await notifier.round() == 0
            assert [m["To"] for m in sink.messages] == [ADDRESSES["alice"]] * 2
            subjects = sorted(str(m["Subject"]) for m in sink.messages)
            assert subjects == [
                "[Sceau] Nouveau dossier CERTDC n° ER20260000001",
                "[Sceau] Nouveau dossier CERTDC n° ER20260000002",
            ]
            for message in sink.messages:
                body = message.get_content()
                assert "Démarche : CERTDC" in body
                assert "http://console.saint-denis.example.fr:8080/console/dossiers/" in body
                for personal in ("Camille", "Martin", "c.martin"):
                    assert personal not in body and personal not in str(message)

            # The digest: due at the next 07:00; bob's two dossiers in one message.
            clock.advance(hours=25)
            assert await notifier.round() == 1
            digest = sink.messages[-1]
            assert digest["To"] == ADDRESSES["bob"]
            assert "2 nouveaux dossiers" in str(digest["Subject"])
            body = digest.get_content()
            assert "ER20260000001" in body and "ER20260000002" in body
            assert "Démarche CERTDC (2)" in body
            assert len(sink.messages) == 3

            # The SMTP server is down: the mail stays queued, retried after a backoff.
            transport.config = replace(good, port=_closed_port())
            await deposit(dgs, *certdc_folder(recipient, "ER20260000003"))

            async def three_cases() -> bool:
                return await _cases_in(si) == 3

            await eventually(three_cases, timeout=60, what="the third dossier")
            assert await notifier.round() == 0
            alice3 = [r for r in await _queue(si) if r[:2] == ("alice", "ER20260000003")]
            assert alice3 and alice3[0][2] == 1 and alice3[0][3] and alice3[0][4] is None
            assert "Connection" in str(alice3[0][3]) or "refused" in str(alice3[0][3])
            assert notifier.last_error is not None
            transport.config = good
            assert await notifier.round() == 0  # not due yet: the backoff holds
            clock.advance(seconds=2)
            assert await notifier.round() == 1
            assert len(sink.messages) == 4
            assert str(sink.messages[-1]["Subject"]).endswith("ER20260000003")

            # A restart (a new service and notifier on the same data): nothing is sent
            # twice, and bob's pending digest survives it.
            await si.service.close()
            si = await start_gateway(si_settings, "saint-denis")
            stack.push_async_callback(si.service.close)
            notifier = _notifier(si, SmtpTransport(good), clock)
            await notifier.setup()
            assert await notifier.round() == 0
            assert len(sink.messages) == 4
            clock.advance(hours=24)
            assert await notifier.round() == 1
            last = sink.messages[-1]
            assert last["To"] == ADDRESSES["bob"] and "1 nouveau dossier" in str(last["Subject"])
            assert "ER20260000003" in last.get_content()
            assert "ER20260000001" not in last.get_content()
            assert await notifier.round() == 0
            assert len(sink.messages) == 5
            ids = [m["Message-ID"] for m in sink.messages]
            assert len(set(ids)) == 5
            assert all(r[4] is not None for r in await _queue(si))
            carol = [m for m in sink.messages if m["To"] == ADDRESSES["carol"]]
            assert carol == []

    asyncio.run(main())


def test_the_gateway_service_mails_its_agents_when_smtp_is_set(tmp_path: Path) -> None:
    """`sceau gateway run` with console.smtp: the service's own notifier, the console's
    accounts as address book (an agent of the démarche, enabled, with an address)."""

    async def main() -> None:
        sink = SmtpSink()
        sink.start()
        try:
            await scenario(sink)
        finally:
            sink.stop()

    async def scenario(sink: SmtpSink) -> None:
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            osl = await start_gateway(await enrolled_settings(hub, tmp_path / "dgs", DGS), "dgs")
            stack.push_async_callback(osl.service.close)
            smtp = SmtpSettings(host="127.0.0.1", port=sink.port, sender="sceau@example.fr")
            si_settings = await enrolled_settings(
                hub, tmp_path / "sd", SAINT_DENIS, console=ConsoleSettings(smtp=smtp)
            )
            si = await start_gateway(si_settings, "saint-denis")
            stack.push_async_callback(si.service.close)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            accounts = Accounts(si.runtime.store)
            now = datetime.now(UTC)
            for login, roles, disabled in (
                ("alice", roles_of(Role.AGENT, ["CERTDC"]), False),
                ("bob", roles_of(Role.AGENT, ["RSABEI-RSABAI"]), False),  # not CERTDC's agent
                ("carol", roles_of(Role.AGENT, ["CERTDC"]), True),  # disabled
            ):
                await accounts.add(
                    login,
                    display_name=login.title(),
                    email=ADDRESSES[login],
                    roles=roles,
                    password="mot de passe de test 2026",
                    now=now,
                )
                if disabled:
                    await accounts.set_disabled(login)

            def prefs(tx: StoreTx) -> None:
                mail_store.ensure_mail_schema(tx)
                conn = sqlite_connection(tx)
                for login in ("alice", "bob", "carol"):
                    mail_store.set_preference(conn, login, "CERTDC", MailMode.IMMEDIATE, now)

            await si.runtime.store.write(prefs)
            dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
            recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
            await deposit(dgs, *certdc_folder(recipient, "ER20260000009"))

            async def mailed() -> bool:
                return bool(sink.messages)

            await eventually(mailed, timeout=60, what="the notification e-mail")
            await asyncio.sleep(0.5)
            assert [m["To"] for m in sink.messages] == [ADDRESSES["alice"]]
            body = sink.messages[0].get_content()
            assert f"http://127.0.0.1:{si.service.port}/console/dossiers/" in body
            assert "ER20260000009" in str(sink.messages[0]["Subject"])

    asyncio.run(main())
