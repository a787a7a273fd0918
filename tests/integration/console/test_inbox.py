"""The inbox over many dossiers (rows written straight into the gateway's real SQLite
database): new ones first, a page of 100, the next and previous pages, démarches the
agent does not handle left out."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.console.inbox import PAGE
from hubee.sqlite_store import sqlite_connection
from tests.integration.console.support import Console, offline_console
from tests.unit.gateway.support import DGS, SAINT_DENIS

_ROW = re.compile(r'href="/console/dossiers/([0-9a-f-]{36})">([^<]+)</a>')


async def _dossiers(console: Console, count: int, *, process: str, new_every: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def work(tx: object) -> None:
        conn = sqlite_connection(tx)
        at = start.isoformat()
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
            "created_at) VALUES (?, ?, 'SI_RECEIVED', 30, 30, 365, ?)",
            (process, process, at),
        )
        for n in range(count):
            when = (start + timedelta(minutes=n)).isoformat()
            folder, case = str(uuid.uuid4()), str(uuid.uuid4())
            status = "HUBEE_NOTIFIED" if n % new_every == 0 else "IN_PROGRESS"
            conn.execute(
                "INSERT INTO folders (id, transmitter_org_id, process_code, external_id, "
                "global_status, status_at, applicant, request_hash, create_at) "
                "VALUES (?, 'org-dgs', ?, ?, 'HUBEE_COMPLETED', ?, '{}', 'h', ?)",
                (folder, process, f"{process}-{n:04d}", when, when),
            )
            conn.execute(
                "INSERT INTO cases (id, folder_id, recipient_org_id, external_id, status, "
                "status_at, create_at) VALUES (?, ?, 'org-sd', ?, ?, ?, ?)",
                (case, folder, f"{process}-{n:04d}-01", status, when, when),
            )

    await console.runtime.store.write(work)


def test_the_inbox_pages_new_dossiers_first(tmp_path: Path) -> None:
    async def main() -> None:
        async with offline_console(tmp_path / "gw") as console:
            await _dossiers(console, PAGE + 5, process="CERTDC", new_every=10)
            await _dossiers(console, 3, process="RSABEI-RSABAI", new_every=1)
            await console.add_user("marie")
            browser = console.browser()
            try:
                await browser.sign_in("marie")
                first = await browser.get("/console/dossiers")
                rows = _ROW.findall(first.html)
                assert len(rows) == PAGE
                assert all("RSABEI" not in name for _, name in rows)
                new = [name for _, name in rows[:11]]
                # The 11 new ones (every 10th) first, most recent first.
                assert new == [f"CERTDC-{n:04d}-01" for n in range(100, -1, -10)]
                assert (
                    "Page suivante" in first.text
                    and 'href="/console/dossiers?page=2"' in first.html
                )
                second = await browser.get("/console/dossiers?page=2")
                more = _ROW.findall(second.html)
                assert len(more) == 5 and not {i for i, _ in more} & {i for i, _ in rows}
                assert 'href="/console/dossiers?page=1"' in second.html
                only_new = await browser.get("/console/dossiers?statut=HUBEE_NOTIFIED")
                assert len(_ROW.findall(only_new.html)) == 11
                assert "Page suivante" not in only_new.text
            finally:
                await browser.close()

    asyncio.run(main())
