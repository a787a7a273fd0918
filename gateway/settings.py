"""The gateway's settings, as one frozen value, and the layout of its data directory.

``sceau gateway init`` writes ``gateway.yaml`` in the data directory (checked against
:data:`gateway.config_schema.GATEWAY_SCHEMA`, errors located by file, line and key: see
:mod:`gateway.config_file`); a data directory made before holds ``gateway.json``
instead, still read (and written) as such. ``enroll`` adds what the hub answered in
``enrollment.json``. Both are read strictly: an unknown key is refused, a missing one
is named.
"""

from __future__ import annotations

import ipaddress
import json
import os
import zoneinfo
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.errors import GatewayConfigError, NotEnrolled
from gateway.settings_tasks import PurgeSettings, WatchedFolder, WebhooksSettings, build
from hubee.model import OrgRef, OrgType


@dataclass(frozen=True)
class GatewayPaths:
    """Where each file of a gateway lives under its data directory."""

    root: Path

    @property
    def settings_yaml(self) -> Path:
        return self.root / "gateway.yaml"

    @property
    def legacy_settings(self) -> Path:
        """``gateway.json``: the settings file of data directories made before YAML."""
        return self.root / "gateway.json"

    @property
    def settings(self) -> Path:
        """The settings file in use: gateway.yaml, or a legacy gateway.json alone."""
        if not self.settings_yaml.exists() and self.legacy_settings.exists():
            return self.legacy_settings
        return self.settings_yaml

    @property
    def webhooks(self) -> Path:
        """The webhook delivery queues, one SQLite file per client."""
        return self.root / "webhooks"

    @property
    def enrollment(self) -> Path:
        return self.root / "enrollment.json"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def tls_key(self) -> Path:
        return self.keys / "tls.key"

    @property
    def seal_key(self) -> Path:
        return self.keys / "seal.key"

    @property
    def journal_key(self) -> Path:
        return self.keys / "journal.key"

    @property
    def blob_key(self) -> Path:
        return self.keys / "blob.key"

    @property
    def tls_csr(self) -> Path:
        return self.certs / "tls.csr"

    @property
    def seal_csr(self) -> Path:
        return self.certs / "seal.csr"

    @property
    def tls_cert(self) -> Path:
        return self.certs / "tls.pem"

    @property
    def seal_cert(self) -> Path:
        return self.certs / "seal.pem"

    @property
    def hub_ca(self) -> Path:
        """The pinned hub CA (the chain the hub answered at enrollment)."""
        return self.certs / "hub-ca.pem"

    @property
    def journal_vkey(self) -> Path:
        return self.certs / "journal.vkey"

    @property
    def witness_vkey(self) -> Path:
        return self.certs / "witness.vkey"

    @property
    def db(self) -> Path:
        return self.root / "gateway.db"

    @property
    def journal(self) -> Path:
        return self.root / "journal.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"


def parse_org(text: str) -> tuple[str, str]:
    """``SIRET/BRANCH`` → (company register, branch code), validated."""
    register, _, branch = text.partition("/")
    try:
        ref = OrgRef(OrgType.SI, register.strip(), branch.strip())
    except Exception as exc:  # noqa: BLE001 - hubee's ValidationFailed, reworded here
        raise GatewayConfigError(
            f"--org {text!r} is not SIRET/BRANCH: {exc}",
            hint="Give the organisation as 14-digit SIRET, '/', routing code, e.g. 21930066200016/93066.",
        ) from None
    return ref.company_register, ref.branch_code


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GatewayConfigError(f"{what} {url!r} is not an http(s) URL")
    return url.rstrip("/")


