"""Resumable uploads: spooling, cuts, offsets, overflow, and handing over to the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import UploadInterrupted, UploadOffsetMismatch
from hub.uploads import DIRECT, ContentRange, Uploads
from hubee.errors import PayloadTooLarge, ValidationFailed

DATA = bytes(range(256)) * 20_000  # 5 MiB and a bit: several spool chunks


async def stream(
    data: bytes, *, cut_after: int | None = None, step: int = 300_000
) -> AsyncIterator[bytes]:
    for start in range(0, len(data), step):
        if cut_after is not None and start >= cut_after:
            raise ConnectionResetError("Connection lost")
        yield data[start : start + step]


def test_a_cut_keeps_what_arrived_and_the_rest_completes_it(tmp_path: Path) -> None:
    async def main() -> None:
        uploads = Uploads(tmp_path / "uploads")
        delivered: list[bytes] = []

        async def deliver(body: AsyncIterator[bytes]) -> None:
            delivered.append(b"".join([c async for c in body]))

        with pytest.raises(UploadInterrupted, match="resume with Content-Range: bytes 1200000-"):
            await uploads.receive(
                "att",
                stream(DATA, cut_after=1_200_000),
                size=len(DATA),
                content_range=None,
                deliver=deliver,
            )
        held = await uploads.offset("att")
        assert held == 1_200_000 and not delivered
        with pytest.raises(UploadOffsetMismatch, match=f"resume at Content-Range: bytes {held}-"):
            await uploads.receive(
                "att",
                stream(DATA[10:]),
                size=len(DATA),
                content_range=ContentRange(10, len(DATA) - 1, len(DATA)),
                deliver=deliver,
            )
        reached = await uploads.receive(
            "att",
            stream(DATA[held:]),
            size=len(DATA),
            content_range=ContentRange(held, len(DATA) - 1, len(DATA)),
            deliver=deliver,
        )
        assert reached == len(DATA) and delivered == [DATA]
        assert await uploads.offset("att") == 0 and not uploads.part_path("att").exists()

    asyncio.run(main())


def test_an_upload_from_zero_restarts_and_a_refused_delivery_drops_the_spool(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        uploads = Uploads(tmp_path / "uploads")

        async def refuse(body: AsyncIterator[bytes]) -> None:
            async for _ in body:
                pass
            raise ValidationFailed("digest", "does not match the body")

        with pytest.raises(UploadInterrupted):
            await uploads.receive(
                "a",
                stream(DATA, cut_after=600_000),
                size=len(DATA),
                content_range=None,
                deliver=refuse,
            )
        assert await uploads.offset("a") == 600_000
        with pytest.raises(ValidationFailed, match="does not match"):
            await uploads.receive(
                "a", stream(DATA), size=len(DATA), content_range=None, deliver=refuse
            )
        assert await uploads.offset("a") == 0

    asyncio.run(main())


def test_more_than_the_size_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    async def main() -> None:
        uploads = Uploads(tmp_path / "uploads")

        async def never(body: AsyncIterator[bytes]) -> None:
            raise AssertionError("not complete, not delivered")

        with pytest.raises(PayloadTooLarge):
            await uploads.receive(
                "b", stream(DATA), size=len(DATA) - 1, content_range=None, deliver=never
            )
        assert await uploads.offset("b") == 0

    asyncio.run(main())


def test_one_upload_of_an_attachment_at_a_time(tmp_path: Path) -> None:
    async def main() -> None:
        uploads = Uploads(tmp_path / "uploads")
        gate = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield b"x"
            await gate.wait()

        async def never(body: AsyncIterator[bytes]) -> None:
            raise AssertionError

        size = DIRECT + 10  # spooled (a whole upload up to DIRECT skips the spool)
        first = asyncio.create_task(
            uploads.receive("c", slow(), size=size, content_range=None, deliver=never)
        )
        await asyncio.sleep(0.05)
        with pytest.raises(Exception, match="already in progress"):
            await uploads.receive("c", stream(b"y"), size=size, content_range=None, deliver=never)
        gate.set()
        assert await first == 1

    asyncio.run(main())


@given(st.text(max_size=60))
def test_content_range_parsing_refuses_anything_malformed(text: str) -> None:
    try:
        parsed = ContentRange.parse(text)
    except ValidationFailed as exc:
        assert exc.field == "Content-Range"
    else:
        assert 0 <= parsed.first <= parsed.last < parsed.total


@given(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(1, 2**40))
def test_content_range_accepts_exactly_the_ranges_within_the_total(
    first: int, length: int, total: int
) -> None:
    last = first + length
    text = f"bytes {first}-{last}/{total}"
    if last < total:
        assert ContentRange.parse(text) == ContentRange(first, last, total)
    else:
        with pytest.raises(ValidationFailed):
            ContentRange.parse(text)


def test_a_small_whole_upload_goes_straight_to_deliver_one_at_a_time(tmp_path: Path) -> None:
    async def main() -> None:
        uploads = Uploads(tmp_path / "uploads")
        gate = asyncio.Event()
        delivered: list[bytes] = []
        small = DATA[:DIRECT]

        async def deliver(body: AsyncIterator[bytes]) -> None:
            async for chunk in body:
                delivered.append(chunk)
            await gate.wait()

        first = asyncio.create_task(
            uploads.receive(
                "d", stream(small), size=len(small), content_range=None, deliver=deliver
            )
        )
        await asyncio.sleep(0.05)
        assert b"".join(delivered) == small  # delivered as it arrived, never spooled
        assert not uploads.part_path("d").exists()
        with pytest.raises(Exception, match="already in progress"):
            await uploads.receive(
                "d", stream(small), size=len(small), content_range=None, deliver=deliver
            )
        gate.set()
        assert await first == len(small)
        assert await uploads.offset("d") == 0

    asyncio.run(main())
