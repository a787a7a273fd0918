"""The settings of what ``sceau gateway run`` starts beside the LAN API and the hub link:
watched folders, webhooks and the retention purge (``folders:``, ``webhooks:``,
``purge:`` in gateway.yaml).

Secrets are never written in the settings file: each entry names a FILE holding the
LAN client's secret (and the webhook's HMAC key). A relative path is relative to the
gateway's data directory.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from gateway.errors import GatewayConfigError
from gateway.folders_settings import FolderSettings, Side

_T = TypeVar("_T")


def build(cls: type[_T], doc: object, where: str, required: tuple[str, ...] = ()) -> _T:
    """``cls(**doc)``, refusing unknown and missing keys by name."""
    if not isinstance(doc, dict):
        raise GatewayConfigError(f"{where} must be a mapping of settings")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(doc) - known)
    if unknown:
        raise GatewayConfigError(f"{where} has unknown key(s): {', '.join(unknown)}")
    for name in required:
        if name not in doc:
            raise GatewayConfigError(f"{where} lacks {name!r}")
    try:
        return cls(**doc)
    except TypeError as exc:
        raise GatewayConfigError(f"{where}: {exc}") from None


def read_secret_file(path: Path, what: str) -> str:
    """The first line of a secret file, stripped; refused when unreadable or empty."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise GatewayConfigError(
            f"cannot read {what} from {path}: {exc.strerror or exc}",
            hint="Write the secret (as `sceau gateway client add` printed it) into that file, "
            "readable by the gateway's user only (chmod 600).",
        ) from None
    if not secret:
        raise GatewayConfigError(f"{what} file {path} is empty")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:  # a secret is a key: never readable by group or others
        raise GatewayConfigError(
            f"{what} file {path} is readable by group or others (mode {mode:04o})",
            hint=f"chmod 600 {path}",
        )
    return secret


def _as_path(value: object) -> Path:
    return value if isinstance(value, Path) else Path(str(value))


@dataclass(frozen=True)
class WatchedFolder:
    """One process's watched folders, run in the gateway against its own LAN API."""

    process: str
    root: Path
    side: str  # "OSL" (OUT/ → sent) or "SI" (received → IN/)
    client_id: str
    client_secret_file: Path
    scan_interval: float = 2.0
    settle_time: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", _as_path(self.root))
        object.__setattr__(self, "client_secret_file", _as_path(self.client_secret_file))
        if self.side not in ("OSL", "SI"):
            raise GatewayConfigError(f"folders: side {self.side!r} is not OSL or SI")
        if not self.client_id:
            raise GatewayConfigError("folders: client_id must not be empty")
        try:
            self.folder_settings(Path("."))
        except ValueError as exc:
            raise GatewayConfigError(f"folders ({self.process}): {exc}") from None

    def folder_settings(self, data_dir: Path) -> FolderSettings:
        return FolderSettings(
            root=data_dir / self.root,
            process_code=self.process,
            side=Side(self.side),
            scan_interval=self.scan_interval,
            settle_time=self.settle_time,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "root": str(self.root),
            "side": self.side,
            "client_id": self.client_id,
            "client_secret_file": str(self.client_secret_file),
            "scan_interval": self.scan_interval,
            "settle_time": self.settle_time,
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "folders") -> WatchedFolder:
        return build(
            cls, doc, where, required=("process", "root", "side", "client_id", "client_secret_file")
        )


@dataclass(frozen=True)
class Webhook:
    """One LAN client's webhook: a signed POST to ``url`` per new case or event."""

    client_id: str
    client_secret_file: Path
    url: str
    secret_file: Path  # the HMAC key shared with the receiver (≥ 16 bytes)
    poll_interval: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "client_secret_file", _as_path(self.client_secret_file))
        object.__setattr__(self, "secret_file", _as_path(self.secret_file))
        if not self.client_id:
            raise GatewayConfigError("webhooks: client_id must not be empty")
        if self.poll_interval <= 0:
            raise GatewayConfigError("webhooks: poll_interval must be positive")

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret_file": str(self.client_secret_file),
            "url": self.url,
            "secret_file": str(self.secret_file),
            "poll_interval": self.poll_interval,
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "webhooks.hooks") -> Webhook:
        return build(
            cls, doc, where, required=("client_id", "client_secret_file", "url", "secret_file")
        )


@dataclass(frozen=True)
class WebhooksSettings:
    enabled: bool = False
    hooks: tuple[Webhook, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "hooks": [h.to_json() for h in self.hooks]}

    @classmethod
    def from_json(cls, doc: object) -> WebhooksSettings:
        if isinstance(doc, dict) and "hooks" in doc:
            hooks = doc["hooks"]
            if not isinstance(hooks, list):
                raise GatewayConfigError("webhooks.hooks must be a list")
            doc = {**doc, "hooks": tuple(Webhook.from_json(h) for h in hooks)}
        return build(cls, doc, "webhooks")


@dataclass(frozen=True)
class PurgeSettings:
    """The retention purge (hubee.retention): each démarche's delays, applied on a
    schedule. The delays are the démarche's own (HubEE's defaults unless the hub said
    otherwise: files 30 days after SI_RECEIVED, archived 30 days after CLOSED, deleted
    365 days after archiving)."""

    enabled: bool = False
    every_minutes: int = 60

    def __post_init__(self) -> None:
        if isinstance(self.every_minutes, bool) or not 1 <= self.every_minutes <= 7 * 24 * 60:
            raise GatewayConfigError("purge.every_minutes must be 1 to 10080 (a week)")

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "every_minutes": self.every_minutes}

    @classmethod
    def from_json(cls, doc: object) -> PurgeSettings:
        return build(cls, doc, "purge")
