"""GatewaySettings: the nested console/SMTP values and ``unsealed_from_hub`` round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.errors import GatewayConfigError
from gateway.settings import ConsoleSettings, GatewaySettings, SmtpSettings

ORG = ("21930066200016", "93066")


def test_defaults_keep_old_settings_loading(tmp_path: Path) -> None:
    legacy = {"company_register": ORG[0], "branch_code": ORG[1], "lan_port": 8081}
    settings = GatewaySettings.from_json(tmp_path, legacy)
    assert settings.unsealed_from_hub == "refuse"  # unsigned input is refused by default
    assert settings.console == ConsoleSettings()
    assert settings.console.max_upload_bytes == 20 * 1024**2
    assert settings.console.smtp is None


def test_nested_values_round_trip_through_json(tmp_path: Path) -> None:
    smtp = SmtpSettings(
        "mail.example",
        "sceau@example.fr",
        port=587,
        starttls=True,
        username="sceau",
        password_file=Path("/etc/sceau/smtp.pw"),
        digest_hour=6,
    )
    settings = GatewaySettings(
        tmp_path,
        *ORG,
        unsealed_from_hub="refuse",
        console=ConsoleSettings(secure_cookies=True, smtp=smtp),
    )
    doc = json.loads(json.dumps(settings.to_json()))
    assert doc["console"]["smtp"]["password_file"] == "/etc/sceau/smtp.pw"
    assert GatewaySettings.from_json(tmp_path, doc) == settings


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"unsealed_from_hub": "maybe"}, "unsealed_from_hub"),
        ({"console": {"sesion_minutes": 5}}, "sesion_minutes"),
        ({"console": {"session_minutes": 0}}, "session_minutes"),
        ({"console": {"smtp": {"host": "mail"}}}, "sender"),
        ({"console": {"smtp": {"host": "m", "sender": "a@b", "digest_hour": 24}}}, "digest_hour"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, patch: dict[str, object], named: str) -> None:
    doc = {"company_register": ORG[0], "branch_code": ORG[1], **patch}
    with pytest.raises(GatewayConfigError, match=named):
        GatewaySettings.from_json(tmp_path, doc)


@pytest.mark.parametrize("host", ["smtp.example.fr", "192.0.2.25", "localhost.example.fr"])
def test_an_smtp_password_without_starttls_is_refused_off_this_machine(host: str) -> None:
    doc = {"host": host, "sender": "sceau@example.fr", "password_file": "/etc/sceau/smtp.pw"}
    with pytest.raises(GatewayConfigError, match="starttls is false") as caught:
        SmtpSettings.from_json(doc)
    assert "starttls: true" in caught.value.diagnostics()
    assert SmtpSettings.from_json({**doc, "starttls": True}).starttls
    assert SmtpSettings.from_json({k: v for k, v in doc.items() if k != "password_file"})


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "[::1]"])
def test_an_smtp_password_without_starttls_is_allowed_on_loopback(host: str) -> None:
    smtp = SmtpSettings(host, "sceau@example.fr", password_file=Path("/etc/sceau/smtp.pw"))
    assert smtp.password_file == Path("/etc/sceau/smtp.pw") and not smtp.starttls
