"""gateway.yaml: read it (schema-checked, errors located by line), write it with comments.

``load_settings(data_dir)`` reads ``gateway.yaml``; a data directory made before YAML
holds only ``gateway.json``, which is still read (and, by :func:`save_settings`, kept as
JSON, so an upgrade never rewrites a file behind the operator's back). The generic part,
"YAML with line marks + JSON Schema → located errors", is :mod:`hubee.config_file`,
shared with the hub; this module adds the gateway's schema and the file's template.

:func:`render_yaml` writes every key with a comment saying what it does, since operators
edit the file by hand; ``sceau gateway init`` and ``enroll`` write it this way (comments
an operator added are not kept by ``enroll``, which rewrites the file with hub_url set).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway.config_schema import GATEWAY_SCHEMA
from gateway.errors import GatewayConfigError
from gateway.settings import GatewayPaths, GatewaySettings, write_json
from hubee.config_file import ConfigFileError, load_config_file

_HINT = "Fix the named line of the settings file (docs/GATEWAY.md, 'Configuration'), then retry."


def load_settings(data_dir: Path) -> GatewaySettings:
    paths = GatewayPaths(data_dir)
    path = paths.settings
    if path == paths.legacy_settings:
        return _load_legacy(data_dir, path)
    try:
        doc = load_config_file(path, GATEWAY_SCHEMA)
    except ConfigFileError as exc:
        if exc.missing:
            raise GatewayConfigError(
                f"{data_dir} is not a gateway data directory (no {path.name})"
            ) from None
        raise GatewayConfigError(exc.message, hint=_HINT) from None
    try:
        return GatewaySettings.from_json(data_dir, doc, file=path.name)
    except GatewayConfigError as exc:  # a rule the schema cannot say (e.g. the SIRET's check digit)
        raise GatewayConfigError(f"{path}: {exc.message}", hint=_HINT) from None


def _load_legacy(data_dir: Path, path: Path) -> GatewaySettings:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise GatewayConfigError(f"cannot read {path}: {exc}") from None
    return GatewaySettings.from_json(data_dir, doc, file=path.name)


def save_settings(settings: GatewaySettings) -> None:
    paths = settings.paths
    if paths.settings == paths.legacy_settings:
        write_json(paths.legacy_settings, settings.to_json())
        return
    _write_text(paths.settings_yaml, render_yaml(settings))


def _write_text(path: Path, text: str) -> None:
    """Write durably: a temporary file (0600), fsync, rename."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _v(value: object) -> str:
    """A scalar as YAML (JSON scalars are YAML; strings stay quoted, so digits stay text)."""
    return json.dumps(value, ensure_ascii=False)


