"""The sender and delivery checks of an exchange bundle: a recipient may leave out only
files the sealed manifest addresses to others, with their sealed digests; a dossier
without a sender's seal is reported as such, never as sealed."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from trust.bundle_dossier import Delivery, check_not_delivered, check_sender
from trust.canonical import canonical_json
from trust.errors import MalformedInputError
from trust.manifest import AttachmentDigest, Manifest

AT = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
ME, OTHER = "21930066200016/93066", "22930008201453/93"


def _file(name: str) -> AttachmentDigest:
    return AttachmentDigest(name, "application/xml", 10, hashlib.sha256(name.encode()).hexdigest())


MINE, THEIRS, SHARED = _file("mine.xml"), _file("theirs.xml"), _file("shared.xml")
MANIFEST = Manifest(
    id="f1",
    kind="folder",
    created=AT,
    attachments=(MINE, THEIRS, SHARED),
    sender="11000201100044/DGS",
    recipients=(ME, OTHER),
    extra={
        "cases": [
            {"id": "c1", "externalId": "X-01", "recipient": ME},
            {"id": "c2", "externalId": "X-02", "recipient": OTHER},
        ],
        "attachments": [
            {"fileName": "mine.xml", "recipients": ["X-01"]},
            {"fileName": "theirs.xml", "recipients": ["X-02"]},
            {"fileName": "shared.xml", "recipients": ["X-01", "X-02"]},
        ],
    },
)


def _delivery(*files: AttachmentDigest, recipient: str | None = ME) -> Delivery:
    return Delivery.parse(
        canonical_json(
            {
                "recipient": recipient,
                "notDelivered": [
                    {"fileName": f.file_name, "sha256": f.sha256, "size": f.size} for f in files
                ],
            }
        )
    )


def test_a_file_for_the_other_recipient_only_may_be_left_out() -> None:
    check = check_not_delivered(MANIFEST, _delivery(THEIRS), THEIRS)
    assert check.ok and check.detail.startswith("not delivered to this recipient")
    assert THEIRS.sha256 in check.detail


@pytest.mark.parametrize("hidden", [MINE, SHARED])
def test_a_file_addressed_to_this_recipient_may_not_be_left_out(
    hidden: AttachmentDigest,
) -> None:
    check = check_not_delivered(MANIFEST, _delivery(hidden), hidden)
    assert not check.ok and "yet not in its bundle" in check.detail


def test_another_digest_or_an_unknown_recipient_fails() -> None:
    forged = AttachmentDigest(THEIRS.file_name, THEIRS.mime_type, THEIRS.size, "0" * 64)
    assert not check_not_delivered(MANIFEST, _delivery(forged), THEIRS).ok
    assert not check_not_delivered(MANIFEST, _delivery(THEIRS, recipient="1/2"), THEIRS).ok
    unrouted = Manifest(id="f2", kind="folder", created=AT, attachments=(THEIRS,), recipients=(ME,))
    assert not check_not_delivered(unrouted, _delivery(THEIRS), THEIRS).ok


@pytest.mark.parametrize(
    "doc",
    [
        b"[]",
        b'{"recipient":1,"notDelivered":[]}',
        b'{"notDelivered":[],"recipient":null,"x":1}',
        b'{"notDelivered":[{"fileName":"a"}],"recipient":null}',
        b'{"notDelivered":[{"fileName":"a","sha256":"b","size":1},'
        b'{"fileName":"a","sha256":"b","size":1}],"recipient":null}',
    ],
)
def test_a_malformed_delivery_note_is_refused(doc: bytes) -> None:
    with pytest.raises(MalformedInputError):
        Delivery.parse(doc)


def test_no_sender_seal_is_said_plainly_and_never_called_sealed() -> None:
    unsealed = Manifest(
        id="f3",
        kind="folder",
        created=AT,
        sender="11000201100044/DGS",
        extra={"senderSeal": "none", "attestedBy": "hub"},
    )
    found = check_sender(None, unsealed, unsealed.to_json(), anchors=())
    assert found.result is None
    text = found.facts["sender's seal"]
    assert text.startswith("no sender seal: the sender used the hub directly")
    assert "the hub attests" in text and "not a sealed dossier" in text
    assert found.facts["sender (as the hub names it)"] == "11000201100044/DGS"
    assert found.warnings and found.warnings[0].startswith("No sender seal")
    # A manifest that does not say so, without a seal: nothing is claimed either way.
    plain = Manifest(id="f4", kind="files", created=AT)
    assert check_sender(None, plain, plain.to_json(), anchors=()).facts == {}


def test_a_bad_sender_seal_fails_its_section() -> None:
    found = check_sender(b"not a seal", MANIFEST, MANIFEST.to_json(), anchors=())
    assert found.result is not None and not found.result.ok
    assert found.facts["sender's seal"] == "INVALID"
