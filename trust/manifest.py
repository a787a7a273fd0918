"""Manifests: what a seal covers.

A manifest lists a dossier's (or an event's, or a set of files') identity and each
attachment with fileName, mimeType, size and SHA-256, in RFC 8785 canonical JSON.
Digests are computed while streaming, in chunks, never by reading a whole file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from trust.canonical import canonical_json, parse_json
from trust.errors import MalformedInputError

MANIFEST_VERSION = "sceau-manifest/1"
CHUNK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KINDS = ("folder", "event", "files", "receipt")


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 UTC with a 'Z' and millisecond precision."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str, *, what: str = "time") -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError, TypeError) as exc:
        raise MalformedInputError(f"{what} {text!r} is not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise MalformedInputError(f"{what} {text!r} has no time zone")
    return moment.astimezone(dt.UTC)


def safe_file_name(name: str) -> str:
    """A file name with no directory part, no control characters, not empty.

    Used for names that come from the network or a manifest: ``../../etc/passwd``
    becomes ``passwd``; a name that is nothing but dots is refused.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f").strip()
    if base in ("", ".", "..") or len(base.encode()) > 255:
        raise MalformedInputError(f"file name {name!r} is not usable")
    return base


@dataclass(frozen=True)
class AttachmentDigest:
    """One attachment as the manifest records it."""

    file_name: str
    mime_type: str
    size: int
    sha256: str  # lowercase hex

    def __post_init__(self) -> None:
        if safe_file_name(self.file_name) != self.file_name:
            raise MalformedInputError(
                f"attachment file name {self.file_name!r} is not a plain name"
            )
        if self.size < 0:
            raise MalformedInputError("attachment size is negative")
        if not _HEX64.match(self.sha256):
            raise MalformedInputError(f"attachment sha256 {self.sha256!r} is not 64 hex digits")

    @classmethod
    def from_stream(cls, stream: BinaryIO, *, file_name: str, mime_type: str) -> AttachmentDigest:
        digest = hashlib.sha256()
        size = 0
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return cls(file_name, mime_type, size, digest.hexdigest())

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> AttachmentDigest:
        source = Path(path)
        name = safe_file_name(file_name or source.name)
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        with source.open("rb") as stream:
            return cls.from_stream(stream, file_name=name, mime_type=mime)

    def to_json(self) -> dict[str, Any]:
        return {
            "fileName": self.file_name,
            "mimeType": self.mime_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Manifest:
    """The sealed description of a dossier, an event, or a set of files."""

    id: str
    kind: str
    created: dt.datetime
    attachments: tuple[AttachmentDigest, ...] = ()
    process_code: str | None = None
    external_id: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 200:
            raise MalformedInputError("manifest id must be 1 to 200 characters")
        if self.kind not in _KINDS:
            raise MalformedInputError(
                f"manifest kind {self.kind!r} is not one of {', '.join(_KINDS)}"
            )
        names = [a.file_name for a in self.attachments]
        if len(set(names)) != len(names):
            raise MalformedInputError("two attachments share a file name")
        if "manifest.json" in names or "mimetype" in names:
            raise MalformedInputError("an attachment may not be called manifest.json or mimetype")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "id": self.id,
            "kind": self.kind,
            "created": format_time(self.created),
            "attachments": [a.to_json() for a in self.attachments],
        }
        optional = {
            "processCode": self.process_code,
            "externalId": self.external_id,
            "sender": self.sender,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.recipients:
            out["recipients"] = list(self.recipients)
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    def to_json(self) -> bytes:
        """The canonical (RFC 8785) bytes that get sealed."""
        return canonical_json(self.to_dict())

    def sha256(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse strictly: the bytes must be canonical and every field well-formed."""
        doc = parse_json(data, what="manifest.json")
        if not isinstance(doc, dict):
            raise MalformedInputError("manifest.json is not a JSON object")
        if doc.get("version") != MANIFEST_VERSION:
            raise MalformedInputError(
                f"manifest version {doc.get('version')!r} is not {MANIFEST_VERSION}"
            )
        known = {
            "version",
            "id",
            "kind",
            "created",
            "attachments",
            "processCode",
            "externalId",
            "sender",
            "recipients",
            "extra",
        }
        unknown = sorted(set(doc) - known)
        if unknown:
            raise MalformedInputError(f"manifest has unknown field(s): {', '.join(unknown)}")
        try:
            attachments = tuple(
                AttachmentDigest(
                    file_name=_str(a, "fileName"),
                    mime_type=_str(a, "mimeType"),
                    size=_int(a, "size"),
                    sha256=_str(a, "sha256"),
                )
                for a in _list(doc, "attachments")
            )
            recipients = tuple(str(r) for r in doc.get("recipients", []))
            extra = doc.get("extra", {})
            if not isinstance(extra, dict):
                raise MalformedInputError("manifest field extra is not an object")
            manifest = cls(
                id=_str(doc, "id"),
                kind=_str(doc, "kind"),
                created=parse_time(_str(doc, "created"), what="manifest created"),
                attachments=attachments,
                process_code=_opt_str(doc, "processCode"),
                external_id=_opt_str(doc, "externalId"),
                sender=_opt_str(doc, "sender"),
                recipients=recipients,
                extra=extra,
            )
        except (TypeError, AttributeError) as exc:
            raise MalformedInputError(f"manifest.json is malformed: {exc}") from exc
        if manifest.to_json() != data:
            raise MalformedInputError("manifest.json is not in RFC 8785 canonical form")
        return manifest


def _str(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    if not isinstance(value, str):
        raise MalformedInputError(f"manifest field {key} is missing or not a string")
    return value


def _opt_str(doc: Mapping[str, Any], key: str) -> str | None:
    return None if doc.get(key) is None else _str(doc, key)


def _int(doc: Mapping[str, Any], key: str) -> int:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedInputError(f"manifest field {key} is missing or not an integer")
    return value


def _list(doc: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise MalformedInputError(f"manifest field {key} is missing or not a list")
    return value
