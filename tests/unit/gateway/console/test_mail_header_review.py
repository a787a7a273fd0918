"""A sender-chosen folder number with a line break must not stop the e-mail queue
(EmailMessage refuses such a header, which raised before the send's error handling,
so the same row failed every round and blocked the mails behind it)."""

from __future__ import annotations

from gateway.console.mail_message import immediate_message
from gateway.console.mail_store import MailMode, QueuedMail


def test_a_line_break_in_the_folder_number_is_flattened_in_the_subject() -> None:
    row = QueuedMail(
        id=1,
        login="marie",
        address="marie@mairie.example.fr",
        process_code="CERTDC",
        case_id="case-1",
        folder_id="folder-1",
        folder_number="ER-1\r\nBcc: spy@evil.example",
        mode=MailMode.IMMEDIATE,
        attempts=0,
    )
    message = immediate_message(
        row, sender="sceau@mairie.example.fr", console_url="https://gw/console", domain="gw"
    )
    subject = str(message["Subject"])
    assert "\r" not in subject and "\n" not in subject
    assert subject.endswith("ER-1 Bcc: spy@evil.example")
    assert message["Bcc"] is None
    assert b"\r\nBcc:" not in message.as_bytes()
