"""A folder push replayed from scratch after the hub already took all of it, as after a
kill -9 between the hub's answers and the gateway's "done" commit: the first attempt
re-sends small attachments whole without asking the hub's offset (one round trip less),
and that must be a no-op at the hub: the item ends done at once, without a retry, a
refusal or a second notification at the recipient."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.tables import GatewayTables
from hubee.model import Scope
from hubee.store import StoreTx
from tests.integration.gateway.world import SAINT_DENIS, Gw, eventually, lan_client, world
from tests.unit.gateway.support import certdc_folder, deposit


async def _push_item(gw: Gw) -> tuple[str, int, str | None]:
    def read(tx: StoreTx) -> tuple[str, int, str | None]:
        row = (
            GatewayTables.of(tx)
            .conn.execute(
                "SELECT state, attempts, last_error FROM gw_link_outbox WHERE kind = 'push_folder'"
            )
            .fetchone()
        )
        return (str(row[0]), int(row[1]), row[2])

    found: tuple[str, int, str | None] = await gw.runtime.store.read(read)
    return found


def test_a_replayed_push_of_a_folder_the_hub_holds_is_done_without_a_retry(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with world(tmp_path) as (_hub, osl, si, session):
            dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
            commune = await lan_client(si, session, name="sd", process="CERTDC", scope=Scope.SI)
            body, files = certdc_folder(
                (SAINT_DENIS.company_register, SAINT_DENIS.branch_code), "ER-REPLAY-1"
            )
            await deposit(dgs, body, files)

            async def notifications() -> list[dict[str, Any]]:
                reply = await commune.call("GET", "/teledossiers/v1/notifications?maxResult=25")
                assert reply.status == 200, reply.body
                found: list[dict[str, Any]] = reply.json()
                return found

            first = await eventually(notifications, what="the SI's notification")
            assert len(first) == 1
            assert await _push_item(osl) == ("done", 0, None)

            # The crash: the hub holds the folder, every attachment and the completion,
            # but the gateway's "done" never committed.
            def forget(tx: StoreTx) -> None:
                GatewayTables.of(tx).conn.execute(
                    "UPDATE gw_link_outbox SET state = 'pending', done_at = NULL "
                    "WHERE kind = 'push_folder'"
                )

            await osl.runtime.store.write(forget)
            assert (await _push_item(osl))[0] == "pending"
            offsets_asked: list[str] = []
            link = osl.service.link
            ask_offset = link.upload_offset

            async def counting(path: str) -> int:
                offsets_asked.append(path)
                return await ask_offset(path)

            link.upload_offset = counting  # type: ignore[method-assign]
            osl.service.outbox.poke()

            async def done_again() -> tuple[str, int, str | None] | None:
                item = await _push_item(osl)
                return item if item[0] != "pending" else None

            assert await eventually(done_again, what="the replayed push") == ("done", 0, None)
            assert offsets_asked == [], "small attachments are re-sent whole, no HEAD first"
            again = await notifications()
            assert [n["id"] for n in again] == [n["id"] for n in first]
            case = await commune.call("GET", f"/teledossiers/v1/cases/{first[0]['caseId']}")
            assert case.status == 200
            assert len(case.json()["attachments"]) == len(files)

    asyncio.run(main())
