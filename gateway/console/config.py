"""The console's limits and switches, read from ``GatewaySettings.console``.

Until every gateway settings file carries a ``console`` section, the defaults below
apply; a field the settings do not have keeps its default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from gateway.settings import GatewaySettings


@dataclass(frozen=True)
class ConsoleConfig:
    enabled: bool = True
    # Secure + the __Host- cookie prefix: on whenever the console is served over HTTPS.
    secure_cookies: bool = False
    session_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    max_upload_bytes: int = 20 * 1024 * 1024
    # The URL agents type (printed by `sceau gateway console url`); None: the LAN address.
    public_url: str | None = None


def console_config(settings: GatewaySettings) -> ConsoleConfig:
    """The console's configuration from ``settings.console`` (defaults for what is absent)."""
    found = getattr(settings, "console", None)
    if found is None:
        return ConsoleConfig()
    values = {
        f.name: getattr(found, f.name) for f in fields(ConsoleConfig) if hasattr(found, f.name)
    }
    return ConsoleConfig(**values)


def console_url(settings: GatewaySettings, *, port: int | None = None) -> str:
    """Where agents open the console."""
    config = console_config(settings)
    if config.public_url:
        return config.public_url.rstrip("/") + "/console/"
    host = settings.lan_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind: point at loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port if port is not None else settings.lan_port}/console/"
