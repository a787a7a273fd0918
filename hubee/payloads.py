"""Parsing of HubEE JSON payloads into :mod:`hub.commands`, with field-level errors.

Constraints follow the OpenAPI schemas (maxLength, required, types). Read-only fields
sent by a client (``id``, ``status``, ``createDateTime``…) are ignored; unknown fields
are ignored too, as the schemas allow additional properties.

File names are reduced to their last path component, without control characters: the
hub never uses them as paths (blobs are stored by digest), and neither should the
software that downloads them.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from hubee.commands import (
    EventUpdate,
    FolderUpdate,
    NewAttachment,
    NewCase,
    NewEvent,
    NewFolder,
)
from hubee.errors import ValidationFailed
from hubee.model import (
    ActionType,
    Applicant,
    EventStatus,
    OrgRef,
    OrgType,
    Status,
)

E = TypeVar("E", bound=enum.Enum)


def json_object(body: bytes, field: str = "body") -> dict[str, Any]:
    """The request body as a JSON object."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(field, f"is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValidationFailed(field, "must be a JSON object")
    return value


def json_array(body: bytes, field: str = "body") -> list[Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(field, f"is not valid JSON ({exc})") from None
    if not isinstance(value, list):
        raise ValidationFailed(field, "must be a JSON array")
    return value


def text(
    obj: dict[str, Any], key: str, path: str, *, max_len: int, required: bool = True
) -> str | None:
    value = obj.get(key)
    name = f"{path}.{key}" if path else key
    if value is None:
        if required:
            raise ValidationFailed(name, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationFailed(name, "must be a string")
    if required and not value.strip():
        raise ValidationFailed(name, "must not be empty")
    if len(value) > max_len:
        raise ValidationFailed(name, f"must be at most {max_len} characters")
    return value


def required_text(obj: dict[str, Any], key: str, path: str, *, max_len: int) -> str:
    value = text(obj, key, path, max_len=max_len)
    assert value is not None
    return value


def obj_field(obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = obj.get(key)
    name = f"{path}.{key}" if path else key
    if not isinstance(value, dict):
        raise ValidationFailed(name, "is required and must be an object")
    return value


def list_field(obj: dict[str, Any], key: str, path: str, *, min_items: int) -> list[Any]:
    value = obj.get(key)
    name = f"{path}.{key}" if path else key
    if value is None and min_items == 0:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(name, "is required and must be an array")
    if len(value) < min_items:
        raise ValidationFailed(name, f"must hold at least {min_items} item(s)")
    return value


def integer(obj: dict[str, Any], key: str, path: str, *, minimum: int = 0) -> int:
    value = obj.get(key)
    name = f"{path}.{key}" if path else key
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(name, "is required and must be an integer")
    if value < minimum:
        raise ValidationFailed(name, f"must be {minimum} or more")
    return value


def enum_value(enum_type: type[E], raw: str, name: str) -> E:
    try:
        return enum_type(raw)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum_type)
        raise ValidationFailed(name, f"must be one of {allowed}, not {raw!r}") from None


def org_ref(obj: dict[str, Any], path: str) -> OrgRef:
    org_type = enum_value(OrgType, required_text(obj, "type", path, max_len=20), f"{path}.type")
    siret = required_text(obj, "companyRegister", path, max_len=14)
    branch = required_text(obj, "branchCode", path, max_len=10)
    try:
        return OrgRef(org_type, siret, branch)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{path}.{exc.field}", exc.reason) from None


def safe_file_name(raw: str, name: str) -> str:
    """The last path component of ``raw``, without control characters."""
    last = raw.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip()
    if cleaned in {"", ".", ".."}:
        raise ValidationFailed(name, f"{raw!r} is not a usable file name")
    return cleaned


def _attachment(obj: Any, path: str, *, with_recipients: bool) -> NewAttachment:
    if not isinstance(obj, dict):
        raise ValidationFailed(path, "must be an object")
    recipients: tuple[str, ...] = ()
    if with_recipients:
        items = list_field(obj, "recipients", path, min_items=1)
        if not all(isinstance(r, str) and r for r in items):
            raise ValidationFailed(f"{path}.recipients", "must list case external ids")
        recipients = tuple(dict.fromkeys(items))
    return NewAttachment(
        file_name=safe_file_name(
            required_text(obj, "fileName", path, max_len=255), f"{path}.fileName"
        ),
        type=required_text(obj, "type", path, max_len=100),
        size=integer(obj, "size", path),
        mime_type=required_text(obj, "mimeType", path, max_len=255),
        recipients=recipients,
    )


def _applicant(obj: dict[str, Any]) -> Applicant:
    applicant = obj_field(obj, "applicant", "")
    email = text(applicant, "email", "applicant", max_len=320, required=False)
    if email is not None and "@" not in email:
        raise ValidationFailed("applicant.email", "is not an email address")
    return Applicant(
        first_name=required_text(applicant, "firstName", "applicant", max_len=255),
        last_name=required_text(applicant, "lastName", "applicant", max_len=255),
        email=email,
    )


def new_folder(body: bytes) -> NewFolder:
    """A ``Folder`` to create (``POST /folders``)."""
    obj = json_object(body)
    cases: list[NewCase] = []
    for i, raw in enumerate(list_field(obj, "cases", "", min_items=1)):
        path = f"cases[{i}]"
        if not isinstance(raw, dict):
            raise ValidationFailed(path, "must be an object")
        recipient = org_ref(obj_field(raw, "recipient", path), f"{path}.recipient")
        if recipient.type is not OrgType.SI:
            raise ValidationFailed(f"{path}.recipient.type", "a case is sent to an SI")
        cases.append(
            NewCase(
                external_id=required_text(raw, "externalId", path, max_len=100),
                recipient=recipient,
                partner_attributes=text(
                    raw, "partnerAttributes", path, max_len=1024, required=False
                ),
            )
        )
    case_ids = [c.external_id for c in cases]
    if len(set(case_ids)) != len(case_ids):
        raise ValidationFailed("cases", "each case needs its own externalId")
    attachments = tuple(
        _attachment(raw, f"attachments[{i}]", with_recipients=True)
        for i, raw in enumerate(list_field(obj, "attachments", "", min_items=1))
    )
    for i, att in enumerate(attachments):
        unknown = [r for r in att.recipients if r not in case_ids]
        if unknown:
            raise ValidationFailed(
                f"attachments[{i}].recipients", f"names no case of this folder: {unknown}"
            )
    return NewFolder(
        process_code=required_text(obj, "processCode", "", max_len=30),
        external_id=required_text(obj, "externalId", "", max_len=30),
        applicant=_applicant(obj),
        cases=tuple(cases),
        attachments=attachments,
    )


def date_time(raw: Any, name: str) -> datetime:
    if not isinstance(raw, str):
        raise ValidationFailed(name, "must be a date-time string")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(name, f"{raw!r} is not an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def folder_update(body: bytes) -> FolderUpdate:
    obj = json_object(body)
    raw = required_text(obj, "globalStatus", "", max_len=50)
    close = obj.get("closeDateTime")
    return FolderUpdate(
        global_status=enum_value(Status, raw, "globalStatus"),
        close_at=None if close is None else date_time(close, "closeDateTime"),
    )


def case_status(body: bytes) -> Status:
    obj = json_object(body)
    return enum_value(Status, required_text(obj, "status", "", max_len=50), "status")


def new_event(body: bytes) -> NewEvent:
    obj = json_object(body)
    action = enum_value(ActionType, required_text(obj, "actionType", "", max_len=100), "actionType")
    notification = obj.get("notification")
    if notification is not None and not isinstance(notification, bool):
        raise ValidationFailed("notification", "must be a boolean")
    new_status_raw = text(obj, "caseNewStatus", "", max_len=15, required=False)
    new_status = (
        None if new_status_raw is None else enum_value(Status, new_status_raw, "caseNewStatus")
    )
    if action is ActionType.STATUS_UPDATE and new_status is None:
        raise ValidationFailed("caseNewStatus", "is required for a STATUS_UPDATE event")
    return NewEvent(
        action_type=action,
        notification=bool(notification),
        message=text(obj, "message", "", max_len=1000, required=False),
        comment=text(obj, "comment", "", max_len=1000, required=False),
        author=text(obj, "author", "", max_len=255, required=False),
        case_new_status=new_status,
        partner_attributes=text(obj, "partnerAttributes", "", max_len=1024, required=False),
        attachments=tuple(
            _attachment(raw, f"attachments[{i}]", with_recipients=False)
            for i, raw in enumerate(list_field(obj, "attachments", "", min_items=0))
        ),
    )


def event_update(body: bytes) -> EventUpdate:
    obj = json_object(body)
    raw = required_text(obj, "status", "", max_len=12)
    return EventUpdate(enum_value(EventStatus, raw, "status"))


def purge_pairs(body: bytes) -> list[tuple[str, str]]:
    """``IdsForPurge`` items: ``{"folder_attachment_id": uuid, "case_id": uuid}``."""
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(json_array(body)):
        if not isinstance(item, dict):
            raise ValidationFailed(f"body[{i}]", "must be an object")
        pairs.append(
            (
                required_text(item, "folder_attachment_id", f"body[{i}]", max_len=36),
                required_text(item, "case_id", f"body[{i}]", max_len=36),
            )
        )
    return pairs
