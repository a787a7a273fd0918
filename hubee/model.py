"""The hub's values: statuses as enums, objects as frozen dataclasses.

Names follow the HubEE v1 wire contract (``api_folder_v1.2.7.yaml`` and
``api_subscription_v1.2.3.yaml``) so that the mapping to JSON stays obvious.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hubee.errors import ValidationFailed

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scope(enum.Enum):
    """OAuth2 scopes of the HubEE API (``components.securitySchemes.dinum_auth``)."""

    OSL = "OSL"
    SI = "SI"
    ADMIN = "ADMIN"


class OrgType(enum.Enum):
    """Organization types: operators (OSL), instructing services (SI), the hub's admin."""

    OSL = "OSL"
    SI = "SI"
    ADMIN = "ADMIN"


class Status(enum.Enum):
    """Folder ``globalStatus`` and case ``status`` values (HubEE SFD, DESIGN.md §3)."""

    HUBEE_RECEIVED = "HUBEE_RECEIVED"
    HUBEE_COMPLETED = "HUBEE_COMPLETED"
    HUBEE_NOTIFIED = "HUBEE_NOTIFIED"
    SENT = "SENT"
    SI_RECEIVED = "SI_RECEIVED"
    SI_INTG_ERROR = "SI_INTG_ERROR"
    IN_PROGRESS = "IN_PROGRESS"
    ADD_AWAITING = "ADD_AWAITING"
    DONE = "DONE"
    REFUSED = "REFUSED"
    CLOSED = "CLOSED"
    ARCHIVED = "ARCHIVED"


class EventStatus(enum.Enum):
    IN_PROGRESS = "IN_PROGRESS"
    SENT = "SENT"
    RECEIVED = "RECEIVED"


class AttachmentStatus(enum.Enum):
    PENDING = "PENDING"
    RECEIVED = "RECEIVED"
    CORRUPTED = "CORRUPTED"
    REJECTED = "REJECTED"
    DELETED = "DELETED"


class ActionType(enum.Enum):
    STATUS_UPDATE = "STATUS_UPDATE"
    ATTACH_DEPOSIT = "ATTACH_DEPOSIT"
    ATTACH_DL = "ATTACH_DL"
    ATTACH_DL_ALL = "ATTACH_DL_ALL"
    COM_ADD = "COM_ADD"
    SENDING_MESSAGE = "SENDING_MESSAGE"


class SubscriptionStatus(enum.Enum):
    """``Subscription.status`` values, spelled as on the wire."""

    INACTIVE = "Inactif"
    ACTIVE = "Actif"
    SUSPENDED = "Suspendu"
    REFUSED = "Refusé"


class Side(enum.Enum):
    """Who acts on a case: its operator, its recipient, the hub's admin, or the hub itself."""

    OSL = "OSL"
    SI = "SI"
    ADMIN = "ADMIN"
    HUB = "HUB"


_SIRET = re.compile(r"[0-9]{14}")
_BRANCH = re.compile(r"[A-Za-z0-9_-]{1,10}")


@dataclass(frozen=True)
class OrgRef:
    """An ``OrganizationIdentifier``: the routing key of an organization."""

    type: OrgType
    company_register: str
    branch_code: str

    def __post_init__(self) -> None:
        if not _SIRET.fullmatch(self.company_register):
            raise ValidationFailed("companyRegister", "must be a SIRET of exactly 14 digits")
        if not _BRANCH.fullmatch(self.branch_code):
            raise ValidationFailed(
                "branchCode", "must be 1 to 10 characters among letters, digits, '_' and '-'"
            )

    @property
    def key(self) -> str:
        return f"{self.company_register}/{self.branch_code}"


@dataclass(frozen=True)
class Organization:
    id: str
    ref: OrgRef
    name: str


@dataclass(frozen=True)
class Process:
    """A démarche, with its retention delays in days (HubEE process API v1.2.1)."""

    code: str
    name: str
    osl_org_id: str | None = None
    status_before_file_deletion: Status = Status.SI_RECEIVED
    time_before_file_deletion: int = 30
    time_before_archiving: int = 30
    time_before_folder_deletion: int = 365
    attachment_max_size: int | None = None


@dataclass(frozen=True)
class Subscription:
    id: str
    process_code: str
    subscriber: Organization
    status: SubscriptionStatus
    datapass_id: int = 0
    notification_frequency: str = "unitaire"
    access_mode: str | None = "API"
    email: str | None = None
    local_admin_email: str = ""
    delegation_email: str | None = None
    rejection_reason: str | None = None
    activate_at: datetime | None = None
    validate_at: datetime | None = None
    reject_at: datetime | None = None
    end_at: datetime | None = None
    update_at: datetime | None = None


@dataclass(frozen=True)
class Client:
    """An OAuth2 client: one per démarche per organization (ADMIN clients have none)."""

    client_id: str
    org: Organization
    scope: Scope
    process_code: str | None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    client_id: str
    org: Organization
    scope: Scope
    process_code: str | None

    @property
    def is_admin(self) -> bool:
        return self.scope is Scope.ADMIN

    def may_use(self, process_code: str) -> bool:
        return self.is_admin or self.process_code == process_code


@dataclass(frozen=True)
class PartnerInfo:
    """The calling software, from the editorName/applicationName/softwareVersion headers."""

    editor_name: str | None = None
    application_name: str | None = None
    software_version: str | None = None


@dataclass(frozen=True)
class Applicant:
    first_name: str
    last_name: str
    email: str | None = None


@dataclass(frozen=True)
class Attachment:
    id: str
    file_name: str
    type: str
    size: int
    mime_type: str
    status: AttachmentStatus
    sha256: str | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    id: str
    folder_id: str
    process_code: str
    external_id: str
    recipient: Organization
    transmitter: Organization
    status: Status
    create_at: datetime
    update_at: datetime | None = None
    transmission_at: datetime | None = None
    close_at: datetime | None = None
    partner_attributes: str | None = None
    applicant: Applicant | None = None


@dataclass(frozen=True)
class Folder:
    id: str
    process_code: str
    external_id: str
    transmitter: Organization
    global_status: Status
    applicant: Applicant
    create_at: datetime
    update_at: datetime | None = None
    close_at: datetime | None = None
    partner_info: PartnerInfo | None = None
    cases: tuple[Case, ...] = ()
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Event:
    id: str
    case_id: str
    transmitter: Organization
    side: Side
    action_type: ActionType
    status: EventStatus
    notification: bool
    create_at: datetime
    update_at: datetime
    message: str | None = None
    comment: str | None = None
    author: str | None = None
    case_current_status: str | None = None
    case_new_status: str | None = None
    partner_attributes: str | None = None
    partner_info: PartnerInfo | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Notification:
    id: str
    recipient: Organization
    transmitter: Organization
    process_code: str
    case_id: str | None
    event_id: str | None
    create_at: datetime
    event_status: EventStatus | None = None


@dataclass(frozen=True)
class JournalEntry:
    """One accepted fact, handed to the :class:`hub.event_sink.EventSink`."""

    kind: str
    subject: str
    at: datetime
    data: dict[str, object] = field(default_factory=dict)
