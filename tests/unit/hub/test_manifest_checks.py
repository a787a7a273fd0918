"""A sealed manifest must describe what it travels with; every difference is named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from hub.link_model import ReceiptOutcome
from hub.manifest_checks import check_event_manifest, check_folder_manifest, receipt_fields
from hubee.commands import NewAttachment, NewCase, NewEvent, NewFolder
from hubee.errors import ValidationFailed
from hubee.model import ActionType, Applicant, OrgRef, OrgType
from trust.manifest import AttachmentDigest, Manifest

SENDER = "11000201100044/DGS"
COMMUNE = OrgRef(OrgType.SI, "21930066200016", "93066")
FOLDER_ID = str(uuid.uuid4())
NOW = datetime(2026, 11, 22, tzinfo=UTC)
FOLDER = NewFolder(
    process_code="CERTDC",
    external_id="EXT-1",
    applicant=Applicant("Camille", "Martin"),
    cases=(NewCase("EXT-1-01", COMMUNE),),
    attachments=(NewAttachment("acte.pdf", "PJ", 10, "application/pdf"),),
)


def manifest(**changes: object) -> Manifest:
    fields: dict[str, object] = {
        "id": FOLDER_ID,
        "kind": "folder",
        "created": NOW,
        "attachments": (AttachmentDigest("acte.pdf", "application/pdf", 10, "0" * 64),),
        "process_code": "CERTDC",
        "external_id": "EXT-1",
        "sender": SENDER,
        "recipients": (COMMUNE.key,),
    }
    fields.update(changes)
    return Manifest(**fields)  # type: ignore[arg-type]


def test_a_faithful_folder_manifest_passes() -> None:
    check_folder_manifest(manifest(), folder_id=FOLDER_ID, folder=FOLDER, sender=SENDER)


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"id": str(uuid.uuid4())}, "id is"),
        ({"kind": "files"}, "kind is 'files'"),
        ({"process_code": "RSA"}, "processCode is 'RSA'"),
        ({"external_id": None}, "externalId is None"),
        ({"sender": "21930048000016/93048"}, "sender is '21930048000016/93048'"),
        ({"recipients": ()}, "recipients are []"),
        ({"attachments": ()}, "'acte.pdf' (10 bytes, application/pdf) is not in the manifest"),
        (
            {"attachments": (AttachmentDigest("acte.pdf", "application/pdf", 11, "0" * 64),)},
            "the manifest lists 'acte.pdf' (11 bytes",
        ),
    ],
)
def test_every_difference_is_named(changes: dict[str, object], said: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_folder_manifest(
            manifest(**changes), folder_id=FOLDER_ID, folder=FOLDER, sender=SENDER
        )
    assert refused.value.field == "manifest" and said in refused.value.reason


def test_an_event_manifest_names_its_case() -> None:
    case_id = str(uuid.uuid4())
    event = NewEvent(ActionType.ATTACH_DEPOSIT, attachments=FOLDER.attachments)
    good = manifest(kind="event", extra={"caseId": case_id}, recipients=())
    check_event_manifest(good, case_id=case_id, event=event, sender=SENDER)
    with pytest.raises(ValidationFailed, match=r"extra\.caseId"):
        check_event_manifest(good, case_id=str(uuid.uuid4()), event=event, sender=SENDER)


def test_receipt_fields_are_read_and_checked() -> None:
    case_id, receipt_id = str(uuid.uuid4()), str(uuid.uuid4())
    extra = {
        "caseId": case_id,
        "folderManifestSha256": "a" * 64,
        "outcome": "rejected",
        "reason": "bad digest",
    }
    receipt = Manifest(id=receipt_id, kind="receipt", created=NOW, sender=COMMUNE.key, extra=extra)
    found = receipt_fields(receipt, case_id=case_id, sender=COMMUNE.key)
    assert (found.receipt_id, found.outcome, found.reason) == (
        receipt_id,
        ReceiptOutcome.REJECTED,
        "bad digest",
    )
    bare = Manifest(
        id="nope", kind="receipt", created=NOW, sender=SENDER, extra={"outcome": "rejected"}
    )
    with pytest.raises(ValidationFailed) as refused:
        receipt_fields(bare, case_id=case_id, sender=COMMUNE.key)
    for said in (
        "not a UUID",
        "sender is",
        "extra.caseId",
        "folderManifestSha256",
        "needs extra.reason",
    ):
        assert said in refused.value.reason
