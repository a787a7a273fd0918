"""Link request bodies: any input gives a value or a field-level refusal, nothing else."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub import link_payloads
from hubee.errors import ValidationFailed

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "note": JSON,
        "proof": JSON,
        "fromSize": JSON,
        "receipt": JSON,
        "seal": JSON,
        "manifest": JSON,
        "status": JSON,
        "message": JSON,
        "folder": JSON,
        "event": JSON,
        "token": JSON,
    },
)
PARSERS = [
    link_payloads.checkpoint_push,
    link_payloads.receipt_push,
    link_payloads.status_change,
    link_payloads.folder_push,
    link_payloads.event_push,
    link_payloads.enroll,
]


@pytest.mark.parametrize("parse", PARSERS, ids=lambda p: p.__name__)
@given(body=FIELDS | JSON)
def test_parsers_refuse_with_a_field_name_or_return_a_value(parse: Any, body: Any) -> None:
    try:
        parse(json.dumps(body).encode())
    except ValidationFailed as exc:
        assert exc.field


@given(st.binary(max_size=40))
def test_non_json_bodies_are_refused_as_such(raw: bytes) -> None:
    try:
        json.loads(raw)
    except ValueError:
        with pytest.raises(ValidationFailed, match=r"valid JSON|JSON object"):
            link_payloads.checkpoint_push(raw)


def test_a_checkpoint_body_is_decoded() -> None:
    proof = [base64.b64encode(bytes([i]) * 32).decode() for i in range(3)]
    push = link_payloads.checkpoint_push(
        json.dumps({"note": "o\n1\nx\n\n— o abc\n", "proof": proof, "fromSize": 4}).encode()
    )
    assert push.from_size == 4 and push.proof == tuple(bytes([i]) * 32 for i in range(3))
    with pytest.raises(ValidationFailed) as short:
        link_payloads.checkpoint_push(
            json.dumps({"note": "n", "proof": ["AAAA"], "fromSize": 0}).encode()
        )
    assert short.value.field == "proof[0]"


def test_an_event_with_attachments_needs_a_manifest() -> None:
    body = {
        "event": {
            "actionType": "ATTACH_DEPOSIT",
            "attachments": [
                {"fileName": "a.pdf", "type": "PJ", "size": 3, "mimeType": "application/pdf"}
            ],
        }
    }
    with pytest.raises(ValidationFailed) as missing:
        link_payloads.event_push(json.dumps(body).encode())
    assert missing.value.field == "manifest"
    del body["event"]["attachments"]
    assert link_payloads.event_push(json.dumps(body).encode()).manifest is None
