"""Small whole uploads go straight to the intake, without the resume spool: a cut keeps
nothing (HEAD says 0, no part file), a wrong digest keeps nothing, and the whole body
sent again is taken and served back byte for byte."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from hub.uploads import DIRECT
from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    LinkHub,
    push_body,
    sealed_folder,
    sha256_digest_header,
)
from tests.integration.hub_link.test_uploads import cut_upload, offset

LinkRun = Callable[..., None]
SIZE = 200 * 1024


def test_a_small_upload_cut_midway_keeps_nothing_and_is_sent_again_whole(
    link_run: LinkRun,
) -> None:
    assert SIZE <= DIRECT

    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        data = os.urandom(SIZE)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": data})
        pushed = await dgs.call(
            "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(dgs, folder)
        )
        attachment = pushed.json()["folder"]["attachments"][0]["id"]
        path = f"/link/v1/folders/{folder.folder_id}/attachments/{attachment}"
        part = hub.runtime.config.uploads_dir / f"{attachment}.part"

        await cut_upload(hub, dgs, path, data, SIZE // 2)
        await asyncio.sleep(0.5)  # the hub notices the cut
        assert await offset(dgs, path) == 0
        assert not part.exists()

        headers = {"Content-Type": "application/octet-stream"}
        wrong = await dgs.call(
            "PUT", path, data=data, headers=headers | {"digest": sha256_digest_header(b"x")}
        )
        assert wrong.status == 400 and "digest" in wrong.message
        assert await offset(dgs, path) == 0

        whole = await dgs.call(
            "PUT", path, data=data, headers=headers | {"digest": sha256_digest_header(data)}
        )
        assert whole.status == 204, whole.body
        assert await offset(dgs, path) == SIZE
        assert not part.exists()
        again = await dgs.call(
            "PUT", path, data=data, headers=headers | {"digest": sha256_digest_header(data)}
        )
        assert again.status == 204, again.body  # a replay after a crash: a no-op

        done = await dgs.call("POST", f"/link/v1/folders/{folder.folder_id}/complete")
        assert done.status == 200
        saint_denis = await hub.gateway(SAINT_DENIS)
        feed = await saint_denis.call("GET", "/link/v1/notifications")
        case_id = feed.json()["items"][0]["caseId"]
        got = await saint_denis.call("GET", f"/link/v1/cases/{case_id}/attachments/{attachment}")
        assert got.status == 200 and got.body == data

    link_run(scenario)
