"""Notification e-mails when new dossiers arrive: immediate, or a daily digest.

:class:`MailNotifier` runs as one of the gateway service's tasks, only when
``console.smtp`` is configured. Each round it

1. turns the cases received from the hub since the last round into queue rows, one per
   user who asked for e-mails on that démarche (:func:`mail_store.queue_new_cases`);
2. sends what is due: each immediate row as one message, the digest rows of a user as
   one message at ``console.digest_hour`` (local time of the appliance);
3. marks them sent once the SMTP server accepted them; a refused or unreachable server
   leaves them queued, retried with a doubling backoff (1 s to 15 min).

The queue lives in ``gateway.db`` (:mod:`gateway.console.mail_store`), so a restart
loses nothing and queues nothing twice. SMTP is stdlib :mod:`smtplib`, run in a thread.
Logs name queue ids and logins, never an address or a dossier's content.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import sqlite3
import ssl
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from gateway.console import mail_store
from gateway.console.config import console_url
from gateway.console.formats import zone
from gateway.console.mail_message import digest_message, immediate_message
from gateway.console.mail_store import AddressBook, MailMode, QueuedMail, account_address_book
from gateway.errors import GatewayConfigError
from gateway.settings import GatewaySettings, SmtpSettings
from gateway.wakeups import wait_event
from hubee.model import Clock, utc_now
from hubee.sqlite_store import SqliteStore, sqlite_connection
from hubee.store import StoreTx

log = logging.getLogger("gateway.console.mail")

MAX_DELAY = 900.0


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send (the shape of ``GatewaySettings.console.smtp``)."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password_file: Path | None = None
    timeout: float = 30.0

    @classmethod
    def of(cls, smtp: SmtpSettings) -> SmtpConfig:
        return cls(
            host=smtp.host,
            sender=smtp.sender,
            port=smtp.port,
            starttls=smtp.starttls,
            username=smtp.username,
            password_file=smtp.password_file,
        )

    def password(self) -> str | None:
        if self.password_file is None:
            return None
        try:
            text = self.password_file.read_text("utf-8").strip()
            mode = stat.S_IMODE(self.password_file.stat().st_mode)
        except OSError as exc:
            raise GatewayConfigError(
                f"cannot read the SMTP password file {self.password_file}: {exc.strerror}",
                hint="Check console.smtp.password_file: readable by the gateway's user.",
            ) from None
        if mode & 0o077:  # a password file is a secret: never readable by group or others
            raise GatewayConfigError(
                f"the SMTP password file {self.password_file} is readable by group or others "
                f"(mode {mode:04o})",
                hint=f"chmod 600 {self.password_file}",
            )
        return text


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; raise if it was not accepted. Blocking."""


class SmtpTransport:
    """stdlib :mod:`smtplib`, one connection per batch (blocking: run in a thread)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        cfg = self.config
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password() or "")
            smtp.send_message(message)


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failures: 1 s doubling, capped."""
    return float(min(MAX_DELAY, 2.0 ** max(0, attempts - 1)))


def next_digest(now: datetime, hour: int, tz: tzinfo | None = None) -> datetime:
    """The next ``hour``:00 strictly after ``now``, in ``tz`` (the machine's by default)."""
    local = now.astimezone(tz)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > local else at + timedelta(days=1)


def no_address_book(conn: sqlite3.Connection, login: str, process_code: str) -> str | None:
    """The default address book: nobody (the console's users module provides the real one)."""
    return None


