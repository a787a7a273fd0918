"""Canonical JSON (RFC 8785, JCS) and strict JSON parsing.

Canonical bytes are what gets hashed and signed: manifests and journal entries.
Parsing is strict: duplicate keys, NaN/Infinity and oversized input are refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from trust.errors import MalformedInputError

# Manifests and journal entries are small; anything larger is an attack or a bug.
MAX_JSON_BYTES = 16 * 1024 * 1024


def canonical_json(value: Mapping[str, Any] | list[Any]) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of ``value`` (no trailing newline)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedInputError(f"value cannot be canonicalised: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedInputError(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise MalformedInputError(f"JSON constant {name} is not allowed")


def parse_json(data: bytes, *, what: str = "JSON", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse UTF-8 JSON strictly; raise MalformedInputError naming ``what``."""
    if len(data) > max_bytes:
        raise MalformedInputError(f"{what} is {len(data)} bytes, more than the {max_bytes} allowed")
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except MalformedInputError as exc:
        raise MalformedInputError(f"{what}: {exc.message}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MalformedInputError(f"{what} is not valid JSON: {exc}") from exc


def is_canonical(data: bytes) -> bool:
    """True if ``data`` is exactly the RFC 8785 form of the JSON it holds."""
    try:
        return canonical_json(parse_json(data)) == data
    except MalformedInputError:
        return False
