"""Who takes part in ``sceau demo``: the organisations, their démarches, and the sample
dossiers of ``samples/hubee/JDD`` that go from an operator to a recipient."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "hubee" / "JDD"


@dataclass(frozen=True)
class Org:
    slug: str
    kind: str  # OSL (an operator) or SI (an instructing service)
    siret: str
    branch: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.siret}/{self.branch}"


DGS = Org("dgs", "OSL", "11000201100044", "DGS", "Direction générale de la santé")
CNAF = Org("cnaf", "OSL", "18003502400014", "CNAF", "Caisse nationale des allocations familiales")
SAINT_DENIS = Org("saint-denis", "SI", "21930066200016", "93066", "Commune de Saint-Denis")
CD93 = Org("cd93", "SI", "22930008201453", "93", "Conseil départemental de la Seine-Saint-Denis")
ORGS = (DGS, CNAF, SAINT_DENIS, CD93)


@dataclass(frozen=True)
class Dossier:
    """One sample dossier: its démarche, route, how the recipient works, and its answer."""

    process: str
    title: str
    operator: Org
    recipient: Org
    external_id: str
    watched_folder: bool  # the recipient's software uses IN/ instead of the API
    decision: str  # DONE or REFUSED
    message: str

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in (SAMPLES / self.process).iterdir() if p.is_file())

    @property
    def case_external_id(self) -> str:
        return f"{self.external_id}-1"

    def folder_body(self) -> dict[str, Any]:
        """The HubEE ``POST /folders`` body: one case for the recipient, every file."""
        case = self.case_external_id
        return {
            "processCode": self.process,
            "externalId": self.external_id,
            "applicant": {"firstName": "Camille", "lastName": "Martin"},
            "cases": [
                {
                    "recipient": {
                        "type": "SI",
                        "companyRegister": self.recipient.siret,
                        "branchCode": self.recipient.branch,
                    },
                    "externalId": case,
                }
            ],
            "attachments": [
                {
                    "fileName": f.name,
                    "type": f.stem[:50],
                    "size": f.stat().st_size,
                    "mimeType": mimetypes.guess_type(f.name)[0] or "application/octet-stream",
                    "recipients": [case],
                }
                for f in self.files
            ],
        }


DOSSIERS = (
    Dossier(
        "CERTDC",
        "Certificat de décès",
        DGS,
        SAINT_DENIS,
        "ER20190860001",
        watched_folder=False,
        decision="DONE",
        message="acte de décès transcrit",
    ),
    Dossier(
        "RSABEI-RSABAI",
        "RSA : bénéficiaire entrant",
        CNAF,
        CD93,
        "RSA-2026-0042",
        watched_folder=True,
        decision="DONE",
        message="droit RSA ouvert",
    ),
    Dossier(
        "RSABEM-RSABAM",
        "RSA : bénéficiaire muté",
        CNAF,
        CD93,
        "RSA-2026-0043",
        watched_folder=False,
        decision="REFUSED",
        message="dossier incomplet : justificatif de domicile manquant",
    ),
)


def processes() -> dict[str, tuple[str, Org]]:
    """Each démarche of the demo: its name and its operator."""
    return {d.process: (d.title, d.operator) for d in DOSSIERS}


def subscriptions() -> set[tuple[str, Org]]:
    return {(d.process, d.recipient) for d in DOSSIERS}
