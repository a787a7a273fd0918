"""Scanning OUT/: snapshots, locks, and when a dossier has settled (times are parameters)."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.folders_scan import Candidate, Settling, is_dossier_name, scan_out, take_snapshot


def test_scan_lists_dossiers_and_skips_temporary_names(tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    (out / "dossier-a").mkdir(parents=True)
    (out / "dossier-a" / "acte.pdf").write_bytes(b"%PDF-1.4")
    (out / "dossier-b").mkdir()
    (out / "dossier-b.lock").touch()
    (out / ".~lock.acte.odt#").touch()
    (out / "~$rapport.docx").touch()
    (out / "loose.pdf").write_bytes(b"x")
    found = {c.name: c for c in scan_out(out)}
    assert sorted(found) == ["dossier-a", "dossier-b", "loose.pdf"]
    assert found["dossier-b"].locked and not found["dossier-a"].locked
    (out / "dossier-a" / ".lock").touch()
    assert {c.name: c.locked for c in scan_out(out)}["dossier-a"]
    assert scan_out(tmp_path / "absent") == []
    assert not is_dossier_name("x.lock") and is_dossier_name("x.locked")


def test_a_snapshot_changes_with_any_file_change_and_vanishes_with_the_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.pdf").write_bytes(b"1")
    first = take_snapshot(folder)
    assert first == take_snapshot(folder)
    (folder / "a.pdf").write_bytes(b"12")  # size
    second = take_snapshot(folder)
    assert second != first
    os.utime(folder / "a.pdf", ns=(1, 1))  # time only
    third = take_snapshot(folder)
    assert third != second
    (folder / "sub" / "deep.pdf").write_bytes(b"")  # deep in a subfolder
    assert take_snapshot(folder) != third
    assert take_snapshot(tmp_path / "gone") is None


def _candidate(snapshot_id: int, *, locked: bool = False) -> Candidate:
    return Candidate("d", (("", 0, snapshot_id, 0),), locked)


def test_settling_needs_two_identical_scans_settle_time_apart() -> None:
    settling = Settling(settle_time=2.0)
    assert not settling.ready(_candidate(1), now=0.0)  # first sight
    assert not settling.ready(_candidate(1), now=1.9)
    assert settling.ready(_candidate(1), now=2.0)
    assert not settling.ready(_candidate(2), now=3.0)  # changed: the clock starts again
    assert not settling.ready(_candidate(2), now=4.9)
    assert settling.ready(_candidate(2), now=5.0)


def test_a_lock_resets_settling_and_zero_settle_still_needs_two_scans() -> None:
    settling = Settling(settle_time=0.0)
    assert not settling.ready(_candidate(1), now=0.0)
    assert not settling.ready(_candidate(1, locked=True), now=1.0)
    assert not settling.ready(_candidate(1), now=2.0)  # unlocked: seen once again first
    assert settling.ready(_candidate(1), now=2.0)
    settling.forget("d")
    assert not settling.ready(_candidate(1), now=3.0)
    settling.keep_only(set())
    assert not settling.ready(_candidate(1), now=4.0)
