"""A small HubEE world: operators, recipients, démarches, clients; and the JDD samples."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubee.model import Organization, Scope
from tests.integration.hub.conformance import SAMPLES
from tests.integration.hub.harness import Hub, b64_sha256

JDD = SAMPLES / "JDD"


@dataclass(frozen=True)
class SampleFile:
    path: Path
    type: str

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    def metadata(self, recipients: list[str]) -> dict[str, Any]:
        mime = mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"
        return {
            "fileName": self.path.name,
            "type": self.type,
            "size": self.path.stat().st_size,
            "mimeType": mime,
            "recipients": recipients,
        }


def sample(folder: str, *names_and_types: tuple[str, str]) -> list[SampleFile]:
    return [SampleFile(JDD / folder / name, kind) for name, kind in names_and_types]


CERTDC_FILES = sample(
    "CERTDC",
    ("ER20190860001_20190517_1512_VA.pdf", "VA_CertificatdeDeces"),
    ("ER20190860001_20190517_1512_VA.xml", "VA_CertificatdeDeces"),
    ("ER20190860001_20190517_1512_DD.pdf", "DD_CertificatdeDeces"),
    ("ER20190860001_20190517_1512_DD.xml", "DD_CertificatdeDeces"),
)
RSA_FILES = sample("RSABEI-RSABAI", ("RSABEI.xml", "RSABEI"))
RSA_EXTRA = sample("RSABEI-RSABAI", ("RSABAI.xml", "RSABAI"))[0]
PACS_FILES = sample(
    "DEPOTDOSSIERPACS",
    ("flux-pacs.xml", "Flux"),
    ("recapPDF.pdf", "Recapitulatif"),
    ("15725-02.pdf", "Cerfa"),
    ("A-1-NGF8UV66-depotDossierPACS-an-0.pdf", "PJ"),
    ("A-1-NGF8UV66-depotDossierPACS-anp-1.pdf", "PJ"),
    ("A-1-NGF8UV66-depotDossierPACS-cp-2.pdf", "PJ"),
)


@dataclass
class World:
    dgs: Organization
    cnaf: Organization
    dila: Organization
    saint_denis: Organization
    montreuil: Organization
    cd93: Organization
    tokens: dict[str, str]


async def build_world(hub: Hub, *, subscribe: bool = True) -> World:
    """DGS → communes (CERTDC), CNAF → département (RSABEI-RSABAI), DILA → communes (PACS)."""
    dgs = await hub.org("OSL", "11000201100044", "DGS", "Direction générale de la santé")
    cnaf = await hub.org(
        "OSL", "18003502400014", "CNAF", "Caisse nationale des allocations familiales"
    )
    dila = await hub.org(
        "OSL", "13000918600011", "DILA", "Direction de l'information légale et administrative"
    )
    saint_denis = await hub.org("SI", "21930066200016", "93066", "Commune de Saint-Denis")
    montreuil = await hub.org("SI", "21930048000016", "93048", "Commune de Montreuil")
    cd93 = await hub.org(
        "SI", "22930008201453", "93", "Conseil départemental de la Seine-Saint-Denis"
    )
    await hub.process("CERTDC", dgs)
    await hub.process("RSABEI-RSABAI", cnaf)
    await hub.process("depotDossierPACS", dila)
    if subscribe:
        for code, org in (
            ("CERTDC", saint_denis),
            ("CERTDC", montreuil),
            ("RSABEI-RSABAI", cd93),
            ("depotDossierPACS", saint_denis),
        ):
            await hub.subscribe(code, org)
    tokens = {
        "dgs": await hub.login(dgs, Scope.OSL, "CERTDC"),
        "cnaf": await hub.login(cnaf, Scope.OSL, "RSABEI-RSABAI"),
        "dila": await hub.login(dila, Scope.OSL, "depotDossierPACS"),
        "saint_denis_certdc": await hub.login(saint_denis, Scope.SI, "CERTDC"),
        "saint_denis_pacs": await hub.login(saint_denis, Scope.SI, "depotDossierPACS"),
        "montreuil_certdc": await hub.login(montreuil, Scope.SI, "CERTDC"),
        "cd93": await hub.login(cd93, Scope.SI, "RSABEI-RSABAI"),
    }
    return World(dgs, cnaf, dila, saint_denis, montreuil, cd93, tokens)


def folder_body(
    process: str,
    external_id: str,
    recipient: Organization,
    files: list[SampleFile],
    *,
    case_suffix: str = "-01",
) -> dict[str, Any]:
    case_id = external_id + case_suffix
    return {
        "processCode": process,
        "externalId": external_id,
        "applicant": {
            "firstName": "Camille",
            "lastName": "Martin",
            "email": "camille.martin@example.fr",
        },
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": recipient.ref.company_register,
                    "branchCode": recipient.ref.branch_code,
                },
                "externalId": case_id,
            }
        ],
        "attachments": [f.metadata([case_id]) for f in files],
    }


async def deposit(
    hub: Hub,
    token: str,
    body: dict[str, Any],
    files: list[SampleFile],
    *,
    complete: bool = True,
    override: bool = False,
) -> dict[str, Any]:
    """Create a folder, upload its files with their digests, and complete it."""
    created = await hub.call("POST", "/teledossiers/v1/folders", token=token, json_body=body)
    assert created.status == 201, created.body
    folder = created.json()
    for meta, file in zip(folder["attachments"], files, strict=True):
        put = await hub.call(
            "PUT",
            f"/teledossiers/v1/folders/{folder['id']}/attachments/{meta['id']}",
            token=token,
            data=file.data,
            headers={"Content-Type": "application/octet-stream", "digest": b64_sha256(file.data)},
        )
        assert put.status == 204, put.body
    if complete:
        method, headers = (
            ("POST", {"X-HTTP-Method-Override": "PATCH"}) if override else ("PATCH", {})
        )
        done = await hub.call(
            method,
            f"/teledossiers/v1/folders/{folder['id']}",
            token=token,
            json_body={"globalStatus": "HUBEE_COMPLETED"},
            headers=headers,
        )
        assert done.status == 204, done.body
    return folder