class MailNotifier:
    def __init__(
        self,
        store: SqliteStore,
        transport: MailTransport,
        *,
        sender: str,
        console_url: str,
        address_book: AddressBook = no_address_book,
        digest_hour: int = 7,
        clock: Clock = utc_now,
        tz: tzinfo | None = None,
        interval: float = 5.0,
    ) -> None:
        if not 0 <= digest_hour <= 23:
            raise GatewayConfigError(f"console.digest_hour {digest_hour} is not an hour (0-23)")
        self.store = store
        self.transport = transport
        self.sender = sender
        self.console_url = console_url
        self.address_book = address_book
        self.digest_hour = digest_hour
        self.clock = clock
        self.tz = tz
        self.interval = interval
        self.domain = sender.rpartition("@")[2] or socket.getfqdn()
        self.last_error: str | None = None
        self._wake = asyncio.Event()

    def poke(self) -> None:
        self._wake.set()

    async def setup(self) -> None:
        await self.store.write(mail_store.ensure_mail_schema)

    async def run(self) -> None:
        await self.setup()
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification e-mails: round failed")
            self._wake.clear()
            await wait_event(self._wake, self.interval)

    async def round(self) -> int:
        """Queue new dossiers, send what is due; the number of messages accepted."""
        now = self.clock()
        digest_due = next_digest(now, self.digest_hour, self.tz).timestamp()

        def queue(tx: StoreTx) -> int:
            return mail_store.queue_new_cases(
                sqlite_connection(tx),
                address_book=self.address_book,
                digest_due=digest_due,
                now=now,
            )

        added = await self.store.write(queue)
        if added:
            log.info("notification e-mails: %d queued", added)
        due = await self.store.read(
            lambda tx: mail_store.due_mails(sqlite_connection(tx), now.timestamp())
        )
        sent = 0
        for batch in _batches(due):
            sent += await self._send(batch)
        return sent

    async def _send(self, batch: list[QueuedMail]) -> int:
        if batch[0].mode is MailMode.IMMEDIATE:
            message = immediate_message(
                batch[0], sender=self.sender, console_url=self.console_url, domain=self.domain
            )
        else:
            message = digest_message(
                batch, sender=self.sender, console_url=self.console_url, domain=self.domain
            )
        ids = [r.id for r in batch]
        try:
            await asyncio.to_thread(self.transport.send, message)
        except (OSError, smtplib.SMTPException, GatewayConfigError) as exc:
            attempts = max(r.attempts for r in batch) + 1
            error = _describe(exc)
            self.last_error = error
            retry_at = self.clock().timestamp() + backoff(attempts)
            log.warning(
                "notification e-mail %s for %s not sent (attempt %d): %s",
                ids,
                batch[0].login,
                attempts,
                error,
            )
            await self.store.write(
                lambda tx: mail_store.mark_failed(sqlite_connection(tx), ids, error, retry_at)
            )
            return 0
        at = self.clock()
        await self.store.write(lambda tx: mail_store.mark_sent(sqlite_connection(tx), ids, at))
        self.last_error = None
        return 1


def _batches(due: list[QueuedMail]) -> list[list[QueuedMail]]:
    """Each immediate row alone; the digest rows of one user (one address) together."""
    out: list[list[QueuedMail]] = []
    digests: dict[tuple[str, str], list[QueuedMail]] = {}
    for row in due:
        if row.mode is MailMode.IMMEDIATE:
            out.append([row])
        else:
            digests.setdefault((row.login, row.address), []).append(row)
    return out + list(digests.values())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, GatewayConfigError):
        return exc.message
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return f"SMTP {exc.smtp_code}: {text[:200]}"
    return f"{type(exc).__name__}: {exc}"


def notifier_for(
    settings: GatewaySettings,
    store: SqliteStore,
    *,
    port: int,
    address_book: AddressBook = account_address_book,
    clock: Clock = utc_now,
) -> MailNotifier | None:
    """The notifier of a gateway whose ``console.smtp`` is set, else ``None``; it mails
    the console's users (their address, if they are agents of the démarche)."""
    smtp = settings.console.smtp
    if smtp is None or not settings.console.enabled:
        return None
    return MailNotifier(
        store,
        SmtpTransport(SmtpConfig.of(smtp)),
        sender=smtp.sender,
        console_url=console_url(settings, port=port),
        address_book=address_book,
        digest_hour=smtp.digest_hour,
        clock=clock,
        tz=zone(settings.console.timezone),
    )
