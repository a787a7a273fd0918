"""Expiry of abandoned partial uploads: aged spools go (with a marker), fresh ones and
those in progress stay, old markers go, a resume of an expired one is refused (410),
and the running hub's schedule journals each expiry by id."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.errors import HubConfigError, UploadExpired
from hub.settings import HubConfig
from hub.upload_expiry import run_upload_expiry
from hub.uploads import MARKER_DAYS, ContentRange, Uploads
from hubee.http_errors import status_for
from hubee.services import HubDeps
from hubee.settings import HubSettings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def _part(uploads: Uploads, attachment_id: str, size: int, age: timedelta) -> Path:
    path = uploads.part_path(attachment_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = (NOW - age).timestamp()
    os.utime(path, (when, when))
    return path


async def _nothing() -> AsyncIterator[bytes]:
    yield b"rest"


async def _deliver(body: AsyncIterator[bytes]) -> None:
    async for _ in body:
        pass


def test_aged_spools_go_fresh_and_busy_ones_stay(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "uploads")
    aged = _part(uploads, "aged", 1000, DAY + timedelta(minutes=1))
    fresh = _part(uploads, "fresh", 10, DAY - timedelta(minutes=1))
    busy = _part(uploads, "busy", 10, DAY * 3)
    uploads._busy.add("busy")  # an upload running in this process right now
    old_marker = uploads.expired_path("long-ago")
    old_marker.touch()
    stale = (NOW - timedelta(days=MARKER_DAYS + 1)).timestamp()
    os.utime(old_marker, (stale, stale))

    expired = uploads.expire(now=NOW, after=DAY)

    assert [(e.attachment_id, e.size) for e in expired] == [("aged", 1000)]
    assert expired[0].last_written == NOW - DAY - timedelta(minutes=1)
    assert not aged.exists() and uploads.expired_path("aged").exists()
    assert fresh.exists() and busy.exists() and not old_marker.exists()
    assert uploads.expire(now=NOW, after=DAY) == []  # idempotent
    assert Uploads(tmp_path / "none").expire(now=NOW, after=DAY) == []  # no folder yet


def test_a_resume_of_an_expired_upload_is_gone_and_a_restart_clears_it(tmp_path: Path) -> None:
    async def main() -> None:
        uploads = Uploads(tmp_path / "uploads")
        _part(uploads, "att", 6, DAY * 2)
        uploads.expire(now=NOW, after=DAY)
        assert await uploads.offset("att") == 0
        with pytest.raises(UploadExpired, match="restart it from byte 0") as refused:
            await uploads.receive(
                "att",
                _nothing(),
                size=10,
                content_range=ContentRange(6, 9, 10),
                deliver=_deliver,
            )
        assert status_for(refused.value) == 410
        reached = await uploads.receive(
            "att", _nothing(), size=10, content_range=ContentRange(0, 3, 10), deliver=_deliver
        )
        assert reached == 4 and not uploads.expired_path("att").exists()

    asyncio.run(main())


def _journal(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{data_dir / 'hub.db'}?mode=ro", uri=True) as db:
        return [(str(k), str(s)) for k, s in db.execute("SELECT kind, subject FROM journal")]


def test_the_running_hub_expires_on_a_schedule_and_journals_ids(tmp_path: Path) -> None:
    async def main() -> None:
        deps = HubDeps.open(HubSettings(data_dir=tmp_path))
        uploads = Uploads(tmp_path / "uploads")
        _part(uploads, "abc-123", 42, DAY * 2)
        task = asyncio.create_task(
            run_upload_expiry(
                uploads, deps.store, deps.sink, after=DAY, clock=lambda: NOW, every=0.01
            )
        )
        try:
            for _ in range(3000):
                if _journal(tmp_path) and not uploads.part_path("abc-123").exists():
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # a few more passes: nothing more is journaled
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await deps.close()
        assert _journal(tmp_path) == [("purge.upload", "abc-123")]  # once, though it ran on

    asyncio.run(main())


def test_the_delay_is_a_hub_setting_in_hours(tmp_path: Path) -> None:
    assert HubConfig(data_dir=tmp_path).upload_abandon_after == DAY  # the default
    config = HubConfig.from_mapping({"upload_abandon_after_hours": 1.5}, data_dir=tmp_path)
    assert config.upload_abandon_after == timedelta(minutes=90)
    assert config.to_mapping()["upload_abandon_after_hours"] == 1.5
    with pytest.raises(HubConfigError, match="upload_abandon_after: must be positive"):
        HubConfig.from_mapping({"upload_abandon_after_hours": 0}, data_dir=tmp_path)
