"""The log redactor's safety net on the secrets' usual spellings (security review)."""

from __future__ import annotations

import pytest

from appliance.logs import REDACTED, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("smtp_password=hunter2-long", "hunter2-long"),
        ("csrf_token=Zm9vYmFyYmF6", "Zm9vYmFyYmF6"),
        ("SCEAU_ENROLL_TOKEN=tok-123456", "tok-123456"),
        ('{"password": "two words here"}', "words here"),
        ("POST https://hook:s3cr3t-pw@app.example/x failed", "s3cr3t-pw"),
    ],
)
def test_compound_names_quoted_values_and_url_passwords_are_redacted(
    text: str, secret: str
) -> None:
    out = redact(text)
    assert secret not in out, out
    assert REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "secret_file=/etc/sceau/app-hook.key",
        "password_file: /etc/sceau/smtp.password",
        "tokens=3 sessions=2",
        "GET https://hub.example.fr:8443/link/v1/notifications",
    ],
)
def test_names_of_files_counts_and_plain_urls_are_kept(text: str) -> None:
    assert redact(text) == text
