"""Webhooks: a signed POST to a local URL when a new case or event notification arrives.

Body (``application/json``, UTF-8, small and without personal data)::

    {"type": "case.new" | "event.new", "notificationId": "…", "processCode": "…",
     "caseId": "…", "eventId": null | "…", "transmitter": {…}, "dateTime": "…"}

Headers:

* ``Idempotency-Key``: the notification id; the same on every retry of one delivery
  (deliveries are at least once: a receiver that must act once keeps the keys it saw);
* ``Sceau-Signature: t=UNIX_SECONDS,v1=HEX``: HMAC-SHA256 under the shared secret of
  ``f"{t}.".encode() + body``, the exact bytes received. Receivers recompute it, compare
  in constant time, and refuse a ``t`` too far from their clock (replays);
* ``Sceau-Delivery-Attempt``: 1, 2, …

:func:`verify_signature` is the receiver's check, in Python; docs/FOLDERS.md shows it
in shell with openssl.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SIGNATURE_HEADER = "Sceau-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "Sceau-Delivery-Attempt"
DEFAULT_TOLERANCE = 300  # seconds, as Stripe's and Standard Webhooks' receivers use


@dataclass(frozen=True)
class WebhookConfig:
    """One client's webhook. The secret never appears in ``repr`` or in logs."""

    url: str
    secret: bytes = field(repr=False)
    name: str = "webhook"  # the client's name, for logs
    timeout: float = 10.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook URL must be http(s)://host/…, not {safe_url(self.url)!r}")
        if len(self.secret) < 16:
            raise ValueError("webhook secret must be at least 16 bytes")

    @property
    def display_url(self) -> str:
        return safe_url(self.url)


def safe_url(url: str) -> str:
    """The URL without user, password, query or fragment: what may appear in logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def payload(notification: dict[str, Any]) -> bytes:
    """The webhook body for a HubEE notification (compact JSON, keys sorted)."""
    event_id = notification.get("eventId")
    body = {
        "type": "case.new" if event_id is None else "event.new",
        "notificationId": notification.get("id"),
        "processCode": notification.get("processCode"),
        "caseId": notification.get("caseId"),
        "eventId": event_id,
        "transmitter": notification.get("transmitter"),
        "dateTime": notification.get("dateTime"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``Sceau-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret``, at a time within ``tolerance``."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
