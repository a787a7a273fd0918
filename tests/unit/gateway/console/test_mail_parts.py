"""The notification e-mails' pure parts: digest times, backoff, batching, the text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gateway.console.mail import _batches, backoff, next_digest
from gateway.console.mail_message import digest_message, immediate_message
from gateway.console.mail_store import MailMode, QueuedMail

PARIS_WINTER = timezone(timedelta(hours=1))


def _row(i: int, login: str = "alice", mode: MailMode = MailMode.IMMEDIATE) -> QueuedMail:
    return QueuedMail(
        id=i,
        login=login,
        address=f"{login}@mairie.example.fr",
        process_code="CERTDC",
        case_id=f"case-{i}",
        folder_id=f"folder-{i}",
        folder_number=f"ER2026000000{i}",
        mode=mode,
        attempts=0,
    )


def test_the_next_digest_is_the_next_such_hour_in_local_time() -> None:
    at = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)  # 06:30 in Paris (winter)
    assert next_digest(at, 7, PARIS_WINTER) == datetime(2026, 11, 23, 7, 0, tzinfo=PARIS_WINTER)
    at = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 07:00 sharp: the next one is tomorrow
    assert next_digest(at, 7, PARIS_WINTER) == datetime(2026, 11, 24, 7, 0, tzinfo=PARIS_WINTER)
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert next_digest(at, 0, UTC) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(40) == 900.0


def test_immediate_rows_go_alone_and_digests_per_user() -> None:
    rows = [
        _row(1),
        _row(2, "bob", MailMode.DIGEST),
        _row(3),
        _row(4, "bob", MailMode.DIGEST),
        _row(5, "carol", MailMode.DIGEST),
    ]
    batches = [[r.id for r in b] for b in _batches(rows)]
    assert batches == [[1], [3], [2, 4], [5]]


def test_messages_carry_no_dossier_content_and_a_stable_message_id() -> None:
    first = immediate_message(
        _row(1), sender="sceau@mairie.example.fr", console_url="http://gw/console/", domain="d"
    )
    again = immediate_message(
        _row(1), sender="sceau@mairie.example.fr", console_url="http://gw/console/", domain="d"
    )
    assert first["Message-ID"] == again["Message-ID"]
    assert first["To"] == "alice@mairie.example.fr"
    body = first.get_content()
    assert "http://gw/console/dossiers/case-1" in body
    assert "ER20260000001" in body and "CERTDC" in body
    digest = digest_message(
        [_row(2, "bob", MailMode.DIGEST), _row(4, "bob", MailMode.DIGEST)],
        sender="sceau@mairie.example.fr",
        console_url="http://gw/console",
        domain="d",
    )
    assert str(digest["Subject"]) == "[Sceau] Récapitulatif : 2 nouveaux dossiers"
    text = digest.get_content()
    assert "Démarche CERTDC (2)" in text and "case-2" in text and "case-4" in text
    assert digest["Message-ID"] != first["Message-ID"]
