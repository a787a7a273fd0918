"""Small whole uploads go straight to the intake, without the resume spool: a cut keeps
nothing (HEAD says 0, no part file), a wrong digest keeps nothing, and the whole body
sent again is taken and served back byte for byte."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from hub.uploads import DIRECT
from hubee.routes_cases import TLS_CHUNK
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


def test_a_download_over_tls_larger_than_a_read_chunk_comes_back_whole(
    link_run: LinkRun,
) -> None:
    size = 2 * TLS_CHUNK + 12345  # three reads, the last one short

    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        data = os.urandom(size)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"scan.pdf": data})
        pushed = await dgs.call(
            "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(dgs, folder)
        )
        attachment = pushed.json()["folder"]["attachments"][0]["id"]
        path = f"/link/v1/folders/{folder.folder_id}/attachments/{attachment}"
        headers = {"Content-Type": "application/octet-stream", "digest": sha256_digest_header(data)}
        put = await dgs.call("PUT", path, data=data, headers=headers)
        assert put.status == 204, put.body
        assert (
            await dgs.call("POST", f"/link/v1/folders/{folder.folder_id}/complete")
        ).status == 200
        saint_denis = await hub.gateway(SAINT_DENIS)
        feed = await saint_denis.call("GET", "/link/v1/notifications")
        case_id = feed.json()["items"][0]["caseId"]
        url = f"/link/v1/cases/{case_id}/attachments/{attachment}"
        got = await saint_denis.call("GET", url)
        assert got.status == 200 and got.body == data
        assert got.headers["digest"] == sha256_digest_header(data).removeprefix("sha-256=")
        assert got.headers["Accept-Ranges"] == "bytes"
        tail = await saint_denis.call("GET", url, headers={"Range": f"bytes={size - 100}-"})
        assert tail.status == 206 and tail.body == data[-100:]

    link_run(scenario)
