"""Validated requests: what a caller asks the hub to create or change.

Built by :mod:`hub.payloads` from JSON (or by tests and tools directly); each is valid
by construction, so domain code never re-checks shapes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from hubee.model import ActionType, Applicant, EventStatus, OrgRef, Status


@dataclass(frozen=True)
class NewAttachment:
    file_name: str
    type: str
    size: int
    mime_type: str
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewCase:
    external_id: str
    recipient: OrgRef
    partner_attributes: str | None = None


@dataclass(frozen=True)
class NewFolder:
    process_code: str
    external_id: str
    applicant: Applicant
    cases: tuple[NewCase, ...]
    attachments: tuple[NewAttachment, ...]

    def fingerprint(self) -> str:
        """A digest of the content, to tell a retry (same) from a conflict (different)."""
        content = [
            self.process_code,
            self.external_id,
            [self.applicant.first_name, self.applicant.last_name, self.applicant.email],
            [
                [
                    c.external_id,
                    c.recipient.type.value,
                    c.recipient.company_register,
                    c.recipient.branch_code,
                    c.partner_attributes,
                ]
                for c in self.cases
            ],
            [
                [a.file_name, a.type, a.size, a.mime_type, list(a.recipients)]
                for a in self.attachments
            ],
        ]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


@dataclass(frozen=True)
class FolderUpdate:
    global_status: Status
    close_at: datetime | None = None


@dataclass(frozen=True)
class NewEvent:
    action_type: ActionType
    notification: bool = False
    message: str | None = None
    comment: str | None = None
    author: str | None = None
    case_new_status: Status | None = None
    partner_attributes: str | None = None
    attachments: tuple[NewAttachment, ...] = ()


@dataclass(frozen=True)
class EventUpdate:
    status: EventStatus
