"""The console's settings (``GatewaySettings.console``) and its address."""

from __future__ import annotations

from gateway.settings import ConsoleSettings, GatewaySettings


def console_config(settings: GatewaySettings) -> ConsoleSettings:
    return settings.console


def console_url(settings: GatewaySettings, *, port: int | None = None) -> str:
    """Where agents open the console."""
    config = settings.console
    if config.public_url:
        return config.public_url.rstrip("/") + "/console/"
    host = settings.lan_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind: point at loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port if port is not None else settings.lan_port}/console/"
