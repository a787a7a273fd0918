"""Durable file-system steps: fsync, atomic moves, file names safe to create.

Every function here blocks; callers run them in a worker thread.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from pathlib import Path
from typing import Any

# Most file systems allow 255 bytes per name; keep room for a " (2)" suffix.
MAX_NAME_BYTES = 240


def fsync_dir(path: Path) -> None:
    """Make the entries of ``path`` (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` and fsync it (not its directory)."""
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def free_name(directory: Path, name: str) -> str:
    """``name``, or ``name.1``, ``name.2``… : the first that does not exist in ``directory``."""
    candidate, n = name, 0
    while (directory / candidate).exists() or (directory / f"{candidate}.error").exists():
        n += 1
        candidate = f"{name}.{n}"
    return candidate


def move_into(source: Path, directory: Path, name: str) -> Path:
    """Rename ``source`` to ``directory/name`` (suffixed if taken); fsync both parents."""
    target = directory / free_name(directory, name)
    os.rename(source, target)
    fsync_dir(directory)
    if source.parent != directory:
        fsync_dir(source.parent)
    return target


def remove_tree(path: Path) -> None:
    """Remove a file or a folder, if present."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def local_file_name(raw: str, taken: set[str]) -> str:
    """A name to create a received file under, from the name the sender chose.

    Keeps the last path component, drops control and separator characters, refuses
    hidden and reserved names (``.``, ``..``, ``metadata.json``), bounds the length, and
    makes it unique among ``taken`` (case-insensitively, for SMB shares). Adds the
    result to ``taken``.
    """
    last = raw.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFC", last) if ch.isprintable() and ch not in '<>:"|?*'
    ).strip(" .")
    if not cleaned:
        cleaned = "file"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem:
        stem, ext = cleaned, ""
    else:
        ext = f".{ext}"
    if len(ext.encode()) > 20:  # not an extension anyone relies on: keep the stem's room
        stem, ext = stem + ext, ""
    while len((stem + ext).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    candidate, n = stem + ext, 1
    lowered = {t.lower() for t in taken}
    while candidate.lower() in lowered or candidate.lower() == "metadata.json":
        n += 1
        candidate = f"{stem} ({n}){ext}"
    taken.add(candidate)
    return candidate
