"""Conversions between SQLite rows and the hub's values."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from hubee.model import (
    Applicant,
    Attachment,
    AttachmentStatus,
    Organization,
    OrgRef,
    OrgType,
    PartnerInfo,
)

ORG_COLUMNS = "id, type, company_register, branch_code, name"


# The last conversion: one request stamps many rows with the same ``now``. Swapped as a
# whole tuple, so threads never see half of one.
_last: tuple[datetime | None, str] = (None, "")


def ts(value: datetime | None) -> str | None:
    """A sortable text form: ISO 8601 in UTC with microseconds."""
    global _last
    if value is None:
        return None
    last = _last
    if last[0] is value:
        return last[1]
    text = value.astimezone(UTC).isoformat(timespec="microseconds")
    _last = (value, text)
    return text


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def dt_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Organizations are immutable values and few: built once per distinct row, then shared.
_ORGS: dict[tuple[object, ...], Organization] = {}
_ORG_CACHE_LIMIT = 100_000


def org_from(row: sqlite3.Row | tuple[object, ...], offset: int = 0) -> Organization:
    key = tuple(row[offset : offset + 5])
    found = _ORGS.get(key)
    if found is None:
        org_id, org_type, siret, branch, name = key
        found = Organization(
            id=str(org_id),
            ref=OrgRef(OrgType(org_type), str(siret), str(branch)),
            name=str(name),
        )
        if len(_ORGS) >= _ORG_CACHE_LIMIT:
            _ORGS.clear()
        _ORGS[key] = found
    return found


def partner_info_json(info: PartnerInfo | None) -> str | None:
    if info is None:
        return None
    return json.dumps([info.editor_name, info.application_name, info.software_version])


def partner_info_from(text: str | None) -> PartnerInfo | None:
    if text is None:
        return None
    editor, application, version = json.loads(text)
    return PartnerInfo(editor, application, version)


def applicant_json(applicant: Applicant) -> str:
    return json.dumps([applicant.first_name, applicant.last_name, applicant.email])


def applicant_from(text: str) -> Applicant:
    first, last, email = json.loads(text)
    return Applicant(first, last, email)


ATTACHMENT_COLUMNS = "id, file_name, type, size, mime_type, status, sha256, recipients"


def attachment_from(row: sqlite3.Row | tuple[object, ...], offset: int = 0) -> Attachment:
    att_id, name, att_type, size, mime, status, sha, recipients = row[offset : offset + 8]
    return Attachment(
        id=str(att_id),
        file_name=str(name),
        type=str(att_type),
        size=int(str(size)),
        mime_type=str(mime),
        status=AttachmentStatus(status),
        sha256=None if sha is None else str(sha),
        recipients=tuple(json.loads(str(recipients))) if recipients else (),
    )
