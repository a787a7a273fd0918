"""``<data>/exports``: where evidence bundles are written to be served, never kept.

A bundle holds the dossier in clear (it is the one place where the encryption at rest
of ``blobs/`` is undone), so each export is a fresh file that :func:`export_file`
deletes whatever happens: served, verified, refused or cancelled. A gateway killed in
between leaves the file behind; :func:`sweep_exports` deletes such leftovers, and the
partial ``.bundle-*.tmp`` files of an interrupted write, when the service starts. It
spares files younger than ``STALE_AFTER``: another process on the same data folder (the
CLI) may be writing one right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger("gateway")
STALE_AFTER = timedelta(minutes=5)


def exports_dir(data_dir: Path) -> Path:
    return data_dir / "exports"


async def fresh_export(data_dir: Path, stem: str) -> Path:
    """A new file name under ``<data>/exports`` (created 0700 if missing)."""
    folder = exports_dir(data_dir)
    await asyncio.to_thread(folder.mkdir, mode=0o700, exist_ok=True)
    return folder / f"{stem}-{secrets.token_hex(8)}.asice"


@contextlib.asynccontextmanager
async def export_file(data_dir: Path, stem: str) -> AsyncIterator[Path]:
    """A fresh path under ``<data>/exports``, deleted on leaving the block whatever
    happens (an open stream on it still reads to its end)."""
    path = await fresh_export(data_dir, stem)
    try:
        yield path
    finally:
        await asyncio.to_thread(discard, path)


def discard(path: Path) -> None:
    """Delete an export file; gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sweep_exports(data_dir: Path, *, now: datetime, older_than: timedelta = STALE_AFTER) -> int:
    """Delete the files of ``<data>/exports`` last modified before ``now - older_than``
    (left by a killed gateway); the number deleted. Never follows a symbolic link."""
    folder = exports_dir(data_dir)
    limit = (now - older_than).timestamp()
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        log.warning("deleted %d leftover export file(s) from %s", removed, folder)
    return removed
