"""The link API's values: gateways, their certificates, sealed manifests, receipts,
feed items and witnessed checkpoints. Frozen dataclasses; enums for closed sets."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from hubee.model import Organization, Principal, Scope


class CertificateKind(enum.Enum):
    TLS = "tls"
    SEAL = "seal"


class FeedKind(enum.Enum):
    CASE = "case"
    EVENT = "event"
    RECEIPT = "receipt"
    STATUS = "status"


class SealedKind(enum.Enum):
    FOLDER = "folder"
    EVENT = "event"


class ReceiptOutcome(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Gateway:
    id: str
    org_id: str
    journal_key: str  # C2SP vkey, as sent at enrollment
    enrolled_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class RegisteredCertificate:
    fingerprint: str  # SHA-256 of the DER, hex
    serial: str  # hex
    gateway_id: str
    kind: CertificateKind
    subject: str
    not_after: datetime


@dataclass(frozen=True)
class LinkCaller:
    """The authenticated gateway of one link request, and the organisation it acts for."""

    gateway: Gateway
    org: Organization
    certificate: RegisteredCertificate

    def principal(self, process_code: str) -> Principal:
        """The HubEE caller this gateway is for ``process_code``: its organisation's
        OSL or SI (a gateway acts for every démarche of its organisation)."""
        return Principal(
            client_id=f"gateway:{self.gateway.id}",
            org=self.org,
            scope=Scope(self.org.ref.type.value),
            process_code=process_code,
        )


@dataclass(frozen=True)
class SealedManifest:
    """A manifest and its seal, as stored with the folder or event they describe."""

    subject: str  # the folder's or event's id
    kind: SealedKind
    case_id: str | None  # events only
    manifest_id: str
    manifest: bytes
    seal: bytes
    manifest_sha256: str
    signer_fingerprint: str
    gateway_id: str
    stored_at: datetime


@dataclass(frozen=True)
class Receipt:
    id: str
    case_id: str
    folder_id: str
    receiver_org_id: str
    sender_org_id: str
    manifest: bytes
    seal: bytes
    manifest_sha256: str
    outcome: ReceiptOutcome
    stored_at: datetime


@dataclass(frozen=True)
class FeedItem:
    cursor: int
    kind: FeedKind
    case_id: str
    process_code: str | None = None
    event_id: str | None = None
    receipt_id: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Witnessed:
    """A gateway checkpoint the witness cosigned."""

    gateway_id: str
    size: int
    root: bytes
    note: bytes
    cosigned_note: bytes
    at: datetime


@dataclass(frozen=True)
class WitnessAlert:
    """A checkpoint the witness refused: the operator must look into it."""

    id: int
    gateway_id: str
    at: datetime
    reason: str
    from_size: int | None
