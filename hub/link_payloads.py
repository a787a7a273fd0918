"""Link API request bodies (docs/LINK.md) into values, with field-level errors.

Binary fields travel as standard base64 (RFC 4648 §4); certificate requests as PEM.
Every error names the field, in the engine's ``ValidationFailed`` form.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from hub.enrollment import EnrollmentRequest
from hubee import payloads
from hubee.commands import NewEvent, NewFolder
from hubee.errors import ValidationFailed
from hubee.model import Status
from trust.checkpoint import VerifierKey
from trust.errors import MalformedInputError

MAX_SEAL_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_PROOF_HASHES = 64  # a consistency proof holds at most 2·log2(size) hashes


def _b64(obj: dict[str, Any], key: str, *, limit: int) -> bytes:
    raw = obj.get(key)
    if not isinstance(raw, str) or not raw:
        raise ValidationFailed(key, "is required (base64)")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(key, "is not valid base64") from None
    if len(data) > limit:
        raise ValidationFailed(key, f"is larger than {limit} bytes")
    return data


def _text(obj: dict[str, Any], key: str, *, limit: int = 64 * 1024) -> str:
    raw = obj.get(key)
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(key, "is required (a string)")
    if len(raw) > limit:
        raise ValidationFailed(key, f"is longer than {limit} characters")
    return raw


def _csr(obj: dict[str, Any], key: str) -> x509.CertificateSigningRequest:
    try:
        return x509.load_pem_x509_csr(_text(obj, key).encode())
    except ValueError as exc:
        raise ValidationFailed(key, f"is not a PEM certificate request ({exc})") from None


def _inner(obj: dict[str, Any], key: str) -> bytes:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise ValidationFailed(key, "is required (a JSON object)")
    return json.dumps(value).encode()


def enroll(body: bytes) -> EnrollmentRequest:
    obj = payloads.json_object(body)
    try:
        journal_key = VerifierKey.parse(_text(obj, "journalKey", limit=512).strip())
    except MalformedInputError as exc:
        raise ValidationFailed("journalKey", exc.message) from None
    return EnrollmentRequest(
        token=_text(obj, "token", limit=200),
        tls_csr=_csr(obj, "tlsCsr"),
        seal_csr=_csr(obj, "sealCsr"),
        journal_key=journal_key,
    )


@dataclass(frozen=True)
class FolderPush:
    folder: NewFolder
    manifest: bytes
    seal: bytes


def folder_push(body: bytes) -> FolderPush:
    obj = payloads.json_object(body)
    try:
        folder = payloads.new_folder(_inner(obj, "folder"))
    except ValidationFailed as exc:
        raise ValidationFailed(f"folder.{exc.field}", exc.reason) from None
    return FolderPush(
        folder,
        _b64(obj, "manifest", limit=MAX_MANIFEST_BYTES),
        _b64(obj, "seal", limit=MAX_SEAL_BYTES),
    )


@dataclass(frozen=True)
class EventPush:
    event: NewEvent
    manifest: bytes | None
    seal: bytes | None


def event_push(body: bytes) -> EventPush:
    obj = payloads.json_object(body)
    try:
        event = payloads.new_event(_inner(obj, "event"))
    except ValidationFailed as exc:
        raise ValidationFailed(f"event.{exc.field}", exc.reason) from None
    if obj.get("manifest") is None and obj.get("seal") is None:
        if event.attachments:
            raise ValidationFailed("manifest", "is required for an event with attachments")
        return EventPush(event, None, None)
    return EventPush(
        event,
        _b64(obj, "manifest", limit=MAX_MANIFEST_BYTES),
        _b64(obj, "seal", limit=MAX_SEAL_BYTES),
    )


def receipt_push(body: bytes) -> tuple[bytes, bytes]:
    obj = payloads.json_object(body)
    return _b64(obj, "receipt", limit=MAX_MANIFEST_BYTES), _b64(obj, "seal", limit=MAX_SEAL_BYTES)


def status_change(body: bytes) -> tuple[Status, str | None]:
    obj = payloads.json_object(body)
    status = payloads.enum_value(Status, _text(obj, "status", limit=40), "status")
    message = obj.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > 4000):
        raise ValidationFailed("message", "must be a string of at most 4000 characters")
    return status, message


@dataclass(frozen=True)
class CheckpointPush:
    note: bytes
    proof: tuple[bytes, ...]
    from_size: int


def checkpoint_push(body: bytes) -> CheckpointPush:
    obj = payloads.json_object(body)
    note = _text(obj, "note").encode()
    proof_raw = obj.get("proof", [])
    if not isinstance(proof_raw, list) or len(proof_raw) > MAX_PROOF_HASHES:
        raise ValidationFailed("proof", f"must be a list of at most {MAX_PROOF_HASHES} hashes")
    proof = []
    for i, item in enumerate(proof_raw):
        try:
            raw = base64.b64decode(item, validate=True) if isinstance(item, str) else b""
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValidationFailed(f"proof[{i}]", "must be a base64 SHA-256 hash")
        proof.append(raw)
    from_size = obj.get("fromSize")
    if not isinstance(from_size, int) or isinstance(from_size, bool) or from_size < 0:
        raise ValidationFailed("fromSize", "must be a whole number, 0 or more")
    return CheckpointPush(note, tuple(proof), from_size)
