"""One running service per data folder: an exclusive ``flock`` on ``service.lock``.

``sceau gateway run`` holds it while it runs (:class:`gateway.service.GatewayService`);
commands that must not change keys under a running service (``rotate-keys``'s switch)
take it too, so they refuse to run beside one. The kernel drops the lock when its
holder dies, so a crash never leaves it stale.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from gateway.errors import GatewayConfigError
from gateway.settings import GatewayPaths


class ServiceRunning(GatewayConfigError):
    """The gateway's service runs on this data folder."""

    hint = (
        "Stop the service (systemctl stop sceau-gateway), run the command, "
        "then start the service again."
    )


class ServiceLock:
    """The data folder's lock; :meth:`acquire` raises :class:`ServiceRunning` if held."""

    def __init__(self, paths: GatewayPaths) -> None:
        self.path: Path = paths.root / "service.lock"
        self._fd: int | None = None

    def acquire(self, *, purpose: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ServiceRunning(
                f"{self.path.parent} is in use by a running gateway service; cannot {purpose}"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
