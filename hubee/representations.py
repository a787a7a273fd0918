"""The hub's values as HubEE JSON (``api_folder_v1.2.7.yaml``, ``api_subscription_v1.2.3.yaml``).

``comment`` on events is internal to SI ("à destination des SI uniquement, et non aux
OSL"): it is left out when the reader is the operator's side.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hubee.model import (
    Applicant,
    Attachment,
    Case,
    Event,
    Folder,
    Notification,
    Organization,
    PartnerInfo,
    Side,
    Subscription,
)

Json = dict[str, Any]


def date_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def org(value: Organization) -> Json:
    return {
        "type": value.ref.type.value,
        "companyRegister": value.ref.company_register,
        "branchCode": value.ref.branch_code,
    }


def applicant(value: Applicant) -> Json:
    return {"firstName": value.first_name, "lastName": value.last_name, "email": value.email}


def partner_info(value: PartnerInfo | None) -> Json | None:
    if value is None:
        return None
    return {
        "editorName": value.editor_name,
        "applicationName": value.application_name,
        "softwareVersion": value.software_version,
    }


def attachment(value: Attachment, *, with_recipients: bool = False) -> Json:
    out: Json = {
        "id": value.id,
        "status": value.status.value,
        "fileName": value.file_name,
        "type": value.type,
        "size": value.size,
        "mimeType": value.mime_type,
    }
    if with_recipients:
        out["recipients"] = list(value.recipients)
    return out


def folder(value: Folder) -> Json:
    return {
        "id": value.id,
        "globalStatus": value.global_status.value,
        "processCode": value.process_code,
        "externalId": value.external_id,
        "createDateTime": date_time(value.create_at),
        "updateDateTime": date_time(value.update_at),
        "closeDateTime": date_time(value.close_at),
        "applicant": applicant(value.applicant),
        "partnerInfo": partner_info(value.partner_info),
        "cases": [
            {
                "id": c.id,
                "status": c.status.value,
                "recipient": org(c.recipient),
                "externalId": c.external_id,
                "updateDateTime": date_time(c.update_at),
                "transmissionDateTime": date_time(c.transmission_at),
                "partnerAttributes": c.partner_attributes,
            }
            for c in value.cases
        ],
        "attachments": [attachment(a, with_recipients=True) for a in value.attachments],
    }


def case(
    value: Case,
    *,
    attachments: list[Attachment] | None,
    events: list[Event] | None,
    reader: Side,
) -> Json:
    out: Json = {
        "id": value.id,
        "status": value.status.value,
        "recipient": org(value.recipient),
        "externalId": value.external_id,
        "processCode": value.process_code,
        "createDateTime": date_time(value.create_at),
        "updateDateTime": date_time(value.update_at),
        "transmissionDateTime": date_time(value.transmission_at),
        "closeDateTime": date_time(value.close_at),
        "partnerAttributes": value.partner_attributes,
    }
    if value.applicant is not None:
        out["applicant"] = applicant(value.applicant)
    if attachments is not None:
        out["attachments"] = [attachment(a) for a in attachments]
    if events is not None:
        out["events"] = [event(e, reader=reader) for e in events]
    return out


def event(value: Event, *, reader: Side) -> Json:
    return {
        "id": value.id,
        "transmitter": org(value.transmitter),
        "message": value.message,
        "comment": None if reader is Side.OSL else value.comment,
        "actionType": value.action_type.value,
        "author": value.author,
        "notification": value.notification,
        "createDateTime": date_time(value.create_at),
        "updateDateTime": date_time(value.update_at),
        "status": value.status.value,
        "caseCurrentStatus": value.case_current_status,
        "caseNewStatus": value.case_new_status,
        "partnerAttributes": value.partner_attributes,
        "attachments": [attachment(a) for a in value.attachments],
        "partnerInfo": partner_info(value.partner_info),
    }


def notification(value: Notification, *, event_details: bool) -> Json:
    out: Json = {
        "id": value.id,
        "recipient": org(value.recipient),
        "transmitter": org(value.transmitter),
        "processCode": value.process_code,
        "caseId": value.case_id,
        "eventId": value.event_id,
        "dateTime": date_time(value.create_at),
    }
    if event_details:
        # Read by DINUM's reference SI client to skip events it already acknowledged.
        out["eventStatus"] = None if value.event_status is None else value.event_status.value
    return out


def subscription(value: Subscription) -> Json:
    return {
        "id": value.id,
        "datapassId": value.datapass_id,
        "processCode": value.process_code,
        "subscriber": org(value.subscriber),
        "accessMode": value.access_mode,
        "notificationFrequency": value.notification_frequency,
        "activateDateTime": date_time(value.activate_at),
        "validateDateTime": date_time(value.validate_at),
        "rejectDateTime": date_time(value.reject_at),
        "endDateTime": date_time(value.end_at),
        "updateDateTime": date_time(value.update_at),
        "delegationActor": (
            None if value.delegation_email is None else {"email": value.delegation_email}
        ),
        "rejectionReason": value.rejection_reason,
        "status": value.status.value,
        "email": value.email,
        "localAdministrator": {"email": value.local_admin_email},
    }
