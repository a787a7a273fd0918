"""Secret files named in gateway.yaml (LAN client secrets, webhook HMAC keys) are keys:
never readable by group or others (security review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.console.mail import SmtpConfig
from gateway.errors import GatewayConfigError
from gateway.service_tasks import check_secrets
from gateway.settings import GatewaySettings
from gateway.settings_tasks import WatchedFolder, Webhook, WebhooksSettings, read_secret_file

ORG = ("21930066200016", "93066")


def test_a_secret_file_readable_by_others_stops_the_start_naming_the_fix(tmp_path: Path) -> None:
    folder = WatchedFolder("CERTDC", Path("files"), "SI", "client-1", Path("c.secret"))
    hook = Webhook("client-2", Path("c.secret"), "http://127.0.0.1:9/h", Path("hook.key"))
    settings = GatewaySettings(
        tmp_path, *ORG, folders=(folder,), webhooks=WebhooksSettings(True, (hook,))
    )
    key = tmp_path / "hook.key"
    key.write_text("a-webhook-key-of-32-bytes-at-least\n")
    key.chmod(0o600)
    secret = tmp_path / "c.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(GatewayConfigError, match="readable by group or others") as caught:
        check_secrets(settings)
    assert f"chmod 600 {secret}" in str(caught.value.hint)
    assert "s3cret" not in str(caught.value) and "s3cret" not in str(caught.value.hint)
    secret.chmod(0o600)
    check_secrets(settings)
    key.chmod(0o640)
    with pytest.raises(GatewayConfigError, match="readable by group or others"):
        read_secret_file(key, "the webhook secret")
    key.chmod(0o600)
    assert read_secret_file(key, "the webhook secret").startswith("a-webhook-key")


def test_the_smtp_password_file_is_refused_when_others_can_read_it(tmp_path: Path) -> None:
    password = tmp_path / "smtp.password"
    password.write_text("mail-p4ss\n")
    password.chmod(0o644)
    config = SmtpConfig(host="smtp.example", sender="sceau@example.fr", password_file=password)
    with pytest.raises(GatewayConfigError, match="readable by group or others") as caught:
        config.password()
    assert "mail-p4ss" not in str(caught.value)
    password.chmod(0o600)
    assert config.password() == "mail-p4ss"
