"""hub.yaml: read it (schema-checked, errors located by file, line and key), write it
with a comment per key.

The generic "YAML with line marks + JSON Schema → located errors" is
:mod:`hubee.config_file`, shared with the gateway (gateway and hub may share code only
through trust and hubee); this module adds the hub's schema and template, and turns
problems into :class:`hub.errors.HubConfigError` (exit code 3).
"""

from __future__ import annotations

import json
from pathlib import Path

from hub.config_schema import HUB_SCHEMA
from hub.errors import HubConfigError
from hub.settings import HubConfig
from hubee.config_file import ConfigFileError, load_config_file

_HINT = "Fix the named line of hub.yaml (docs/HUB.md and packaging/examples/hub.yaml), then retry."


def load_hub_config(data_dir: Path) -> HubConfig:
    """``<data>/hub.yaml`` as settings; refused when missing or wrong, naming file and line."""
    path = data_dir / "hub.yaml"
    try:
        doc = load_config_file(path, HUB_SCHEMA)
    except ConfigFileError as exc:
        if exc.missing:
            raise HubConfigError(f"no settings file {path}") from None
        raise HubConfigError(exc.message, hint=_HINT) from None
    try:
        return HubConfig.from_mapping(doc, data_dir=data_dir)
    except HubConfigError as exc:  # a rule beyond the schema
        raise HubConfigError(f"{path}: {exc.message}", hint=_HINT) from None


_COMMENTS = {
    "name": "The hub's name: its journal's origin and key name, the witness key's prefix.",
    "public_url": "The URL gateways reach the hub at, scheme://host[:port] (for tsaUrl).",
    "token_ttl_seconds": "Lifetime of the HubEE API's OAuth2 tokens, in seconds.",
    "max_attachment_bytes": "Largest attachment accepted, in bytes (HubEE: 1 GB).",
    "require_digest": "true: refuse uploads without the (optional in HubEE) digest header.",
    "enrollment_token_ttl_hours": "How long a gateway enrollment token stays usable, in hours.",
    "certificate_days": "Validity of the certificates issued to gateways, in days.",
    "checkpoint_every_entries": "A journal checkpoint every N entries ...",
    "checkpoint_every_seconds": "... or every T seconds, whichever comes first.",
    "max_feed_wait_seconds": "Longest a gateway's long poll is held open, in seconds (≤ 60).",
    "upload_abandon_after_hours": "A partial upload untouched this long is deleted by the purge.",
    "retired_seal_grace_days": "Days a seal certificate retired by a key rotation still "
    "answers for dossiers sealed before it.",
}


def render_hub_yaml(config: HubConfig) -> str:
    """hub.yaml for ``config``, each key under its comment (valid against the schema)."""
    mapping = config.to_mapping()
    lines = [
        "# Sceau hub settings (written by `sceau hub init`). Edit by hand, then restart",
        "# `sceau hub run`; command-line options override them for one run. Checked",
        "# against a JSON Schema at start: a wrong key or value is refused with its line.",
    ]
    for key in HUB_SCHEMA["properties"]:
        lines += ["", f"# {_COMMENTS[key]}"]
        if key in mapping:
            lines.append(f"{key}: {json.dumps(mapping[key], ensure_ascii=False)}")
        else:
            lines.append(f'# {key}: "https://hub.example.fr:8443"')
    return "\n".join(lines) + "\n"
