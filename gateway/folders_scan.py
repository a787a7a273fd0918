"""Scanning OUT/: which dropped dossiers are complete enough to take.

A dossier is taken when two scans at least ``settle_time`` apart saw exactly the same
files, sizes and modification times, and no ``.lock`` is present (``OUT/NAME.lock``
or ``OUT/NAME/.lock``). Software that copies slowly, or over a network share, is thus
never read half-written; software that can, should write a ``.lock`` first and delete
it when done.

Names starting with ``.`` or ``~`` (temporary files of editors and copy tools) and
``*.lock`` files are not dossiers. Anything that vanishes during a scan is simply
looked at again at the next one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

LOCK_SUFFIX = ".lock"

Snapshot = tuple[tuple[str, int, int, int], ...]
"""(relative path, file type bits, size, mtime_ns) of each entry, sorted."""


@dataclass(frozen=True)
class Candidate:
    name: str
    snapshot: Snapshot
    locked: bool


def is_dossier_name(name: str) -> bool:
    return not (name.startswith((".", "~")) or name.endswith(LOCK_SUFFIX))


def take_snapshot(path: Path) -> Snapshot | None:
    """What ``path`` holds now (recursively, without following links); None if gone."""
    rows: list[tuple[str, int, int, int]] = []
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return None
    rows.append(("", stat.S_IFMT(top.st_mode), top.st_size, top.st_mtime_ns))
    if not stat.S_ISDIR(top.st_mode):
        return tuple(rows)
    pending = [(path, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            if folder == path:
                return None
            continue  # a subfolder went away: the snapshot differs, which is enough
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            relative = f"{prefix}{entry.name}"
            rows.append((relative, stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns))
            if stat.S_ISDIR(info.st_mode):
                pending.append((Path(entry.path), f"{relative}/"))
    return tuple(sorted(rows))


def is_locked(out: Path, name: str) -> bool:
    return (out / f"{name}{LOCK_SUFFIX}").exists() or (out / name / LOCK_SUFFIX).exists()


def scan_out(out: Path) -> list[Candidate]:
    """Every dossier in ``out`` now, with its snapshot. Blocks (run it in a thread)."""
    found: list[Candidate] = []
    try:
        names = sorted(os.listdir(out))
    except FileNotFoundError:
        return found
    for name in names:
        if not is_dossier_name(name):
            continue
        snapshot = take_snapshot(out / name)
        if snapshot is None:
            continue
        found.append(Candidate(name, snapshot, is_locked(out, name)))
    return found


class Settling:
    """Remembers each dossier's last snapshot, and since when it has not changed."""

    def __init__(self, settle_time: float) -> None:
        self._settle = settle_time
        self._seen: dict[str, tuple[Snapshot, bool, float]] = {}

    def ready(self, candidate: Candidate, *, now: float) -> bool:
        """True once ``candidate`` was seen unlocked and unchanged ``settle_time`` apart.

        A lock just removed counts as a change: the next scan starts the wait afresh.
        """
        previous = self._seen.get(candidate.name)
        if (
            candidate.locked
            or previous is None
            or previous[:2] != (candidate.snapshot, candidate.locked)
        ):
            self._seen[candidate.name] = (candidate.snapshot, candidate.locked, now)
            return False
        return now - previous[2] >= self._settle

    def keep_only(self, names: set[str]) -> None:
        """Forget dossiers no longer in OUT/."""
        for gone in set(self._seen) - names:
            del self._seen[gone]

    def forget(self, name: str) -> None:
        self._seen.pop(name, None)
