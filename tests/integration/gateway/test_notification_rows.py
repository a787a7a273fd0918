"""Notifications do not pile up: N dossiers exchanged through two gateways, each LAN
client deleting its notifications as HubEE asks, leave no notification row at the hub
once the gateways have pulled the feed past them (the hub deletes what a gateway has
consumed, journaled as ``purge.notifications``), and none on the gateways; one a client
never deletes expires with the démarche's retention. The figures are printed (``-s``)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hubee.model import Scope
from hubee.retention import Retention
from tests.integration.gateway.world import SAINT_DENIS, Gw, eventually, lan_client, world
from tests.unit.gateway.support import LanClient, certdc_folder, deposit

DOSSIERS = 5


def _rows(db: Path, table: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def _journaled(db: Path, kind: str) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT data FROM journal WHERE kind = ?", (kind,)).fetchall()
    return [str(r[0]) for r in rows]


async def _consume(client: LanClient) -> list[str]:
    """Process and delete every notification, as a HubEE client does; their case ids."""
    reply = await client.call("GET", "/teledossiers/v1/notifications?maxResult=100")
    assert reply.status == 200, reply.body
    found: list[dict[str, Any]] = reply.json()
    for notification in found:
        gone = await client.call("DELETE", f"/teledossiers/v1/notifications/{notification['id']}")
        assert gone.status == 204, gone.body
    return [str(n["caseId"]) for n in found]


async def _gateway_journal(gw: Gw) -> list[bytes]:
    await gw.runtime.drain.wait_drained()
    journal = gw.runtime.journal
    return await journal.entries(0, await journal.size())


def _gateway_db(gw: Gw) -> Path:
    return Path(gw.settings.paths.db)


def test_consumed_notifications_leave_no_rows_at_the_hub(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as (hub, osl, si, session):
            hub_db = hub.runtime.config.engine.db_path
            dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
            commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)
            recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
            for n in range(DOSSIERS):
                body, files = certdc_folder(recipient, f"ER2019086{n:04d}")
                await deposit(dgs, body, files)
            received: list[str] = []

            async def all_received() -> bool:
                received.extend(await _consume(commune))
                return len(received) >= DOSSIERS

            await eventually(all_received, timeout=60, what="every case at the commune")
            # The commune answers each case with an event the DGS is notified of.
            for case_id in received:
                got = await commune.call("GET", f"/teledossiers/v1/cases/{case_id}")
                assert got.status == 200, got.body
                sent = await commune.call(
                    "POST",
                    f"/teledossiers/v1/cases/{case_id}/events",
                    json_body={
                        "actionType": "STATUS_UPDATE",
                        "caseNewStatus": "SI_RECEIVED",
                        "message": "reçu",
                        "notification": True,
                    },
                )
                assert sent.status == 201, sent.body

            async def hub_clean() -> bool:
                await _consume(dgs)
                return _rows(hub_db, "notifications") == 0

            try:
                await eventually(hub_clean, timeout=10, what="no notification left at the hub")
            finally:
                print(
                    f"\n{DOSSIERS} dossiers: hub notifications={_rows(hub_db, 'notifications')} "
                    f"link_feed={_rows(hub_db, 'link_feed')} "
                    f"dgs LAN notifications={_rows(_gateway_db(osl), 'notifications')} "
                    f"saint-denis LAN notifications={_rows(_gateway_db(si), 'notifications')}"
                )
            purged = _journaled(hub_db, "purge.notifications")
            assert purged, "the hub journals what it deleted"
            assert all('"applicant"' not in p and "Martin" not in p for p in purged)
            # The commune's gateway journaled dropping its events' notifications for the DGS.
            assert any(b'"reason":"pushed"' in e for e in await _gateway_journal(si))

            # A notification its client never deletes expires with the démarche's
            # timeBeforeFolderDeletion (365 days by default) on the gateway too.
            body, files = certdc_folder(recipient, "ER20190869999")
            await deposit(dgs, body, files)
            si_db = _gateway_db(si)

            async def notified() -> bool:
                return _rows(si_db, "notifications") == 1

            await eventually(notified, timeout=30, what="the commune's new notification")
            runtime = si.runtime
            retention = Retention(runtime.store, runtime.blobs, runtime.sink)
            soon = await retention.purge(now=datetime.now(UTC) + timedelta(days=364))
            assert soon.notifications_deleted == 0
            late = await retention.purge(now=datetime.now(UTC) + timedelta(days=366))
            assert late.notifications_deleted == 1 and _rows(si_db, "notifications") == 0
            expired = [e for e in await _gateway_journal(si) if b"purge.notifications" in e]
            assert any(b'"reason":"retention"' in e for e in expired)

    asyncio.run(main())
