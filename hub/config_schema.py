"""The JSON Schema (draft 2020-12) of hub.yaml, as a Python value.

Unknown keys are refused (``additionalProperties: false``); ``x-expected`` words the
"expected …" of errors (:mod:`hubee.config_file`). Kept in step with
:meth:`hub.settings.HubConfig.to_mapping` (tests/unit/hub/test_config_file.py).
"""

from __future__ import annotations

from typing import Any

from hub.settings import MAX_FEED_WAIT

HUB_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://sceau.invalid/schemas/hub.yaml.json",
    "title": "Sceau hub settings (hub.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$",
            "x-expected": "1 to 100 letters, digits, '.', '_', '/' or '-' (e.g. hub.example.fr)",
        },
        "public_url": {
            "type": "string",
            "pattern": r"^https?://[^\s/]+$",
            "x-expected": "scheme://host[:port] without a path, e.g. https://hub.example.fr:8443",
        },
        "token_ttl_seconds": {"type": "integer", "minimum": 1},
        "max_attachment_bytes": {"type": "integer", "minimum": 1},
        "require_digest": {"type": "boolean"},
        "enrollment_token_ttl_hours": {"type": "number", "exclusiveMinimum": 0},
        "certificate_days": {"type": "integer", "minimum": 1},
        "checkpoint_every_entries": {"type": "integer", "minimum": 1},
        "checkpoint_every_seconds": {"type": "number", "exclusiveMinimum": 0},
        "max_feed_wait_seconds": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_FEED_WAIT,
        },
        "upload_abandon_after_hours": {"type": "number", "exclusiveMinimum": 0},
        "retired_seal_grace_days": {"type": "number", "exclusiveMinimum": 0},
    },
}
