"""The files of a key rotation, and the switch from the old pair to the new one.

Layout (docs/KEYS.md), beside the current ``keys/`` and ``certs/`` files:

- ``keys/next/tls.key``, ``keys/next/seal.key`` (0600) and ``certs/next/tls.csr``,
  ``certs/next/seal.csr``: the staged keys and their CSRs;
- ``certs/next/seal.pem`` then ``certs/next/tls.pem``: what the hub certified;
- ``keys/next/switch.json``: the switch is decided (the commit point);
- ``keys/archive/<old TLS serial>/``: the replaced keys and certificates, kept forever;
- ``rotation-complete.json``: switched here, the hub not yet told.

The switch is a roll-forward journal. Before ``switch.json`` exists, the current files
are untouched and the old pair works. Once it exists, whoever loads the keys first
(:func:`finish_switch`, called by :class:`gateway.identity.GatewayIdentity` and
:func:`gateway.identity.link_ssl_context`) renames each staged file over the current
one; each rename is atomic and a file already moved is skipped, so a kill at any point
leaves either the old pair or (after the next load) the new one.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import GatewayConfigError
from gateway.settings import GatewayPaths, write_json


@dataclass(frozen=True)
class RotationPaths:
    """Where the staged, archived and pending files of a rotation live."""

    paths: GatewayPaths

    @property
    def next_keys(self) -> Path:
        return self.paths.keys / "next"

    @property
    def next_certs(self) -> Path:
        return self.paths.certs / "next"

    @property
    def archive(self) -> Path:
        return self.paths.keys / "archive"

    @property
    def tls_key(self) -> Path:
        return self.next_keys / "tls.key"

    @property
    def seal_key(self) -> Path:
        return self.next_keys / "seal.key"

    @property
    def tls_csr(self) -> Path:
        return self.next_certs / "tls.csr"

    @property
    def seal_csr(self) -> Path:
        return self.next_certs / "seal.csr"

    @property
    def tls_cert(self) -> Path:
        return self.next_certs / "tls.pem"

    @property
    def seal_cert(self) -> Path:
        return self.next_certs / "seal.pem"

    @property
    def switch(self) -> Path:
        return self.next_keys / "switch.json"

    @property
    def complete(self) -> Path:
        return self.paths.root / "rotation-complete.json"

    def promoted(self) -> tuple[tuple[Path, Path], ...]:
        """(staged, current) pairs, in the order the switch renames them."""
        p = self.paths
        return (
            (self.seal_cert, p.seal_cert),
            (self.seal_key, p.seal_key),
            (self.tls_cert, p.tls_cert),
            (self.tls_key, p.tls_key),
            (self.seal_csr, p.seal_csr),
            (self.tls_csr, p.tls_csr),
        )

    def archived(self) -> tuple[Path, ...]:
        """The current files the switch copies to the archive first."""
        p = self.paths
        return (p.tls_key, p.seal_key, p.tls_cert, p.seal_cert)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` durably at ``path`` (0600): a temporary file, fsync, rename."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def archive_current(rotation: RotationPaths, name: str) -> Path:
    """Copy the current keys and certificates to ``keys/archive/<name>/`` (0700/0600)."""
    folder = rotation.archive / name
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    rotation.archive.chmod(0o700)
    for source in rotation.archived():
        write_private(folder / source.name, source.read_bytes())
    return folder


def decide_switch(rotation: RotationPaths, record: dict[str, Any]) -> None:
    """The commit point: from now on, the staged pair replaces the current one."""
    write_json(rotation.switch, record)
    fsync_dir(rotation.next_keys)


def finish_switch(paths: GatewayPaths) -> bool:
    """Roll a decided switch forward (idempotent); True if one was pending."""
    rotation = RotationPaths(paths)
    if not rotation.switch.exists():
        return False
    try:
        record = json.loads(rotation.switch.read_text("utf-8"))
        for staged, current in rotation.promoted():
            if staged.exists():
                os.replace(staged, current)
        for folder in (paths.keys, paths.certs):
            fsync_dir(folder)
        write_json(rotation.complete, record)
        fsync_dir(paths.root)
        rotation.switch.unlink()
        shutil.rmtree(rotation.next_certs, ignore_errors=True)
        shutil.rmtree(rotation.next_keys, ignore_errors=True)
    except (OSError, ValueError) as exc:
        raise GatewayConfigError(
            f"cannot finish the key switch in {paths.root}: {exc}",
            hint="Fix the named file's permissions or disk, then run `sceau gateway "
            "rotate-keys` again (it resumes the switch).",
        ) from exc
    return True
