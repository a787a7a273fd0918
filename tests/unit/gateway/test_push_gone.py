"""A hub that expired a partial upload answers 410 to its resume: the gateway treats it
as "try again later" (the retry asks the offset, now 0, and re-sends the whole file),
never as a refusal that fails the dossier. Other refusals stay refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.errors import HubRefused, HubUnreachable
from gateway.push import Pusher
from hubee.model import Attachment, AttachmentStatus


class _Link:
    def __init__(self, status: int) -> None:
        self.status = status
        self.calls: list[int] = []

    async def upload(self, path: str, chunks: AsyncIterator[bytes], **kw: Any) -> int:
        self.calls.append(kw["offset"])
        raise HubRefused("the hub discarded this partial upload", status=self.status)


def _pusher(link: _Link) -> Pusher:
    pusher = Pusher(None, None, link, None, org_key="1/2", clock=None)  # type: ignore[arg-type]

    async def plaintext(sha256: str, skip: int) -> AsyncIterator[bytes]:
        yield b"x"

    pusher._plaintext = plaintext  # type: ignore[method-assign]
    return pusher


def _attachment() -> Attachment:
    return Attachment(
        id="att",
        file_name="f.pdf",
        type="PJ",
        size=10,
        mime_type="application/pdf",
        status=AttachmentStatus.PENDING,
        sha256="0" * 64,
    )


@pytest.mark.parametrize(("status", "retried"), [(410, True), (409, True), (400, False)])
def test_an_expired_upload_is_retried_not_refused(status: int, retried: bool) -> None:
    link = _Link(status)
    expected = HubUnreachable if retried else HubRefused
    with pytest.raises(expected):
        asyncio.run(_pusher(link)._put("/link/v1/x", _attachment(), 5))
    assert link.calls == [5]
