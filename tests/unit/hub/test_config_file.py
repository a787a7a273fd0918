"""hub.yaml: written with comments, read back equal; mistakes named by file, line and
key; the shipped example is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config_file import load_hub_config, render_hub_yaml
from hub.config_schema import HUB_SCHEMA
from hub.errors import HubConfigError
from hub.settings import HubConfig

EXAMPLE = Path(__file__).parents[3] / "packaging" / "examples" / "hub.yaml"


def _line_of(text: str, needle: str) -> int:
    lines = enumerate(text.splitlines(), 1)
    return next(i for i, line in lines if needle in line and not line.startswith("#"))


def _error(data: Path, text: str) -> str:
    (data / "hub.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(HubConfigError) as caught:
        load_hub_config(data)
    return caught.value.message


def test_written_file_reads_back_equal(tmp_path: Path) -> None:
    for config in (
        HubConfig(data_dir=tmp_path),
        HubConfig(data_dir=tmp_path, name="hub.example.fr", public_url="https://h.example:8443"),
    ):
        text = render_hub_yaml(config)
        (tmp_path / "hub.yaml").write_text(text)
        assert load_hub_config(tmp_path) == config
        assert text.count("\n# ") >= len(HUB_SCHEMA["properties"])  # a comment per key


def test_mistakes_are_located(tmp_path: Path) -> None:
    text = (
        render_hub_yaml(HubConfig(data_dir=tmp_path))
        .replace("checkpoint_every_entries:", "checkpoint_every_entrie:")
        .replace("require_digest: false", 'require_digest: "no"')
        .replace("max_feed_wait_seconds: 60.0", "max_feed_wait_seconds: 600")
    )
    message = _error(tmp_path, text)
    line = _line_of(text, "checkpoint_every_entrie:")
    assert (
        f'hub.yaml:{line}:1: unknown key "checkpoint_every_entrie" '
        '(did you mean "checkpoint_every_entries"?)'
    ) in message
    line = _line_of(text, "require_digest:")
    assert f'hub.yaml:{line}:17: require_digest: expected true or false, got "no"' in message
    assert "max_feed_wait_seconds: expected a number > 0 and ≤ 60.0, got 600" in message


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path, "name: hub\n  token_ttl_seconds: 5\n")
    assert "hub.yaml:2:" in message and "YAML syntax error" in message
    (tmp_path / "hub.yaml").unlink()
    with pytest.raises(HubConfigError, match="no settings file"):
        load_hub_config(tmp_path)


def test_schema_names_every_setting_and_example_is_valid(tmp_path: Path) -> None:
    assert set(HUB_SCHEMA["properties"]) >= set(HubConfig(data_dir=tmp_path).to_mapping())
    assert "public_url" in HUB_SCHEMA["properties"]
    (tmp_path / "hub.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"))
    config = load_hub_config(tmp_path)
    assert config.name == "hub.example.fr" and config.public_url == "https://hub.example.fr:8443"
