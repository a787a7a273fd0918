"""The gateway console: agents' pages and the IT dashboard, served on the LAN.

Mounted by :func:`gateway.console.app.setup_console` on the LAN app; see docs/CONSOLE.md.
"""
