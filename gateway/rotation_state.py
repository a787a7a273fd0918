"""Whether a key rotation waits to be finished, read from its files (docs/KEYS.md).

``sceau gateway rotate-keys`` leaves marks when it stops part-way (:mod:`gateway.key_switch`):

- staged keys in ``keys/next/`` (and maybe the hub's certificates in ``certs/next/``):
  started, not switched; the current pair is still in use;
- ``keys/next/switch.json``: the switch is decided; the next load of the keys
  (``gateway run``, ``rotate-keys``) finishes the renames;
- ``rotation-complete.json``: the new pair is in use, the hub not yet told; it accepts
  both pairs until ``rotate-keys`` runs again.

:func:`pending_rotation` only reads these files (it never finishes a switch), for
``sceau gateway status`` and ``doctor``. Not checked: whether the staged certificates
are still valid (``rotate-keys`` checks them and asks again if not).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.key_switch import RotationPaths
from gateway.settings import GatewayPaths


class RotationStage(enum.Enum):
    STAGED = "staged"  # new keys staged (maybe certified), the current pair in use
    SWITCHING = "switching"  # switch.json written: the renames finish at the next key load
    SWITCHED = "switched"  # the new pair in use, the hub not told (rotation-complete.json)


@dataclass(frozen=True)
class PendingRotation:
    stage: RotationStage
    since: datetime  # when the marker file was last written
    certified: bool  # the hub's certificates of the staged keys are kept (STAGED)
    data_dir: Path

    @property
    def summary(self) -> str:
        if self.stage is RotationStage.SWITCHED:
            return (
                "switched to the new keys, the hub not told yet "
                "(it accepts the old and the new certificates until then)"
            )
        if self.stage is RotationStage.SWITCHING:
            return "the switch to the new keys is decided but not finished"
        certified = "certified by the hub" if self.certified else "not certified yet"
        return f"new keys staged ({certified}), not switched: the current keys stay in use"

    @property
    def fix(self) -> str:
        command = f"sceau gateway rotate-keys --data {self.data_dir}"
        if self.stage is RotationStage.SWITCHED:
            return f"{command} (the service may keep running) to complete"
        return f"stop the service, then {command} to finish (it resumes where it stopped)"

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "since": self.since.isoformat(),
            "certified": self.certified,
            "summary": self.summary,
            "fix": self.fix,
        }


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def pending_rotation(paths: GatewayPaths) -> PendingRotation | None:
    """The rotation waiting to be finished, if any. Blocks (a few ``stat`` calls)."""
    rotation = RotationPaths(paths)
    certified = rotation.tls_cert.is_file() and rotation.seal_cert.is_file()
    if rotation.switch.is_file():
        return PendingRotation(
            RotationStage.SWITCHING, _mtime(rotation.switch), certified, paths.root
        )
    if rotation.complete.is_file():
        return PendingRotation(RotationStage.SWITCHED, _mtime(rotation.complete), False, paths.root)
    staged = [p for p in (rotation.tls_key, rotation.seal_key) if p.is_file()]
    if staged:
        since = max(_mtime(p) for p in staged)
        return PendingRotation(RotationStage.STAGED, since, certified, paths.root)
    return None
