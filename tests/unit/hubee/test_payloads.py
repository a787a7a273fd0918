"""Parsing HubEE JSON payloads: field-level errors, and file names that cannot be paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubee import payloads
from hubee.attachments import digest_header, parse_digest
from hubee.errors import ValidationFailed
from hubee.model import ActionType, Status


def folder(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "processCode": "CERTDC",
        "externalId": "DGS-CERTDC-1",
        "applicant": {"firstName": "Jean", "lastName": "Dupont"},
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": "21930066200016",
                    "branchCode": "93066",
                },
                "externalId": "DGS-CERTDC-1-01",
            }
        ],
        "attachments": [
            {
                "fileName": "a.pdf",
                "type": "VA",
                "size": 3,
                "mimeType": "application/pdf",
                "recipients": ["DGS-CERTDC-1-01"],
            }
        ],
    }
    body.update(changes)
    return body


def parse(body: Any) -> Any:
    return payloads.new_folder(json.dumps(body).encode())


def test_a_valid_folder_is_parsed() -> None:
    cmd = parse(folder(id="ignored", globalStatus="DONE"))
    assert cmd.process_code == "CERTDC" and cmd.cases[0].recipient.branch_code == "93066"
    assert cmd.attachments[0].recipients == ("DGS-CERTDC-1-01",)
    assert cmd.fingerprint() == parse(folder()).fingerprint()
    assert cmd.fingerprint() != parse(folder(externalId="DGS-CERTDC-2")).fingerprint()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (folder(processCode=None), "processCode"),
        (folder(externalId="x" * 31), "externalId"),
        (folder(applicant="Jean"), "applicant"),
        (
            folder(applicant={"firstName": "Jean", "lastName": "D", "email": "nope"}),
            "applicant.email",
        ),
        (folder(cases=[]), "cases"),
        (folder(cases=[{"externalId": "a"}]), "cases[0].recipient"),
        (folder(attachments=[]), "attachments"),
        (
            folder(
                attachments=[
                    {
                        "fileName": "a",
                        "type": "t",
                        "size": -1,
                        "mimeType": "m",
                        "recipients": ["DGS-CERTDC-1-01"],
                    }
                ]
            ),
            "attachments[0].size",
        ),
        (
            folder(
                attachments=[
                    {
                        "fileName": "a",
                        "type": "t",
                        "size": True,
                        "mimeType": "m",
                        "recipients": ["DGS-CERTDC-1-01"],
                    }
                ]
            ),
            "attachments[0].size",
        ),
        (
            folder(attachments=[{"fileName": "a", "type": "t", "size": 1, "mimeType": "m"}]),
            "attachments[0].recipients",
        ),
    ],
)
def test_bad_folders_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(body)
    assert caught.value.field == field


def test_recipients_must_be_si_and_distinct() -> None:
    case = folder()["cases"][0]
    osl = {**case, "recipient": {**case["recipient"], "type": "OSL"}}
    with pytest.raises(ValidationFailed) as caught:
        parse(folder(cases=[osl]))
    assert caught.value.field == "cases[0].recipient.type"
    with pytest.raises(ValidationFailed) as twice:
        parse(folder(cases=[case, case]))
    assert twice.value.field == "cases"


def test_not_json_and_not_an_object() -> None:
    for body in (b"{", b"\xff\xfe", b"[1, 2]"):
        with pytest.raises(ValidationFailed) as caught:
            payloads.new_folder(body)
        assert caught.value.field == "body"


def test_events_and_status_updates() -> None:
    event = payloads.new_event(b'{"actionType": "STATUS_UPDATE", "caseNewStatus": "DONE"}')
    assert event.action_type is ActionType.STATUS_UPDATE and event.case_new_status is Status.DONE
    assert not event.notification
    with pytest.raises(ValidationFailed) as missing:
        payloads.new_event(b'{"actionType": "STATUS_UPDATE"}')
    assert missing.value.field == "caseNewStatus"
    with pytest.raises(ValidationFailed) as unknown:
        payloads.new_event(b'{"actionType": "SHOUT"}')
    assert unknown.value.field == "actionType" and "SENDING_MESSAGE" in unknown.value.reason
    with pytest.raises(ValidationFailed):
        payloads.new_event(b'{"actionType": "COM_ADD", "notification": "yes"}')
    update = payloads.folder_update(
        b'{"globalStatus": "CLOSED", "closeDateTime": "2026-01-02T03:04:05"}'
    )
    assert update.close_at is not None and update.close_at.tzinfo is not None
    with pytest.raises(ValidationFailed):
        payloads.folder_update(b'{"globalStatus": "CLOSED", "closeDateTime": "yesterday"}')


@given(st.text(max_size=80))
def test_file_names_never_become_paths(raw: str) -> None:
    try:
        name = payloads.safe_file_name(raw, "fileName")
    except ValidationFailed:
        return
    assert "/" not in name and "\\" not in name
    assert name not in {".", ".."} and name.strip() == name and name
    assert all(ch.isprintable() for ch in name)


def test_file_names_keep_their_last_component() -> None:
    assert payloads.safe_file_name("../../etc/passwd", "f") == "passwd"
    assert payloads.safe_file_name("C:\\Users\\x\\acte.pdf", "f") == "acte.pdf"
    assert payloads.safe_file_name("acte de décès.pdf", "f") == "acte de décès.pdf"


@given(st.binary(min_size=32, max_size=32))
def test_digest_header_round_trip(raw: bytes) -> None:
    header = digest_header(raw.hex())
    assert parse_digest(header) == raw.hex()
    assert parse_digest("SHA-256=" + header) == raw.hex()


@pytest.mark.parametrize("bad", ["", "abc", "!!!!", digest_header("00" * 32)[:-4]])
def test_bad_digest_headers(bad: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_digest(bad)
    assert caught.value.field == "digest"
