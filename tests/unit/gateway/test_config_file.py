"""gateway.yaml: written with comments, read back equal; every mistake is named by file,
line, column and key path; a legacy gateway.json still loads; the shipped example is
valid."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from gateway.config_file import render_yaml
from gateway.config_schema import CONSOLE, FOLDER, GATEWAY_SCHEMA, SMTP, WEBHOOK
from gateway.errors import GatewayConfigError
from gateway.settings import ConsoleSettings, GatewaySettings, SmtpSettings
from gateway.settings_tasks import PurgeSettings, WatchedFolder, Webhook, WebhooksSettings
from hubee.config_file import parse_config_text

ORG = ("21930066200016", "93066")
EXAMPLE = Path(__file__).parents[3] / "packaging" / "examples" / "gateway.yaml"


def _full(root: Path) -> GatewaySettings:
    return GatewaySettings(
        root,
        *ORG,
        hub_url="https://hub.example.fr:8443",
        unsealed_from_hub="refuse",
        console=ConsoleSettings(smtp=SmtpSettings("smtp.example.fr", "sceau@example.fr")),
        folders=(WatchedFolder("CERTDC", Path("/srv/CERTDC"), "SI", "c1", Path("c1.secret")),),
        webhooks=WebhooksSettings(
            True, (Webhook("c2", Path("c2.secret"), "http://app.lan/hook", Path("hook.key")),)
        ),
        purge=PurgeSettings(enabled=True, every_minutes=30),
    )


def _error(data: Path, text: str) -> str:
    (data / "gateway.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(GatewayConfigError) as caught:
        GatewaySettings.load(data)
    return caught.value.message


def _line_of(text: str, needle: str) -> int:
    """The 1-based number of the first non-comment line holding ``needle``."""
    lines = enumerate(text.splitlines(), 1)
    return next(i for i, line in lines if needle in line and not line.lstrip().startswith("#"))


def test_written_file_reads_back_equal_and_comments_each_section(tmp_path: Path) -> None:
    settings = _full(tmp_path)
    settings.save()
    text = (tmp_path / "gateway.yaml").read_text()
    assert GatewaySettings.load(tmp_path) == settings
    assert not (tmp_path / "gateway.json").exists()
    lines = text.splitlines()
    for key in GATEWAY_SCHEMA["properties"]:
        at = _line_of(text, f"{key}:") - 1
        block = []  # the lines above it, up to the previous blank line
        while at > 0 and lines[at - 1].strip():
            at -= 1
            block.append(lines[at])
        assert any(line.startswith("#") for line in block), f"{key} has no comment above it"


def test_unknown_key_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    text = render_yaml(GatewaySettings(tmp_path, *ORG)).replace("lan_port:", "lan_prot:")
    message = _error(tmp_path, text)
    line = _line_of(text, "lan_prot:")
    assert f'gateway.yaml:{line}:1: unknown key "lan_prot" (did you mean "lan_port"?)' in message


def test_nested_unknown_key_and_wrong_types_give_key_path_line_and_column(tmp_path: Path) -> None:
    text = (
        render_yaml(_full(tmp_path))
        .replace("checkpoint_entries: 1000", 'checkpoint_entries: "ten"')
        .replace("session_minutes: 480", "sesion_minutes: 480")
        .replace('side: "SI"', 'side: "XX"')
    )
    message = _error(tmp_path, text)
    entries = _line_of(text, "checkpoint_entries:")
    assert f'gateway.yaml:{entries}:21: checkpoint_entries: expected an integer ≥ 1, got "ten"' in (
        message
    )
    session = _line_of(text, "sesion_minutes:")
    assert f'gateway.yaml:{session}:3: console: unknown key "sesion_minutes"' in message
    assert 'did you mean "session_minutes"?' in message
    side = _line_of(text, 'side: "XX"')
    assert f'gateway.yaml:{side}:11: folders[0].side: expected one of "OSL", "SI", got "XX"' in (
        message
    )
    # Listed in file order, one per line.
    assert message.index("checkpoint_entries") < message.index("sesion") < message.index("side")


def test_formats_are_explained(tmp_path: Path) -> None:
    text = (
        render_yaml(_full(tmp_path))
        .replace('"21930066200016"', "21930066200016")
        .replace('"https://hub.example.fr:8443"', '"hub.example.fr"')
        .replace("every_minutes: 30", "every_minutes: 0")
    )
    message = _error(tmp_path, text)
    assert "company_register: expected a 14-digit SIRET in quotes" in message
    assert "got 21930066200016" in message
    url = "hub_url: expected an http(s) URL such as https://hub.example.fr:8443 (or null), got"
    assert f'{url} "hub.example.fr"' in message
    assert "purge.every_minutes: expected an integer ≥ 1 and ≤ 10080, got 0" in message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = render_yaml(GatewaySettings(tmp_path, *ORG)).replace("lan_port: 8080", "lan_port: [8080")
    message = _error(tmp_path, text)
    assert "gateway.yaml:" in message and "YAML syntax error" in message
    assert f"started at line {_line_of(text, 'lan_port:')}" in message


def test_missing_required_and_duplicate_keys(tmp_path: Path) -> None:
    text = render_yaml(GatewaySettings(tmp_path, *ORG))
    no_branch = text.replace('branch_code: "93066"\n', "")
    assert 'missing required key "branch_code"' in _error(tmp_path, no_branch)
    twice = text + "lan_port: 9090\n"
    line = len(twice.splitlines())
    assert f'gateway.yaml:{line}:1: duplicate key "lan_port"' in _error(tmp_path, twice)
    assert "expected a mapping" in _error(tmp_path, "- just\n- a list\n")


def test_a_rule_beyond_the_schema_still_names_the_file(tmp_path: Path) -> None:
    settings = _full(tmp_path)
    text = render_yaml(settings)
    text = text.replace("folders:\n", "folders:\n" + _folder_yaml("/srv/CERTDC", "SI"), 1)
    message = _error(tmp_path, text)
    assert "gateway.yaml: folders: two processes share one root folder" in message


def _folder_yaml(root: str, side: str) -> str:
    return (
        f'  - process: "CERTDC"\n    root: "{root}"\n    side: "{side}"\n'
        '    client_id: "x"\n    client_secret_file: "x.secret"\n'
    )


def test_missing_file_says_it_is_no_data_directory(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="not a gateway data directory"):
        GatewaySettings.load(tmp_path)


def test_legacy_gateway_json_still_loads_and_stays_json(tmp_path: Path) -> None:
    legacy = {"company_register": ORG[0], "branch_code": ORG[1], "lan_port": 8181}
    (tmp_path / "gateway.json").write_text(json.dumps(legacy))
    settings = GatewaySettings.load(tmp_path)
    assert settings.lan_port == 8181 and settings.folders == ()
    settings.save()
    assert not (tmp_path / "gateway.yaml").exists()
    assert json.loads((tmp_path / "gateway.json").read_text())["lan_port"] == 8181
    (tmp_path / "gateway.json").write_text(json.dumps({**legacy, "colour": "blue"}))
    with pytest.raises(GatewayConfigError, match=r"unknown key.*colour"):
        GatewaySettings.load(tmp_path)


def test_shipped_example_is_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    doc = parse_config_text(text, GATEWAY_SCHEMA, file=EXAMPLE)
    settings = GatewaySettings.from_json(tmp_path, doc)
    assert settings.folders and settings.folders[0].side == "SI"
    assert settings.purge.enabled


@pytest.mark.parametrize(
    ("schema", "cls", "skip"),
    [
        (GATEWAY_SCHEMA, GatewaySettings, {"data_dir"}),
        (CONSOLE, ConsoleSettings, set()),
        (SMTP, SmtpSettings, set()),
        (FOLDER, WatchedFolder, set()),
        (WEBHOOK, Webhook, set()),
    ],
)
def test_schema_and_settings_name_the_same_keys(
    schema: dict[str, object], cls: type, skip: set[str]
) -> None:
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert set(properties) == {f.name for f in fields(cls)} - skip
    assert schema["additionalProperties"] is False


def test_schema_refuses_unknown_keys_at_every_level() -> None:
    def walk(node: object) -> int:
        count = 0
        if isinstance(node, dict):
            if node.get("type") == "object" or "object" in (node.get("type") or []):
                assert node.get("additionalProperties") is False, node.get("properties")
                count += 1
            count += sum(walk(v) for v in node.values())
        return count

    assert walk(GATEWAY_SCHEMA) >= 6
