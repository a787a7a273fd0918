"""A real SMTP server on loopback (aiosmtpd), port chosen by the OS, keeping what it got."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


class SmtpSink(Controller):
    """``aiosmtpd``'s Controller bound to 127.0.0.1 port 0 (it needs the real port to
    check that it is up, hence the override)."""

    def __init__(self) -> None:
        self.keep = _Keep()
        super().__init__(self.keep, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]

    @property
    def messages(self) -> list[EmailMessage]:
        return self.keep.messages
