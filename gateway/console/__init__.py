"""The gateway console: agents' pages and the IT dashboard, served on the LAN."""

from gateway.console.app import setup_console

__all__ = ["setup_console"]
