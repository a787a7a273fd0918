"""The JSON Schema (draft 2020-12) of gateway.yaml, as a Python value.

Every object refuses unknown keys (``additionalProperties: false``), so that a typo is
named instead of silently ignored. ``x-expected`` gives the words of "expected …" in
errors (see :mod:`hubee.config_file`). Kept in step with :mod:`gateway.settings` and
:mod:`gateway.settings_tasks` (tests/unit/gateway/test_config_file.py checks that every
settings field has a schema property and the reverse).
"""

from __future__ import annotations

from typing import Any

_URL: dict[str, Any] = {
    "type": ["string", "null"],
    "pattern": r"^https?://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(:[0-9]{1,5})?(/\S*)?$",
    "x-expected": "an http(s) URL such as https://hub.example.fr:8443 (or null)",
}
_SECONDS: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0}
_PORT: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 65535}
_FILE: dict[str, Any] = {"type": "string", "minLength": 1, "x-expected": "a file path"}
_CLIENT: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "x-expected": "a LAN client id (from `sceau gateway client add`)",
}

SMTP: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "required": ["host", "sender"],
    "properties": {
        "host": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "sender": {
            "type": "string",
            "pattern": r"^[^@\s]+@[^@\s]+$",
            "x-expected": "an e-mail address",
        },
        "starttls": {"type": "boolean"},
        "username": {"type": ["string", "null"]},
        "password_file": {**_FILE, "type": ["string", "null"]},
        "digest_hour": {"type": "integer", "minimum": 0, "maximum": 23},
    },
}

CONSOLE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "secure_cookies": {"type": "boolean"},
        "session_minutes": {"type": "integer", "minimum": 1},
        "max_failed_logins": {"type": "integer", "minimum": 1},
        "lockout_minutes": {"type": "integer", "minimum": 1},
        "max_upload_bytes": {"type": "integer", "minimum": 1},
        "public_url": _URL,
        "smtp": SMTP,
        "timezone": {"type": "string", "x-expected": "an IANA time zone such as Europe/Paris"},
    },
}

FOLDER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["process", "root", "side", "client_id", "client_secret_file"],
    "properties": {
        "process": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$",
            "x-expected": "a process (démarche) code such as CERTDC",
        },
        "root": {**_FILE, "x-expected": "a folder path"},
        "side": {"enum": ["OSL", "SI"]},
        "client_id": _CLIENT,
        "client_secret_file": _FILE,
        "scan_interval": _SECONDS,
        "settle_time": {"type": "number", "minimum": 0},
    },
}

WEBHOOK: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["client_id", "client_secret_file", "url", "secret_file"],
    "properties": {
        "client_id": _CLIENT,
        "client_secret_file": _FILE,
        "url": {**_URL, "type": "string", "x-expected": "an http(s) URL on the LAN"},
        "secret_file": _FILE,
        "poll_interval": _SECONDS,
    },
}

GATEWAY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://sceau.invalid/schemas/gateway.yaml.json",
    "title": "Sceau gateway settings (gateway.yaml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["company_register", "branch_code"],
    "properties": {
        "company_register": {
            "type": "string",
            "pattern": r"^[0-9]{14}$",
            "x-expected": 'a 14-digit SIRET in quotes, e.g. "21930066200016"',
        },
        "branch_code": {
            "type": "string",
            "pattern": r"^[0-9A-Za-z]{1,20}$",
            "x-expected": 'a routing (branch) code in quotes, e.g. "93066"',
        },
        "hub_url": _URL,
        "lan_host": {"type": "string", "minLength": 1, "x-expected": "a host name or IP address"},
        "lan_port": _PORT,
        "checkpoint_entries": {"type": "integer", "minimum": 1},
        "checkpoint_seconds": _SECONDS,
        "tsa_url": _URL,
        "token_ttl_seconds": {"type": "integer", "minimum": 1},
        "max_attachment_bytes": {"type": "integer", "minimum": 1},
        "unsealed_from_hub": {"enum": ["accept", "refuse"]},
        "console": CONSOLE,
        "folders": {"type": "array", "items": FOLDER},
        "webhooks": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "hooks": {"type": "array", "items": WEBHOOK},
            },
        },
        "purge": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "every_minutes": {"type": "integer", "minimum": 1, "maximum": 10080},
            },
        },
    },
}
