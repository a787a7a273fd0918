"""Abandoned resumable uploads: ``sceau hub purge`` deletes a partial upload untouched
for ``upload_abandon_after_hours`` (journaled by id), keeps a fresh one, and a later
resume of the deleted one is answered 410 saying to restart from byte 0, which works."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from appliance.cli import main
from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    Gateway,
    LinkHub,
    push_body,
    sealed_folder,
    sha256_digest_header,
)
from tests.integration.hub_link.test_uploads import cut_upload, offset

LinkRun = Callable[..., None]
SIZE = 3 * 1024 * 1024 + 777


async def _half_uploaded(hub: LinkHub, dgs: Gateway, name: str) -> tuple[str, str, bytes, int]:
    """A pushed folder whose one attachment is half uploaded: (path, id, data, held)."""
    data = os.urandom(SIZE)
    folder = sealed_folder(DGS, [SAINT_DENIS], {name: data})
    pushed = await dgs.call(
        "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(dgs, folder)
    )
    attachment = str(pushed.json()["folder"]["attachments"][0]["id"])
    path = f"/link/v1/folders/{folder.folder_id}/attachments/{attachment}"
    await cut_upload(hub, dgs, path, data, SIZE // 2)
    for _ in range(50):
        if held := await offset(dgs, path):
            return path, attachment, data, held
        await asyncio.sleep(0.1)
    raise AssertionError("the hub kept nothing of the cut upload")


def _purge(data_dir: Path) -> str:
    result = CliRunner().invoke(main, ["hub", "purge", "--data", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_abandoned_upload_is_purged_and_its_resume_says_restart(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        old_path, old_id, old_data, old_held = await _half_uploaded(hub, dgs, "ancien.pdf")
        new_path, new_id, _, new_held = await _half_uploaded(hub, dgs, "recent.pdf")
        uploads = hub.runtime.config.uploads_dir
        aged = time.time() - 25 * 3600  # the default is 24 hours
        os.utime(uploads / f"{old_id}.part", (aged, aged))

        output = await asyncio.to_thread(_purge, hub.runtime.config.data_dir)
        assert "uploads_expired: 1" in output
        assert not (uploads / f"{old_id}.part").exists()
        assert (uploads / f"{new_id}.part").exists()  # fresh: kept, still resumable
        assert await offset(dgs, new_path) == new_held
        assert await offset(dgs, old_path) == 0

        # Journaled by id only: no file name, no content.
        with sqlite3.connect(f"file:{hub.runtime.config.engine.db_path}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT subject, data FROM journal WHERE kind = 'purge.upload'"
            ).fetchall()
        assert [r[0] for r in rows] == [old_id]
        detail = json.loads(rows[0][1])
        assert detail["bytes"] == old_held and detail["reason"] == "abandoned"
        assert "ancien" not in rows[0][1]

        headers = {
            "Content-Type": "application/octet-stream",
            "digest": sha256_digest_header(old_data),
        }
        resumed = await dgs.call(
            "PUT",
            old_path,
            data=old_data[old_held:],
            headers=headers | {"Content-Range": f"bytes {old_held}-{SIZE - 1}/{SIZE}"},
        )
        assert resumed.status == 410, resumed.body
        assert "restart it from byte 0" in resumed.message
        again = await dgs.call("PUT", old_path, data=old_data, headers=headers)
        assert again.status == 204, again.body
        assert await offset(dgs, old_path) == SIZE
        assert not (uploads / f"{old_id}.expired").exists()

        # A second purge finds nothing more to do.
        assert "uploads_expired: 0" in await asyncio.to_thread(_purge, hub.runtime.config.data_dir)

    link_run(scenario)
