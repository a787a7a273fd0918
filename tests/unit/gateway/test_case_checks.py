"""A pulled case is delivered only if the sender's seal and manifest describe exactly it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.case_checks import Refusal, check_pulled_case
from gateway.sealing import folder_manifest, seal_manifest
from hubee.model import (
    Applicant,
    Attachment,
    AttachmentStatus,
    Case,
    Folder,
    Organization,
    OrgRef,
    OrgType,
    Status,
)
from tests.unit.gateway.support import HubPki
from trust.evidence import SealingIdentity
from trust.keys import FileSigner
from trust.pki import CertProfile

NOW = datetime.now(UTC)
DGS = Organization("o1", OrgRef(OrgType.OSL, "11000201100044", "DGS"), "DGS")
SD = Organization("o2", OrgRef(OrgType.SI, "21930066200016", "93066"), "Saint-Denis")
HUB = HubPki.create()


def _sealer(org: str) -> SealingIdentity:
    signer = FileSigner.generate()
    # Issued as of NOW (module import): the seals below are dated NOW, and a long
    # suite may run this test minutes after import.
    cert = HUB.pki.root.issue(
        signer.public_key(),
        common_name="seal",
        organization=org,
        profile=CertProfile.SEAL,
        now=NOW,
    )
    return SealingIdentity(signer, cert)


def _folder() -> Folder:
    att = Attachment(
        "a1",
        "acte.pdf",
        "Acte",
        10,
        "application/pdf",
        AttachmentStatus.RECEIVED,
        sha256="ab" * 32,
        recipients=("EXT-01",),
    )
    case = Case("c1", "f1", "CERTDC", "EXT-01", SD, DGS, Status.HUBEE_RECEIVED, NOW)
    return Folder(
        "f1",
        "CERTDC",
        "EXT",
        DGS,
        Status.HUBEE_COMPLETED,
        Applicant("A", "B"),
        NOW,
        cases=(case,),
        attachments=(att,),
    )


def _answer() -> dict[str, Any]:
    return {
        "case": {
            "id": "hub-case",
            "processCode": "CERTDC",
            "externalId": "EXT-01",
            "attachments": [{"id": "h1", "fileName": "acte.pdf", "size": 10}],
        },
        "folderId": "f1",
        "transmitter": {"type": "OSL", "companyRegister": "11000201100044", "branchCode": "DGS"},
    }


def _check(answer: dict[str, Any], sealer: SealingIdentity | None = None, **kw: Any) -> None:
    sealed = seal_manifest(
        folder_manifest(_folder(), NOW), sealer or _sealer("11000201100044:DGS"), NOW
    )
    check_pulled_case(
        answer.get("folderId", "f1"),
        answer,
        kw.get("raw", sealed.manifest_json),
        kw.get("seal", sealed.seal),
        anchors=[HUB.ca],
        own_key=kw.get("own", "21930066200016/93066"),
    )


def test_a_faithful_case_passes() -> None:
    _check(_answer())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a: a.update(folderId="f2"), "for folder f1, not f2"),
        (lambda a: a["case"].update(processCode="OTHER"), "démarche"),
        (lambda a: a["case"].update(externalId="EXT-99"), "seals no case EXT-99"),
        (
            lambda a: a["case"]["attachments"].append({"id": "h2", "fileName": "x.pdf", "size": 1}),
            "not the sealed ones",
        ),
        (lambda a: a["case"]["attachments"][0].update(size=11), "not the sealed ones"),
        (
            lambda a: a["transmitter"].update(branchCode="CNAF"),
            "names 11000201100044/CNAF as sender",
        ),
    ],
)
def test_what_the_hub_says_must_match_the_seal(change: Any, reason: str) -> None:
    answer = copy.deepcopy(_answer())
    change(answer)
    with pytest.raises(Refusal, match=reason):
        _check(answer)


def test_seals_that_do_not_hold_are_refused() -> None:
    with pytest.raises(Refusal, match="not among the manifest's recipients"):
        _check(_answer(), own="21930048000016/93048")
    with pytest.raises(Refusal, match="sealed by 22930008201453/93, but the manifest's sender"):
        _check(_answer(), sealer=_sealer("22930008201453:93"))
    sealed = seal_manifest(folder_manifest(_folder(), NOW), _sealer("11000201100044:DGS"), NOW)
    broken = bytearray(sealed.seal)
    broken[-3] ^= 1
    with pytest.raises(Refusal, match="seal"):
        _check(_answer(), seal=bytes(broken))
    with pytest.raises(Refusal, match="seal"):
        _check(_answer(), raw=sealed.manifest_json.replace(b"EXT", b"EXU"))
    other = HubPki.create()
    signer = FileSigner.generate()
    foreign = SealingIdentity(
        signer,
        other.pki.root.issue(
            signer.public_key(),
            common_name="seal",
            organization="11000201100044:DGS",
            profile=CertProfile.SEAL,
        ),
    )
    with pytest.raises(Refusal, match="seal"):
        _check(_answer(), sealer=foreign)
