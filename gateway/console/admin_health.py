"""Santé: the hub link, enrollment and certificate expiry, the TSA and the witness,
the last checkpoint, and the queues, as ``sceau gateway status`` computes them.

The link's and the trust loop's last errors come from the running service (the LAN
app's ``gateway.metrics.ERRORS`` source); a console served without the service (tests,
offline tools) shows them as unknown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from gateway.console import mail_store
from gateway.console.admin_common import render_admin
from gateway.console.keys import Caller, console_of
from gateway.console.pages import admin_page
from gateway.runtime import GatewayRuntime
from hubee.sqlite_store import sqlite_connection
from trust.journal_store import CheckpointRecord
from trust.pki import load_certificates_file
from trust.tsp_parse import ParsedToken, parse_response

EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class CertificateState:
    label: str
    subject: str
    not_after: datetime | None
    days_left: int | None
    error: str | None = None

    @property
    def level(self) -> str:
        if self.days_left is None or self.days_left < 0:
            return "error"
        return "warning" if self.days_left < EXPIRY_WARNING_DAYS else "success"


@dataclass(frozen=True)
class CheckpointView:
    id: int
    size: int
    created_at: datetime
    stamped_at: datetime | None
    tsa: str | None
    cosignatures: int
    witnessed: bool


def checkpoint_view(record: CheckpointRecord) -> CheckpointView:
    """A checkpoint in plain terms: its TSA time (from the token) and its cosignatures."""
    stamped_at = tsa = None
    if record.tsr is not None:
        try:
            token = parse_response(record.tsr).token
        except ValueError:
            token = None
        if token is not None:
            stamped_at = token.gen_time
            tsa = _tsa_name(token)
    cosignatures = 0
    if record.cosigned_note is not None:
        tail = record.cosigned_note.rsplit(b"\n\n", 1)[-1]
        cosignatures = max(0, tail.count(b"\n") - 1)  # minus our own signature line
    return CheckpointView(
        id=record.id,
        size=record.size,
        created_at=record.created_at,
        stamped_at=stamped_at,
        tsa=tsa,
        cosignatures=cosignatures,
        witnessed=record.cosigned_note is not None,
    )


def _tsa_name(token: ParsedToken) -> str | None:
    """The subject of the certificate that signed the token (its signer's id)."""
    for signer in token.signer_infos[:1]:
        for cert in token.certificates:
            by_serial = (
                signer.sid_serial == cert.serial_number and signer.sid_issuer_der == cert.issuer_der
            )
            by_key = (
                signer.sid_key_identifier is not None
                and signer.sid_key_identifier == cert.subject_key_identifier
            )
            if by_serial or by_key:
                return str(asn1_x509.Name.load(cert.subject_der).human_friendly)
    return None


def _certificate(label: str, path: Path, now: datetime) -> CertificateState:
    try:
        cert = load_certificates_file(path)[0]
    except (OSError, ValueError, IndexError) as exc:
        return CertificateState(label, "", None, None, f"illisible : {exc}")
    not_after = cert.not_valid_after_utc
    subject = cert.subject.rfc4514_string()
    return CertificateState(label, subject, not_after, (not_after - now).days)


def certificates(runtime: GatewayRuntime, now: datetime) -> list[CertificateState]:
    paths = runtime.settings.paths
    return [
        _certificate("Certificat TLS (lien avec le hub)", paths.tls_cert, now),
        _certificate("Certificat de cachet", paths.seal_cert, now),
    ]


def _hub_ca_expiry(runtime: GatewayRuntime, now: datetime) -> CertificateState:
    ca: x509.Certificate = runtime.identity.hub_ca[-1]
    not_after = ca.not_valid_after_utc
    return CertificateState(
        "Autorité du hub (épinglée)", ca.subject.rfc4514_string(), not_after, (not_after - now).days
    )


@admin_page
async def health(request: web.Request, caller: Caller) -> web.StreamResponse:
    # Imported here: gateway.metrics and gateway.service import the LAN app, which
    # mounts this console (a cycle at import time).
    from gateway.metrics import ERRORS
    from gateway.service import gateway_status

    runtime = console_of(request).runtime
    now = runtime.deps.clock()
    status = await gateway_status(runtime)
    errors = request.config_dict.get(ERRORS)
    running = errors is not None
    pull_error, trust_error = errors() if errors is not None else (None, None)
    certs = await asyncio.to_thread(certificates, runtime, now)
    certs.append(_hub_ca_expiry(runtime, now))
    latest = await runtime.journal.latest_checkpoint()
    mail = await runtime.store.read(lambda tx: mail_store.queue_state(sqlite_connection(tx)))
    enrollment = runtime.identity.enrollment
    return await render_admin(
        request,
        "admin/health.html",
        "admin",
        {
            "status": status,
            "running": running,
            "pull_error": pull_error,
            "trust_error": trust_error,
            "certificates": certs,
            "enrollment": enrollment,
            "latest": None if latest is None else checkpoint_view(latest),
            "mail": mail,
            "smtp": runtime.settings.console.smtp,
            "now": now,
        },
    )
