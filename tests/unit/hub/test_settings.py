"""The hub's settings: parsed from a mapping, refused on unknown keys and wrong types."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.errors import HubConfigError
from hub.settings import HubConfig

DATA = Path("/srv/hub")


def test_a_settings_file_round_trips_and_converts_units() -> None:
    config = HubConfig.from_mapping(
        {
            "name": "hub.example.fr",
            "public_url": "https://hub.example.fr:8443",
            "token_ttl_seconds": 600,
            "enrollment_token_ttl_hours": 2,
            "checkpoint_every_seconds": 30,
            "checkpoint_every_entries": 50,
            "max_feed_wait_seconds": 20,
            "require_digest": True,
        },
        data_dir=DATA,
    )
    assert config.token_ttl == timedelta(minutes=10)
    assert config.enrollment_token_ttl == timedelta(hours=2)
    assert config.checkpoint_every == timedelta(seconds=30)
    assert (config.max_feed_wait, config.require_digest) == (20.0, True)
    assert config.engine.token_ttl == timedelta(minutes=10) and config.engine.require_digest
    assert HubConfig.from_mapping(config.to_mapping(), data_dir=DATA) == config
    assert config.witness_key_name == "hub.example.fr-witness"
    assert config.journal_path == DATA / "journal.db"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"nmae": "x"}, "unknown setting 'nmae'"),
        ({"token_ttl_seconds": "3600"}, "token_ttl_seconds: must be a whole number"),
        ({"require_digest": "yes"}, "require_digest: must be true or false"),
        ({"checkpoint_every_entries": True}, "checkpoint_every_entries: must be a whole number"),
        ({"name": "has space"}, "name:"),
        ({"name": 7}, "name: must be a string"),
        ({"public_url": "https://hub/path"}, "public_url:"),
        ({"max_feed_wait_seconds": 600}, "max_feed_wait"),
        ({"checkpoint_every_seconds": 0}, "checkpoint_every: must be positive"),
        ({"certificate_days": -1}, "certificate_days: must be positive"),
    ],
)
def test_wrong_settings_are_refused_naming_the_key(
    mapping: dict[str, object], message: str
) -> None:
    with pytest.raises(HubConfigError, match=message):
        HubConfig.from_mapping(mapping, data_dir=DATA)


def test_overrides_accept_only_known_fields() -> None:
    config = HubConfig(data_dir=DATA).with_overrides(max_attachment_bytes=10)
    assert config.max_attachment_bytes == 10
    with pytest.raises(HubConfigError, match="unknown setting 'colour'"):
        HubConfig(data_dir=DATA).with_overrides(colour="blue")
