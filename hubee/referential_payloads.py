"""Parsing of ``/referential/v1`` payloads: subscriptions (spec) and admin extras."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubee.directory import EMAIL, SubscriptionChange, check_process_code
from hubee.errors import ValidationFailed
from hubee.model import OrgRef, Process, Scope, Status, SubscriptionStatus
from hubee.payloads import (
    enum_value,
    integer,
    json_object,
    obj_field,
    org_ref,
    required_text,
    text,
)


def email(value: str | None, name: str) -> str | None:
    if value is not None and not EMAIL.match(value):
        raise ValidationFailed(name, f"{value!r} is not a valid email value")
    return value


@dataclass(frozen=True)
class NewSubscription:
    process_code: str
    subscriber: OrgRef
    datapass_id: int
    notification_frequency: str
    local_admin_email: str
    activate: bool
    access_mode: str | None
    email: str | None
    delegation_email: str | None


def _access_mode(obj: dict[str, Any]) -> str | None:
    mode = text(obj, "accessMode", "", max_len=7, required=False)
    if mode is not None and mode not in {"PORTAIL", "API"}:
        raise ValidationFailed("accessMode", "must be PORTAIL or API")
    return mode


def _nested_email(obj: dict[str, Any], key: str) -> str | None:
    nested = obj.get(key)
    if nested is None:
        return None
    if not isinstance(nested, dict):
        raise ValidationFailed(key, "must be an object")
    return email(text(nested, "email", key, max_len=320, required=False), f"{key}.email")


def new_subscription(body: bytes) -> NewSubscription:
    obj = json_object(body)
    status = text(obj, "status", "", max_len=20, required=False)
    initial = (
        SubscriptionStatus.INACTIVE
        if status is None
        else enum_value(SubscriptionStatus, status, "status")
    )
    if initial not in {SubscriptionStatus.INACTIVE, SubscriptionStatus.ACTIVE}:
        raise ValidationFailed("status", "a new subscription is Inactif or Actif")
    local_admin = _nested_email(obj, "localAdministrator")
    if local_admin is None:
        raise ValidationFailed("localAdministrator.email", "is required")
    return NewSubscription(
        process_code=check_process_code(required_text(obj, "processCode", "", max_len=30)),
        subscriber=org_ref(obj_field(obj, "subscriber", ""), "subscriber"),
        datapass_id=integer(obj, "datapassId", ""),
        notification_frequency=required_text(obj, "notificationFrequency", "", max_len=20),
        local_admin_email=local_admin,
        activate=initial is SubscriptionStatus.ACTIVE,
        access_mode=_access_mode(obj),
        email=email(text(obj, "email", "", max_len=320, required=False), "email"),
        delegation_email=_nested_email(obj, "delegationActor"),
    )


def subscription_change(body: bytes) -> tuple[SubscriptionChange, str | None, OrgRef | None]:
    """A ``PUT`` body: the change, plus the processCode and subscriber it names (if any)."""
    obj = json_object(body)
    status = text(obj, "status", "", max_len=20, required=False)
    datapass = obj.get("datapassId")
    subscriber = obj.get("subscriber")
    change = SubscriptionChange(
        status=None if status is None else enum_value(SubscriptionStatus, status, "status"),
        rejection_reason=text(obj, "rejectionReason", "", max_len=1000, required=False),
        notification_frequency=text(obj, "notificationFrequency", "", max_len=20, required=False),
        access_mode=_access_mode(obj),
        email=email(text(obj, "email", "", max_len=320, required=False), "email"),
        local_admin_email=_nested_email(obj, "localAdministrator"),
        delegation_email=_nested_email(obj, "delegationActor"),
        datapass_id=None if datapass is None else integer(obj, "datapassId", ""),
    )
    return (
        change,
        text(obj, "processCode", "", max_len=30, required=False),
        None if subscriber is None else org_ref(obj_field(obj, "subscriber", ""), "subscriber"),
    )


def new_org(body: bytes) -> tuple[OrgRef, str]:
    obj = json_object(body)
    return org_ref(obj, "organization"), text(obj, "name", "", max_len=255, required=False) or ""


def new_process(body: bytes) -> tuple[Process, OrgRef | None]:
    obj = json_object(body)
    osl = obj.get("osl")
    max_size = obj.get("attachmentMaxSizeEnabled")
    before = text(obj, "statusBeforeFileDeletion", "", max_len=15, required=False)
    process = Process(
        code=check_process_code(required_text(obj, "code", "", max_len=30), "code"),
        name=required_text(obj, "name", "", max_len=100),
        status_before_file_deletion=(
            Status.SI_RECEIVED
            if before is None
            else enum_value(Status, before, "statusBeforeFileDeletion")
        ),
        time_before_file_deletion=integer(obj, "timeBeforeFileDeletion", ""),
        time_before_archiving=integer(obj, "timeBeforeArchiving", ""),
        time_before_folder_deletion=integer(obj, "timeBeforeFolderDeletion", ""),
        attachment_max_size=None
        if max_size is None
        else integer(obj, "attachmentMaxSizeEnabled", "", minimum=1),
    )
    return process, None if osl is None else org_ref(obj_field(obj, "osl", ""), "osl")


def new_client(body: bytes) -> tuple[OrgRef, Scope, str | None]:
    obj = json_object(body)
    scope = enum_value(Scope, required_text(obj, "scope", "", max_len=5), "scope")
    process = text(obj, "processCode", "", max_len=30, required=False)
    return org_ref(obj_field(obj, "organization", ""), "organization"), scope, process