UNSEALED_FROM_HUB = ("accept", "refuse")
MiB = 1024**2


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpSettings:
    """The mail relay the web console sends its messages and daily digest through."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password_file: Path | None = None  # the password is read from this file, never inline
    digest_hour: int = 7  # local hour (0-23) of the daily digest

    def __post_init__(self) -> None:
        if not self.host:
            raise GatewayConfigError("console.smtp.host must not be empty")
        if "@" not in self.sender:
            raise GatewayConfigError(
                f"console.smtp.sender {self.sender!r} is not an e-mail address"
            )
        if not 0 < self.port < 65536:
            raise GatewayConfigError(f"console.smtp.port {self.port} is out of range")
        if not 0 <= self.digest_hour <= 23:
            raise GatewayConfigError(f"console.smtp.digest_hour {self.digest_hour} is not 0-23")
        if self.password_file is not None and not isinstance(self.password_file, Path):
            object.__setattr__(self, "password_file", Path(self.password_file))
        if self.password_file is not None and not self.starttls and not _loopback(self.host):
            raise GatewayConfigError(
                f"console.smtp has a password_file but starttls is false: the password "
                f"would cross the network to {self.host} in clear",
                hint="Set console.smtp.starttls: true (usually with port: 587), or relay "
                "through a mail server on this machine (host: localhost) without a password.",
            )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.password_file is not None:
            out["password_file"] = str(self.password_file)
        return out

    @classmethod
    def from_json(cls, doc: object) -> SmtpSettings:
        return build(cls, doc, "console.smtp", required=("host", "sender"))


@dataclass(frozen=True)
class ConsoleSettings:
    """The gateway's web console (gateway/console/)."""

    enabled: bool = True
    secure_cookies: bool = False  # set true behind HTTPS
    session_minutes: int = 480
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    max_upload_bytes: int = 20 * MiB
    smtp: SmtpSettings | None = None
    # The URL agents type to reach the console; None: the LAN address.
    public_url: str | None = None
    # The IANA zone of the console's times and inbox days (overseas: America/Cayenne…).
    timezone: str = "Europe/Paris"

    def __post_init__(self) -> None:
        for name in ("session_minutes", "max_failed_logins", "lockout_minutes", "max_upload_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise GatewayConfigError(f"console.{name} must be an integer ≥ 1, not {value!r}")
        _check_zone(self.timezone)
        if self.public_url is not None:
            object.__setattr__(self, "public_url", _check_url(self.public_url, "console URL"))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["smtp"] = None if self.smtp is None else self.smtp.to_json()
        return out

    @classmethod
    def from_json(cls, doc: object) -> ConsoleSettings:
        if isinstance(doc, dict) and isinstance(doc.get("smtp"), dict):
            doc = {**doc, "smtp": SmtpSettings.from_json(doc["smtp"])}
        return build(cls, doc, "console")


def _check_zone(name: object) -> None:
    """An IANA zone name this system knows (any name passes if it has no zone database)."""
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        zoneinfo.ZoneInfo(name)
    except zoneinfo.ZoneInfoNotFoundError:
        if zoneinfo.available_timezones():
            raise GatewayConfigError(
                f"console.timezone {name!r} is not a known time zone: use an IANA name "
                "such as Europe/Paris, America/Cayenne or Indian/Reunion"
            ) from None
    except ValueError:
        raise GatewayConfigError(
            f"console.timezone {name!r} is not a time zone name (e.g. Europe/Paris)"
        ) from None


@dataclass(frozen=True)
class GatewaySettings:
    """One gateway: whose it is, where its data is, how it talks to the hub."""

    data_dir: Path
    company_register: str
    branch_code: str
    hub_url: str | None = None
    lan_host: str = "127.0.0.1"
    lan_port: int = 8080
    checkpoint_entries: int = 1000
    checkpoint_seconds: float = 10.0
    tsa_url: str | None = None  # overrides the hub's TSA given at enrollment
    token_ttl_seconds: int = 3600
    max_attachment_bytes: int = 1024**3
    # A case an operator sent straight to the hub's HubEE API, without a gateway seal.
    unsealed_from_hub: str = "refuse"
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    # What `sceau gateway run` starts beside the LAN API (gateway.settings_tasks).
    folders: tuple[WatchedFolder, ...] = ()
    webhooks: WebhooksSettings = field(default_factory=WebhooksSettings)
    purge: PurgeSettings = field(default_factory=PurgeSettings)

    def __post_init__(self) -> None:
        parse_org(f"{self.company_register}/{self.branch_code}")
        if self.hub_url is not None:
            _check_url(self.hub_url, "hub URL")
        if self.tsa_url is not None:
            _check_url(self.tsa_url, "TSA URL")
        if not 0 <= self.lan_port < 65536:
            raise GatewayConfigError(f"LAN port {self.lan_port} is out of range")
        if self.checkpoint_entries < 1 or self.checkpoint_seconds <= 0:
            raise GatewayConfigError("checkpoints need at least 1 entry and a positive interval")
        if self.token_ttl_seconds <= 0 or self.max_attachment_bytes <= 0:
            raise GatewayConfigError("token TTL and attachment size limit must be positive")
        if self.unsealed_from_hub not in UNSEALED_FROM_HUB:
            raise GatewayConfigError(
                f"unsealed_from_hub {self.unsealed_from_hub!r} is not one of "
                + ", ".join(UNSEALED_FROM_HUB)
            )
        if not isinstance(self.console, ConsoleSettings):
            raise GatewayConfigError("console must be console settings")
        object.__setattr__(self, "folders", tuple(self.folders))
        roots = [f.root for f in self.folders]
        if len(set(roots)) != len(roots):
            raise GatewayConfigError("folders: two processes share one root folder")
        codes = [(f.process, f.side) for f in self.folders]
        if len(set(codes)) != len(codes):
            raise GatewayConfigError("folders: a process and side is listed twice")

    def resolve(self, path: Path) -> Path:
        """A path from the settings file: relative ones are under the data directory."""
        return path if path.is_absolute() else self.data_dir / path

    @property
    def paths(self) -> GatewayPaths:
        return GatewayPaths(self.data_dir)

    @property
    def org_key(self) -> str:
        return f"{self.company_register}/{self.branch_code}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["data_dir"]
        out["console"] = self.console.to_json()
        out["folders"] = [f.to_json() for f in self.folders]
        out["webhooks"] = self.webhooks.to_json()
        out["purge"] = self.purge.to_json()
        return out

    @classmethod
    def from_json(
        cls, data_dir: Path, doc: object, *, file: str = "gateway.json"
    ) -> GatewaySettings:
        if not isinstance(doc, dict):
            raise GatewayConfigError(f"{file} must hold a mapping of settings")
        known = {f.name for f in fields(cls)} - {"data_dir"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise GatewayConfigError(f"{file} has unknown key(s): {', '.join(unknown)}")
        for required in ("company_register", "branch_code"):
            if required not in doc:
                raise GatewayConfigError(f"{file} lacks {required!r}")
        doc = dict(doc)
        if "console" in doc:
            doc["console"] = ConsoleSettings.from_json(doc["console"])
        if "folders" in doc:
            if not isinstance(doc["folders"], list):
                raise GatewayConfigError(f"{file}: folders must be a list")
            doc["folders"] = tuple(
                WatchedFolder.from_json(f, f"folders[{i}]") for i, f in enumerate(doc["folders"])
            )
        if "webhooks" in doc:
            doc["webhooks"] = WebhooksSettings.from_json(doc["webhooks"])
        if "purge" in doc:
            doc["purge"] = PurgeSettings.from_json(doc["purge"])
        try:
            return cls(data_dir=data_dir, **doc)
        except TypeError as exc:
            raise GatewayConfigError(f"{file}: {exc}") from None

    @classmethod
    def load(cls, data_dir: Path) -> GatewaySettings:
        """The settings of ``data_dir``: gateway.yaml, else a legacy gateway.json."""
        from gateway.config_file import load_settings

        return load_settings(data_dir)

    def save(self) -> None:
        """Write the settings file (a legacy gateway.json stays JSON; else gateway.yaml)."""
        from gateway.config_file import save_settings

        save_settings(self)


@dataclass(frozen=True)
class Enrollment:
    """What the hub answered at enrollment (certificates are in ``certs/``)."""

    gateway_id: str
    org_type: str  # OSL or SI: the side this gateway acts on
    hub_url: str
    tsa_url: str
    witness_key: str  # C2SP vkey of the hub's witness
    enrolled_at: str

    def __post_init__(self) -> None:
        if self.org_type not in ("OSL", "SI"):
            raise GatewayConfigError(f"enrollment.json: organisation type {self.org_type!r}")

    @classmethod
    def load(cls, paths: GatewayPaths) -> Enrollment:
        try:
            doc = json.loads(paths.enrollment.read_text("utf-8"))
        except FileNotFoundError:
            raise NotEnrolled(f"{paths.root} is not enrolled with a hub yet") from None
        except (OSError, ValueError) as exc:
            raise GatewayConfigError(f"cannot read {paths.enrollment}: {exc}") from None
        known = {f.name for f in fields(cls)}
        if not isinstance(doc, dict) or set(doc) != known:
            raise GatewayConfigError(f"{paths.enrollment} must hold exactly {sorted(known)}")
        return cls(**doc)

    def save(self, paths: GatewayPaths) -> None:
        write_json(paths.enrollment, asdict(self))


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` durably: a temporary file, fsync, rename."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
