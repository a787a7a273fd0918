"""Watched folders: settings, and the layout of one process's folders on disk.

One root per process (démarche)::

    ROOT/OUT/      dossiers dropped by local software, to send (OSL side)
    ROOT/IN/       cases received, one folder each, written atomically (SI side)
    ROOT/SENT/     dossiers sent, each with its receipt.json
    ROOT/FAILED/   dossiers refused, each beside a NAME.error file
    ROOT/.sceau/   the adapter's own: state.db, work/ (dossiers being sent),
                   incoming/ (cases being written, renamed into IN/ when complete)

Everything must sit on one filesystem: dossiers move by ``rename``, which is atomic
only within one.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from gateway.folders_errors import FolderSetupError
from gateway.folders_retry import Backoff


class Side(enum.Enum):
    """Which side of HubEE the local software is on."""

    OSL = "OSL"  # an operator: sends dossiers (OUT/ → SENT/ or FAILED/)
    SI = "SI"  # an instructing service: receives cases (→ IN/)


@dataclass(frozen=True)
class FolderSettings:
    """One process's watched folders. Times are in seconds."""

    root: Path
    process_code: str
    side: Side
    # How often OUT/ is scanned (OSL) or notifications are listed (SI).
    scan_interval: float = 2.0
    # A dossier is taken once two scans this far apart saw the same names, sizes and
    # modification times (and no .lock).
    settle_time: float = 2.0
    backoff: Backoff = field(default_factory=Backoff)
    # Downloads whose bytes do not match the announced digest are tried this many
    # times; then the case is marked SI_INTG_ERROR and reported in FAILED/.
    max_corrupted_downloads: int = 5
    notifications_per_poll: int = 100
    max_metadata_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not self.process_code.strip():
            raise ValueError("process_code must not be empty")
        if self.scan_interval <= 0 or self.settle_time < 0:
            raise ValueError("scan_interval must be positive and settle_time not negative")
        if self.max_corrupted_downloads < 1 or not 1 <= self.notifications_per_poll <= 1000:
            raise ValueError("max_corrupted_downloads >= 1, 1 <= notifications_per_poll <= 1000")

    @property
    def layout(self) -> FolderLayout:
        return FolderLayout(self.root)


@dataclass(frozen=True)
class FolderLayout:
    root: Path

    @property
    def out(self) -> Path:
        return self.root / "OUT"

    @property
    def inbox(self) -> Path:
        return self.root / "IN"

    @property
    def sent(self) -> Path:
        return self.root / "SENT"

    @property
    def failed(self) -> Path:
        return self.root / "FAILED"

    @property
    def private(self) -> Path:
        return self.root / ".sceau"

    @property
    def work(self) -> Path:
        return self.private / "work"

    @property
    def incoming(self) -> Path:
        return self.private / "incoming"

    @property
    def state_db(self) -> Path:
        return self.private / "state.db"

    def create(self) -> None:
        """Create the folders (the private one 0700); check they share one filesystem."""
        try:
            for path in (self.out, self.inbox, self.sent, self.failed):
                path.mkdir(parents=True, exist_ok=True)
            self.private.mkdir(mode=0o700, exist_ok=True)
            self.work.mkdir(mode=0o700, exist_ok=True)
            self.incoming.mkdir(mode=0o700, exist_ok=True)
            devices = {
                p.name: os.stat(p).st_dev
                for p in (self.out, self.inbox, self.sent, self.failed, self.private)
            }
        except OSError as exc:
            raise FolderSetupError(
                f"cannot prepare the watched folders in {self.root}: {exc}"
            ) from exc
        if len(set(devices.values())) != 1:
            raise FolderSetupError(
                f"OUT, IN, SENT, FAILED and .sceau under {self.root} are on different "
                "filesystems, so dossiers cannot be moved between them atomically",
                hint="Mount the whole root as one filesystem (or share the root, not its subfolders).",
            )
