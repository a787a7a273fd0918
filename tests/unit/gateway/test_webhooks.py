"""Webhook signatures, bodies and the persisted queue."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.webhooks import WebhookConfig, payload, safe_url, signature, verify_signature
from gateway.webhooks_queue import WebhookQueue

SECRET = b"0123456789abcdef0123456789abcdef"
BODY = b'{"type":"case.new"}'


def test_the_signature_is_an_hmac_over_time_and_body() -> None:
    header = signature(SECRET, 1_700_000_000, BODY)
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature(SECRET, header, BODY, now=1_700_000_100)
    assert not verify_signature(SECRET, header, BODY, now=1_700_000_301)  # too old: a replay
    assert not verify_signature(SECRET, header, BODY, now=1_699_999_000)
    assert not verify_signature(SECRET[:-1], header, BODY, now=1_700_000_000)
    assert not verify_signature(SECRET, "v1=" + expected, BODY, now=1_700_000_000)
    assert not verify_signature(SECRET, "t=soon,v1=" + expected, BODY, now=1_700_000_000)
    # Several v1 values (a receiver during a secret rotation): one good one suffices.
    assert verify_signature(SECRET, f"t=1700000000,v1=00,v1={expected}", BODY, now=1_700_000_000)


@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_changed_byte_breaks_the_signature(body: bytes, data: st.DataObject) -> None:
    header = signature(SECRET, 1_700_000_000, body)
    i = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1 :]
    assert not verify_signature(SECRET, header, flipped, now=1_700_000_000)
    assert not verify_signature(SECRET, header, body[:i], now=1_700_000_000)


def test_the_body_is_small_sorted_and_without_personal_data() -> None:
    note = {
        "id": "n-1",
        "caseId": "c-1",
        "eventId": None,
        "processCode": "CERTDC",
        "transmitter": {"type": "OSL", "companyRegister": "11000201100044", "branchCode": "DGS"},
        "recipient": {"type": "SI"},
        "dateTime": "2026-03-02T08:30:00.000Z",
        "applicant": {"lastName": "never copied"},
    }
    body = payload(note)
    document = json.loads(body)
    assert document["type"] == "case.new" and document["notificationId"] == "n-1"
    assert "never copied" not in body.decode() and "recipient" not in document
    assert json.loads(payload({**note, "eventId": "e-1"}))["type"] == "event.new"
    assert body == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def test_urls_in_logs_and_configuration_checks() -> None:
    assert safe_url("https://u:p@app.lan:8443/hook?token=t#x") == "https://app.lan:8443/hook"
    config = WebhookConfig(url="http://u:p@app.lan/hook", secret=SECRET)
    assert "0123456789" not in repr(config) and config.display_url == "http://app.lan/hook"
    with pytest.raises(ValueError, match="at least 16 bytes"):
        WebhookConfig(url="http://app.lan/hook", secret=b"short")
    with pytest.raises(ValueError, match="http"):
        WebhookConfig(url="ftp://app.lan/hook", secret=SECRET)


def test_the_queue_keeps_one_delivery_per_key_and_its_schedule(tmp_path: Path) -> None:
    queue = WebhookQueue(tmp_path / "q.db")
    try:
        assert queue.add("n-1", b"{}", now=10.0)
        assert not queue.add("n-1", b"{}", now=11.0)
        assert queue.add("n-2", b"{}", now=12.0)
        assert [d.key for d in queue.due(now=12.0)] == ["n-1", "n-2"]
        queue.reschedule("n-1", next_try=20.0, result="HTTP 500")
        assert [d.key for d in queue.due(now=15.0)] == ["n-2"]
        assert queue.next_due() == 12.0
        queue.mark_delivered("n-2", now=13.0, result="HTTP 200")
        assert queue.next_due() == 20.0
        assert [(d.key, d.attempts) for d in queue.due(now=20.0)] == [("n-1", 1)]
        queue.mark_abandoned("n-1", now=21.0, result="HTTP 500")
        assert queue.due(now=1e12) == [] and queue.next_due() is None
        assert queue.state_of("n-1") == ("abandoned", 2, "HTTP 500")
        # Finished and old, but still listed by the API: kept, or it would come back.
        assert queue.prune(done_before=100.0, still_listed=["n-1"]) == 1
        assert queue.state_of("n-1") is not None and queue.state_of("n-2") is None
        assert not queue.add("n-1", b"{}", now=30.0)
    finally:
        queue.close()
    reopened = WebhookQueue(tmp_path / "q.db")
    try:
        assert reopened.state_of("n-1") == ("abandoned", 2, "HTTP 500")
    finally:
        reopened.close()
