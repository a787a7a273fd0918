"""The hub's settings, as one frozen value.

The appliance reads ``hub.yaml`` (written by ``sceau hub init`` in the data folder) and
hands the mapping to :meth:`HubConfig.from_mapping`, which refuses unknown keys and
wrong types, naming the key. Command-line options override it with
:meth:`dataclasses.replace`. YAML itself is never read here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.errors import HubConfigError
from hubee.settings import GIB, HubSettings

# c2sp.org/signed-note: key names have no spaces or '+'; ours also stay readable.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")
MAX_FEED_WAIT = 60.0  # seconds a long poll may hold a connection (docs/LINK.md)


@dataclass(frozen=True)
class HubConfig:
    """Where the hub keeps its data, what it is called, and its limits and rhythms."""

    data_dir: Path
    # The hub's name: its journal's origin and key name, and the witness key's prefix.
    name: str = "sceau-hub"
    # The URL gateways reach the hub at (for ``tsaUrl``); None: the URL they used.
    public_url: str | None = None
    token_ttl: timedelta = timedelta(hours=1)
    max_attachment_bytes: int = GIB
    require_digest: bool = False
    enrollment_token_ttl: timedelta = timedelta(hours=24)
    certificate_days: int = 825  # CA/B Forum's former ceiling for TLS certificates
    checkpoint_every_entries: int = 1000
    checkpoint_every: timedelta = timedelta(seconds=60)
    max_feed_wait: float = MAX_FEED_WAIT
    # A partial (resumable) upload untouched this long is deleted by the purge.
    upload_abandon_after: timedelta = timedelta(hours=24)
    # A seal certificate retired by a key rotation answers this long after it, for the
    # dossiers sealed before the switch (docs/KEYS.md).
    retired_seal_grace: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise HubConfigError(
                f"name: {self.name!r} must be 1 to 100 letters, digits, '.', '_', '/' or '-'"
            )
        if self.public_url is not None and not re.fullmatch(r"https?://[^\s/]+", self.public_url):
            raise HubConfigError(
                f"public_url: {self.public_url!r} must be scheme://host[:port], without a path"
            )
        for key in (
            "token_ttl",
            "enrollment_token_ttl",
            "checkpoint_every",
            "upload_abandon_after",
            "retired_seal_grace",
        ):
            if getattr(self, key) <= timedelta(0):
                raise HubConfigError(f"{key}: must be positive")
        for key in ("max_attachment_bytes", "certificate_days", "checkpoint_every_entries"):
            if getattr(self, key) <= 0:
                raise HubConfigError(f"{key}: must be positive")
        if not 0 < self.max_feed_wait <= MAX_FEED_WAIT:
            raise HubConfigError(f"max_feed_wait: must be in (0, {MAX_FEED_WAIT:g}] seconds")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, data_dir: Path) -> HubConfig:
        """Settings from a parsed settings file; durations are in seconds (hours for
        ``enrollment_token_ttl_hours`` and ``upload_abandon_after_hours``). Unknown keys and wrong types are refused."""
        known = {name for name, _ in _FIELDS}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HubConfigError(
                f"unknown setting {unknown[0]!r}",
                hint="Known settings: " + ", ".join(sorted(known)),
            )
        values: dict[str, Any] = {}
        for key, kind in _FIELDS:
            if key not in data:
                continue
            value = data[key]
            if kind is bool and not isinstance(value, bool):
                raise HubConfigError(f"{key}: must be true or false, not {value!r}")
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise HubConfigError(f"{key}: must be a whole number, not {value!r}")
            if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise HubConfigError(f"{key}: must be a number, not {value!r}")
            if kind is str and not isinstance(value, str):
                raise HubConfigError(f"{key}: must be a string, not {value!r}")
            values[key] = value
        return cls(data_dir=data_dir, **_to_fields(values))

    def to_mapping(self) -> dict[str, Any]:
        """The settings file's content (the inverse of :meth:`from_mapping`)."""
        out: dict[str, Any] = {
            "name": self.name,
            "token_ttl_seconds": int(self.token_ttl.total_seconds()),
            "max_attachment_bytes": self.max_attachment_bytes,
            "require_digest": self.require_digest,
            "enrollment_token_ttl_hours": self.enrollment_token_ttl.total_seconds() / 3600,
            "certificate_days": self.certificate_days,
            "checkpoint_every_entries": self.checkpoint_every_entries,
            "checkpoint_every_seconds": self.checkpoint_every.total_seconds(),
            "max_feed_wait_seconds": self.max_feed_wait,
            "upload_abandon_after_hours": self.upload_abandon_after.total_seconds() / 3600,
            "retired_seal_grace_days": self.retired_seal_grace.total_seconds() / 86400,
        }
        if self.public_url is not None:
            out["public_url"] = self.public_url
        return out

    def with_overrides(self, **changes: Any) -> HubConfig:
        """A copy with the given fields replaced (command-line options)."""
        valid = {f.name for f in fields(self)}
        for key in changes:
            if key not in valid:
                raise HubConfigError(f"unknown setting {key!r}")
        return replace(self, **changes)

    @property
    def engine(self) -> HubSettings:
        """The HubEE engine's settings."""
        return HubSettings(
            data_dir=self.data_dir,
            token_ttl=self.token_ttl,
            max_attachment_bytes=self.max_attachment_bytes,
            require_digest=self.require_digest,
        )

    @property
    def settings_path(self) -> Path:
        return self.data_dir / "hub.yaml"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def witness_key_name(self) -> str:
        return f"{self.name}-witness"


_FIELDS: tuple[tuple[str, type], ...] = (
    ("name", str),
    ("public_url", str),
    ("token_ttl_seconds", int),
    ("max_attachment_bytes", int),
    ("require_digest", bool),
    ("enrollment_token_ttl_hours", float),
    ("certificate_days", int),
    ("checkpoint_every_entries", int),
    ("checkpoint_every_seconds", float),
    ("max_feed_wait_seconds", float),
    ("upload_abandon_after_hours", float),
    ("retired_seal_grace_days", float),
)


def _to_fields(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key, field_name, unit in (
        ("token_ttl_seconds", "token_ttl", "seconds"),
        ("enrollment_token_ttl_hours", "enrollment_token_ttl", "hours"),
        ("checkpoint_every_seconds", "checkpoint_every", "seconds"),
        ("upload_abandon_after_hours", "upload_abandon_after", "hours"),
        ("retired_seal_grace_days", "retired_seal_grace", "days"),
    ):
        if key in out:
            out[field_name] = timedelta(**{unit: out.pop(key)})
    if "max_feed_wait_seconds" in out:
        out["max_feed_wait"] = float(out.pop("max_feed_wait_seconds"))
    return out
