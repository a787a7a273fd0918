"""Resumable uploads: a cut connection keeps what arrived; the upload resumes there."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    Gateway,
    LinkHub,
    client_context,
    push_body,
    sealed_folder,
    sha256_digest_header,
)

LinkRun = Callable[..., None]
SIZE = 3 * 1024 * 1024 + 12345


async def cut_upload(hub: LinkHub, gateway: Gateway, path: str, data: bytes, sent: int) -> None:
    """Start a PUT of ``data`` over a raw TLS connection, send ``sent`` bytes, and drop it."""
    url = urlsplit(hub.url)
    context = client_context(hub.ca_pem, gateway.folder / "tls.pem", gateway.folder / "tls.key")
    reader, writer = await asyncio.open_connection(url.hostname, url.port, ssl=context)
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {len(data)}\r\ndigest: {sha256_digest_header(data)}\r\n\r\n"
    )
    writer.write(head.encode() + data[:sent])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.transport.abort()
    del reader


async def offset(gateway: Gateway, path: str) -> int:
    reply = await gateway.call("HEAD", path)
    assert reply.status == 200
    return int(reply.headers["Upload-Offset"])


def test_an_upload_cut_midway_resumes_from_where_it_stopped(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        data = os.urandom(SIZE)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"dossier.pdf": data})
        pushed = await dgs.call(
            "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(dgs, folder)
        )
        attachment = pushed.json()["folder"]["attachments"][0]["id"]
        path = f"/link/v1/folders/{folder.folder_id}/attachments/{attachment}"
        assert await offset(dgs, path) == 0

        half = SIZE // 2
        await cut_upload(hub, dgs, path, data, half)
        held = 0
        for _ in range(50):  # the hub notices the cut and keeps what arrived
            held = await offset(dgs, path)
            if held:
                break
            await asyncio.sleep(0.1)
        assert 0 < held <= half

        headers = {
            "Content-Type": "application/octet-stream",
            "digest": sha256_digest_header(data),
        }
        wrong = await dgs.call(
            "PUT",
            path,
            data=data[held + 1 :],
            headers=headers | {"Content-Range": f"bytes {held + 1}-{SIZE - 1}/{SIZE}"},
        )
        assert wrong.status == 409 and f"resume at Content-Range: bytes {held}-" in wrong.message
        assert await offset(dgs, path) == held

        # Resume in two steps: a partial range (202), then the rest (204).
        middle = held + 1000
        step = await dgs.call(
            "PUT",
            path,
            data=data[held:middle],
            headers=headers | {"Content-Range": f"bytes {held}-{middle - 1}/{SIZE}"},
        )
        assert step.status == 202 and step.headers["Upload-Offset"] == str(middle)
        rest = await dgs.call(
            "PUT",
            path,
            data=data[middle:],
            headers=headers | {"Content-Range": f"bytes {middle}-{SIZE - 1}/{SIZE}"},
        )
        assert rest.status == 204, rest.body
        assert await offset(dgs, path) == SIZE
        assert not hub.runtime.config.uploads_dir.joinpath(f"{attachment}.part").exists()

        done = await dgs.call("POST", f"/link/v1/folders/{folder.folder_id}/complete")
        assert done.status == 200
        saint_denis = await hub.gateway(SAINT_DENIS)
        feed = await saint_denis.call("GET", "/link/v1/notifications")
        case_id = feed.json()["items"][0]["caseId"]
        got = await saint_denis.call("GET", f"/link/v1/cases/{case_id}/attachments/{attachment}")
        assert got.status == 200 and got.body == data

    link_run(scenario)


def test_more_bytes_than_declared_are_refused_and_dropped(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        data = b"a" * 1000
        folder = sealed_folder(DGS, [SAINT_DENIS], {"petit.pdf": data})
        pushed = await dgs.call(
            "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(dgs, folder)
        )
        attachment = pushed.json()["folder"]["attachments"][0]["id"]
        path = f"/link/v1/folders/{folder.folder_id}/attachments/{attachment}"
        too_much = await dgs.call(
            "PUT",
            path,
            data=data + b"extra",
            headers={
                "Content-Type": "application/octet-stream",
                "digest": sha256_digest_header(data),
            },
        )
        assert too_much.status == 413
        assert await offset(dgs, path) == 0

    link_run(scenario)
