"""Link API answers as JSON (docs/LINK.md; described in ``link_openapi.json``)."""

from __future__ import annotations

import base64
from typing import Any

from hub.enrollment import Enrolled
from hub.link_cases import PulledCase
from hub.link_model import FeedItem, Receipt, SealedManifest
from hubee import representations
from hubee.model import Event, Side
from trust.checkpoint import VerifierKey
from trust.pki import certificate_pem

Json = dict[str, Any]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def enrolled(found: Enrolled, *, witness_key: VerifierKey, tsa_url: str) -> Json:
    return {
        "gatewayId": found.gateway_id,
        "organization": representations.org(found.org),
        "tlsCertificate": certificate_pem(found.tls_certificate).decode(),
        "sealCertificate": certificate_pem(found.seal_certificate).decode(),
        "chain": [certificate_pem(c).decode() for c in found.chain],
        "witnessKey": witness_key.encode(),
        "tsaUrl": tsa_url,
    }


def feed_item(item: FeedItem) -> Json:
    out: Json = {"cursor": item.cursor, "kind": item.kind.value, "caseId": item.case_id}
    optional = {
        "processCode": item.process_code,
        "eventId": item.event_id,
        "receiptId": item.receipt_id,
        "status": item.status,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def feed(items: list[FeedItem], *, after: int) -> Json:
    return {
        "items": [feed_item(i) for i in items],
        "cursor": items[-1].cursor if items else after,
    }


def _sealed(sealed: SealedManifest | None) -> Json:
    return {
        "manifest": None if sealed is None else _b64(sealed.manifest),
        "seal": None if sealed is None else _b64(sealed.seal),
    }


def pulled_case(found: PulledCase) -> Json:
    view = found.view
    return {
        "case": representations.case(
            view.case, attachments=view.attachments, events=view.events, reader=view.side
        ),
        "folderId": view.case.folder_id,
        "transmitter": representations.org(found.transmitter),
        **_sealed(found.sealed),
    }


def event(value: Event, side: Side, sealed: SealedManifest | None) -> Json:
    return {"event": representations.event(value, reader=side), **_sealed(sealed)}


def receipt(value: Receipt) -> Json:
    return {
        "receiptId": value.id,
        "caseId": value.case_id,
        "folderId": value.folder_id,
        "outcome": value.outcome.value,
        "receipt": _b64(value.manifest),
        "seal": _b64(value.seal),
        "receiptSha256": value.manifest_sha256,
    }
