"""``appliance.logs``: the JSON and text formats, the choice of format, the redactor."""

from __future__ import annotations

import io
import json
import logging

import pytest

from appliance.logs import PERSONAL, REDACTED, choose_format, redact, setup_logging

PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Authorization: Bearer eyJhbGciOi.abc-def", "eyJhbGciOi"),
        ("authorization=Basic ZGdzOnNlY3JldA==", "ZGdzOnNlY3JldA"),
        ("POST /token client_secret=s3cr3t-Value&scope=OSL", "s3cr3t-Value"),
        ('{"password": "hunter2"}', "hunter2"),
        ("enrollment_token: tok_ABC123", "tok_ABC123"),
        ("access_token=at-987", "at-987"),
        (f"key follows {PEM} end", "MIGHAgEAMBMGByqGSM49"),
        ("truncated -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE", "MHcCAQEE"),
    ],
)
def test_redact_removes_secrets(text: str, gone: str) -> None:
    cleaned = redact(text)
    assert gone not in cleaned and REDACTED in cleaned


def test_redact_keeps_ordinary_text() -> None:
    text = "feed: 3 item(s) applied, cursor 12; tokens issued: 4"
    assert redact(text) == text


def _capture(fmt: str, emit: object) -> list[str]:
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(fmt, stream=buffer)
        assert callable(emit)
        emit()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    return buffer.getvalue().splitlines()


def test_json_lines_with_extras_redacted_and_personal_keys_dropped() -> None:
    log = logging.getLogger("gateway.unit")

    def emit() -> None:
        log.info(
            "pushed folder %s",
            "f-1",
            extra={"folder_id": "f-1", "count": 2, "client_secret": "xyz", "lastName": "Martin"},
        )
        try:
            raise ValueError(f"bad key {PEM}")
        except ValueError:
            log.exception("loading failed with password=pw1")

    first, second, *rest = _capture("json", emit)
    one = json.loads(first)
    assert one["message"] == "pushed folder f-1" and one["level"] == "info"
    assert one["logger"] == "gateway.unit" and one["time"].endswith("Z")
    assert one["folder_id"] == "f-1" and one["count"] == 2
    assert one["client_secret"] == REDACTED and one["lastName"] == PERSONAL
    two = json.loads(second)
    assert two["level"] == "error" and "password=[redacted]" in two["message"]
    assert "ValueError" in two["exception"] and "MIGHAgEA" not in two["exception"]
    assert rest == []


def test_text_format() -> None:
    lines = _capture("text", lambda: logging.getLogger("hub").warning("Bearer abc def"))
    assert len(lines) == 1 and lines[0].endswith("WARNING hub: Bearer [redacted] def")
    assert lines[0][:4].isdigit() and "Z " in lines[0]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_choose_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCEAU_LOG_FORMAT", raising=False)
    assert choose_format(None, io.StringIO()) == "json"
    assert choose_format(None, _Tty()) == "text"
    monkeypatch.setenv("SCEAU_LOG_FORMAT", "text")
    assert choose_format(None, io.StringIO()) == "text"
    assert choose_format("json", _Tty()) == "json"
    monkeypatch.setenv("SCEAU_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="json or text"):
        choose_format(None, io.StringIO())
