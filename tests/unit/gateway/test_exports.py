"""``<data>/exports``: every export file is deleted, and leftovers are swept."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.console import proof
from gateway.exports import export_file, sweep_exports

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _aged(path: Path, age: timedelta) -> None:
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))


def test_sweep_deletes_files_older_than_five_minutes_only(tmp_path: Path) -> None:
    assert sweep_exports(tmp_path, now=NOW) == 0  # no exports folder yet
    exports = tmp_path / "exports"
    exports.mkdir()
    old, tmp, young = exports / "a.asice", exports / ".bundle-x.tmp", exports / "b.asice"
    for path in (old, tmp, young):
        path.write_bytes(b"clear")
    _aged(old, timedelta(minutes=6))
    _aged(tmp, timedelta(days=3))
    _aged(young, timedelta(minutes=4))
    (exports / "sub").mkdir()
    outside = tmp_path / "outside"
    outside.write_bytes(b"not ours")
    _aged(outside, timedelta(days=3))
    (exports / "link").symlink_to(outside)
    os.utime(exports / "link", (0, 0), follow_symlinks=False)
    assert sweep_exports(tmp_path, now=NOW) == 3  # old, tmp and the (old) link itself
    assert sorted(p.name for p in exports.iterdir()) == ["b.asice", "sub"]
    assert outside.read_bytes() == b"not ours"  # a link is removed, never followed


def test_an_export_file_is_deleted_even_when_the_work_fails(tmp_path: Path) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError):
            async with export_file(tmp_path, "dossier") as path:
                path.write_bytes(b"clear")
                raise RuntimeError("verifier crashed")
        assert list((tmp_path / "exports").iterdir()) == []
        assert (tmp_path / "exports").stat().st_mode & 0o777 == 0o700

    asyncio.run(main())


def test_a_failed_proof_export_leaves_nothing_in_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def half_written(dossier_id: str, out: Path, **_: Any) -> None:
        out.write_bytes(b"PK\x03\x04 half a dossier in clear")
        raise OSError("disk full")

    async def drained() -> None:
        return None

    runtime: Any = SimpleNamespace(
        settings=SimpleNamespace(data_dir=tmp_path),
        identity=SimpleNamespace(seal=None, hub_ca=(), journal_vkey=None, witness_vkey=None),
        drain=SimpleNamespace(wait_drained=drained),
        store=None,
        blobs=None,
        journal=None,
        deps=SimpleNamespace(clock=lambda: NOW),
    )
    monkeypatch.setattr(proof, "export_bundle", half_written)
    with pytest.raises(OSError, match="disk full"):
        asyncio.run(proof.prove(runtime, "6f1c2f0e-0000-4000-8000-000000000000"))
    assert list((tmp_path / "exports").iterdir()) == []
