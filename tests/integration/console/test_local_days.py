"""The console's days and times are those of its zone (``console.timezone``, Europe/Paris
by default), not UTC: the inbox's date filters, its received times, and the admin pages."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.console.accounts import Role
from gateway.console.formats import day_end, day_start, local_time, zone
from gateway.console.renderer import value_text
from gateway.errors import GatewayConfigError
from gateway.settings import ConsoleSettings
from hubee.sqlite_store import sqlite_connection
from tests.integration.console.support import Console, offline_console
from tests.unit.gateway.support import DGS, SAINT_DENIS

_ROW = re.compile(r'href="/console/dossiers/[0-9a-f-]{36}">([^<]+)</a>')
# Received at 23:30 on 14 July in Paris (21:30 UTC), and at 00:30 on 15 July (22:30 UTC
# on the 14th): a UTC day would put both on the 14th.
_LATE = datetime(2026, 7, 14, 21, 30, tzinfo=UTC)
_AFTER_MIDNIGHT = datetime(2026, 7, 14, 22, 30, tzinfo=UTC)


def test_paris_days_start_at_local_midnight_summer_and_winter() -> None:
    paris = zone("Europe/Paris")
    assert day_start(date(2026, 7, 14), paris) == datetime(2026, 7, 13, 22, tzinfo=UTC)
    assert day_start(date(2026, 1, 14), paris) == datetime(2026, 1, 13, 23, tzinfo=UTC)
    # The day the clocks go forward is 23 hours long, the day they go back 25.
    assert day_end(date(2026, 3, 29), paris) - day_start(date(2026, 3, 29), paris) == timedelta(
        hours=23
    )
    assert day_end(date(2026, 10, 25), paris) - day_start(date(2026, 10, 25), paris) == (
        timedelta(hours=25)
    )
    assert local_time(_AFTER_MIDNIGHT) == "15/07/2026 à 00:30"
    assert local_time("2026-07-14T22:30:05.000000Z", seconds=True) == "15/07/2026 à 00:30:05"
    assert local_time(_AFTER_MIDNIGHT, zone("Indian/Reunion")) == "15/07/2026 à 02:30"


def test_the_zone_setting_is_checked() -> None:
    assert ConsoleSettings().timezone == "Europe/Paris"
    assert ConsoleSettings.from_json({"timezone": "America/Cayenne"}).timezone == "America/Cayenne"
    for bad in ("Europe/Pariss", "../etc/passwd", ""):
        with pytest.raises(GatewayConfigError, match=r"console\.timezone"):
            ConsoleSettings(timezone=bad)


def test_dossier_data_times_keep_their_own_offset() -> None:
    assert value_text("2026-07-14T23:30:00+02:00") == "14/07/2026 à 23:30 (UTC+02:00)"
    assert value_text("2026-07-14T21:30:00Z") == "14/07/2026 à 21:30 UTC"
    assert value_text("2026-07-14T21:30:00") == "14/07/2026 à 21:30"


def test_the_inbox_filters_and_shows_paris_days(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await _received(console, [("LATE", _LATE), ("NIGHT", _AFTER_MIDNIGHT)])
            await console.add_user("marie")
            await console.add_user("it", role=Role.ADMIN, processes=("*",))
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                on_14 = await browser.get("/console/dossiers?du=2026-07-14&au=2026-07-14")
                assert _ROW.findall(on_14.html) == ["LATE-01"]
                assert "14/07/2026 à 23:30" in on_14.text
                on_15 = await browser.get("/console/dossiers?du=2026-07-15")
                assert _ROW.findall(on_15.html) == ["NIGHT-01"]
                assert "15/07/2026 à 00:30" in on_15.text
                until_14 = await browser.get("/console/dossiers?au=2026-07-14")
                assert _ROW.findall(until_14.html) == ["LATE-01"]
            finally:
                await browser.close()
            admin = console.browser()
            try:
                await admin.sign_in("it")
                for section in ("admin", "admin/flux", "admin/journal", "admin/clients"):
                    page = await admin.get(f"/console/{section}")
                    assert page.status == 200, (section, page.text)
                    assert " UTC" not in page.text, section
            finally:
                await admin.close()

    asyncio.run(main())


def test_the_inbox_follows_the_configured_zone(tmp_path: Path) -> None:
    async def main() -> None:
        settings = ConsoleSettings(timezone="Indian/Reunion")  # UTC+4, no summer time
        async with offline_console(tmp_path / "gw", console=settings) as console:
            await _received(console, [("LATE", _LATE), ("NIGHT", _AFTER_MIDNIGHT)])
            await console.add_user("marie")
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                on_15 = await browser.get("/console/dossiers?du=2026-07-15&au=2026-07-15")
                assert sorted(_ROW.findall(on_15.html)) == ["LATE-01", "NIGHT-01"]
                assert "15/07/2026 à 01:30" in on_15.text and "15/07/2026 à 02:30" in on_15.text
                on_14 = await browser.get("/console/dossiers?du=2026-07-14&au=2026-07-14")
                assert _ROW.findall(on_14.html) == []
            finally:
                await browser.close()

    asyncio.run(main())


async def _received(console: Console, dossiers: list[tuple[str, datetime]]) -> None:
    """CERTDC cases for Saint-Denis, written into the gateway's real database as stored
    by the engine (UTC, ISO with microseconds)."""

    def work(tx: object) -> None:
        conn = sqlite_connection(tx)
        at = datetime(2026, 1, 1, tzinfo=UTC).isoformat(timespec="microseconds")
        for org_id, (siret, branch), kind in (
            ("org-dgs", DGS, "OSL"),
            ("org-sd", SAINT_DENIS, "SI"),
        ):
            conn.execute(
                "INSERT OR IGNORE INTO organizations VALUES (?, ?, ?, ?, ?, ?)",
                (org_id, kind, siret, branch, f"{siret}/{branch}", at),
            )
        conn.execute(
            "INSERT OR IGNORE INTO processes (code, name, status_before_file_deletion, "
            "time_before_file_deletion, time_before_archiving, time_before_folder_deletion, "
            "created_at) VALUES ('CERTDC', 'CERTDC', 'SI_RECEIVED', 30, 30, 365, ?)",
            (at,),
        )
        for name, received in dossiers:
            when = received.isoformat(timespec="microseconds")
            folder, case = str(uuid.uuid4()), str(uuid.uuid4())
            conn.execute(
                "INSERT INTO folders (id, transmitter_org_id, process_code, external_id, "
                "global_status, status_at, applicant, request_hash, create_at) "
                "VALUES (?, 'org-dgs', 'CERTDC', ?, 'HUBEE_COMPLETED', ?, '{}', 'h', ?)",
                (folder, name, when, when),
            )
            conn.execute(
                "INSERT INTO cases (id, folder_id, recipient_org_id, external_id, status, "
                "status_at, create_at) VALUES (?, ?, 'org-sd', ?, 'IN_PROGRESS', ?, ?)",
                (case, folder, f"{name}-01", when, when),
            )

    await console.runtime.store.write(work)