def render_yaml(settings: GatewaySettings) -> str:
    """gateway.yaml for ``settings``, each key with a comment (valid against the schema)."""
    doc = settings.to_json()
    console = doc["console"]
    lines = [
        "# Sceau gateway settings. Edit by hand, then restart `sceau gateway run`.",
        "# Checked against a JSON Schema at start: an unknown key or a wrong value is",
        "# refused with its line. Reference: docs/GATEWAY.md, 'Configuration'.",
        "",
        "# The organisation this gateway acts for: SIRET (14 digits) and routing code.",
        f"company_register: {_v(doc['company_register'])}",
        f"branch_code: {_v(doc['branch_code'])}",
        "",
        "# The hub's URL (set by `sceau gateway enroll`); null until enrolled.",
        f"hub_url: {_v(doc['hub_url'])}",
        "",
        "# Where the LAN HubEE API listens (local software uses http://HOST:PORT).",
        f"lan_host: {_v(doc['lan_host'])}",
        f"lan_port: {doc['lan_port']}",
        "",
        "# A journal checkpoint is made every N entries or T seconds, whichever comes first.",
        f"checkpoint_entries: {doc['checkpoint_entries']}",
        f"checkpoint_seconds: {_v(doc['checkpoint_seconds'])}",
        "",
        "# An RFC 3161 time-stamp authority instead of the hub's (null: the hub's).",
        f"tsa_url: {_v(doc['tsa_url'])}",
        "",
        "# Lifetime of the OAuth2 tokens given to LAN clients, in seconds.",
        f"token_ttl_seconds: {doc['token_ttl_seconds']}",
        "# Largest attachment accepted from a LAN client, in bytes.",
        f"max_attachment_bytes: {doc['max_attachment_bytes']}",
        "",
        "# A case an operator sent straight to the hub's HubEE API (no gateway seal):",
        "# refuse (the default: a sealed rejection goes back to the sender) or accept",
        "# (checked against the hub's digests, shown on the LAN marked unsealed).",
        f"unsealed_from_hub: {_v(doc['unsealed_from_hub'])}",
        "",
        "# The web console for agents (under /console/ on the LAN port).",
        "console:",
        f"  enabled: {_v(console['enabled'])}",
        "  # true when the console is served over HTTPS (Secure cookies).",
        f"  secure_cookies: {_v(console['secure_cookies'])}",
        "  # Idle sessions end after this many minutes.",
        f"  session_minutes: {console['session_minutes']}",
        "  # After this many failed logins, the account is locked for lockout_minutes.",
        f"  max_failed_logins: {console['max_failed_logins']}",
        f"  lockout_minutes: {console['lockout_minutes']}",
        "  # Largest file an agent may upload through the console, in bytes.",
        f"  max_upload_bytes: {console['max_upload_bytes']}",
        "  # The URL agents type (null: the LAN address).",
        f"  public_url: {_v(console['public_url'])}",
        "  # Mail relay for notifications and the daily digest (null: no e-mail). E.g.:",
        "  #   smtp:",
        '  #     host: "smtp.example.fr"',
        "  #     port: 587",
        '  #     sender: "sceau@example.fr"',
        "  #     starttls: true",
        '  #     username: "sceau"',
        '  #     password_file: "/etc/sceau/smtp.password"   # never the password itself',
        "  #   A password only with starttls: true (refused without it, unless host is",
        "  #   this machine: localhost, 127.0.0.1, ::1).",
        "  #     digest_hour: 7",
    ]
    smtp = console["smtp"]
    if smtp is None:
        lines.append("  smtp: null")
    else:
        lines.append("  smtp:")
        lines += [f"    {key}: {_v(value)}" for key, value in smtp.items()]
    lines += [
        "",
        "# Watched folders: per process, OUT/ (dossiers to send, OSL side) or IN/ (cases",
        "# received, SI side), plus SENT/ and FAILED/, under root. Each uses a LAN client",
        "# (`sceau gateway client add NAME --process CODE --scope OSL|SI`) whose secret is",
        "# in client_secret_file (never inline). Relative paths are under the data folder.",
        "# Times in seconds. E.g.:",
        '#   - process: "CERTDC"',
        '#     root: "/srv/hubee/CERTDC"',
        '#     side: "SI"',
        '#     client_id: "…"',
        '#     client_secret_file: "/etc/sceau/certdc.secret"',
        "#     scan_interval: 2.0",
        "#     settle_time: 2.0",
    ]
    if not doc["folders"]:
        lines.append("folders: []")
    else:
        lines.append("folders:")
        for folder in doc["folders"]:
            first = True
            for key, value in folder.items():
                lines.append(f"  {'- ' if first else '  '}{key}: {_v(value)}")
                first = False
    webhooks = doc["webhooks"]
    lines += [
        "",
        "# Webhooks: a signed POST to a local URL when a LAN client has a new case or",
        "# event (docs/FOLDERS.md, 'Webhooks'). secret_file holds the HMAC key (≥ 16",
        "# bytes) shared with the receiver. E.g.:",
        "#   hooks:",
        '#     - client_id: "…"',
        '#       client_secret_file: "/etc/sceau/app.secret"',
        '#       url: "http://app.lan/hubee-hook"',
        '#       secret_file: "/etc/sceau/app-hook.key"',
        "#       poll_interval: 2.0",
        "webhooks:",
        f"  enabled: {_v(webhooks['enabled'])}",
    ]
    if not webhooks["hooks"]:
        lines.append("  hooks: []")
    else:
        lines.append("  hooks:")
        for hook in webhooks["hooks"]:
            first = True
            for key, value in hook.items():
                lines.append(f"    {'- ' if first else '  '}{key}: {_v(value)}")
                first = False
    purge = doc["purge"]
    lines += [
        "",
        "# Retention purge, every every_minutes: each process's delays (files 30 days",
        "# after SI_RECEIVED, archived 30 days after CLOSED, deleted 365 days later,",
        "# unless the process says otherwise). Every purge is journaled.",
        "purge:",
        f"  enabled: {_v(purge['enabled'])}",
        f"  every_minutes: {purge['every_minutes']}",
        "",
    ]
    return "\n".join(lines)
