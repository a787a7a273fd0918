"""Every response of the hub, checked against the two HubEE OpenAPI documents.

Requests are presented to openapi-core as sent to the spec's own server URL, so that
the documents are used unchanged. A response whose status the spec does not document
for the operation (401, 409 and 413 never appear in it) is checked against the spec's
``Error`` schema and our error contract instead, and counted apart.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "hubee"
SPEC_HOST = "https://apirecettenhube.imfr.cgi.com"
# Statuses we answer although the spec does not list them for every operation.
UNDOCUMENTED_OK = frozenset({401, 403, 404, 405, 409, 413})


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes


class Conformance:
    def __init__(self) -> None:
        self.folder = OpenAPI.from_file_path(str(SAMPLES / "api_folder_v1.2.7.yaml"))
        self.subscription = OpenAPI.from_file_path(str(SAMPLES / "api_subscription_v1.2.3.yaml"))
        with (SAMPLES / "api_folder_v1.2.7.yaml").open(encoding="utf-8") as f:
            error = yaml.safe_load(f)["components"]["schemas"]["Error"]
        self._error_schema = jsonschema.Draft4Validator(error)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _spec_for(self, path: str) -> OpenAPI | None:
        if path.startswith("/teledossiers/v1/"):
            return self.folder
        if path.startswith("/referential/v1/subscriptions"):
            return self.subscription
        return None

    def check(
        self,
        *,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        request_headers: dict[str, str],
        request_body: bytes | None,
        status: int,
        response_headers: Mapping[str, str],
        body: bytes,
    ) -> str:
        """Validate one exchange; returns how it was checked ("spec", "error", "outside")."""
        spec = self._spec_for(path)
        content_type = response_headers.get("Content-Type", "").split(";")[0].strip().lower()
        if spec is None:
            if status >= 400:
                self.check_error_body(status, body)
            return self._count("outside")
        request = _Request(
            host_url=SPEC_HOST,
            path=path,
            method=method.lower(),
            body=request_body,
            content_type=request_headers.get("Content-Type", ""),
            parameters=RequestParameters(
                query=ImmutableMultiDict(query), header=Headers(request_headers)
            ),
        )
        response = _Response(status, content_type, Headers(list(response_headers.items())), body)
        try:
            spec.validate_response(request, response)
        except ResponseNotFound:
            assert status in UNDOCUMENTED_OK, f"{method} {path}: undocumented status {status}"
            self.check_error_body(status, body)
            return self._count(f"error-schema {status}")
        except PathError:
            assert status in {404, 405}, f"{method} {path} is not in the spec but got {status}"
            self.check_error_body(status, body)
            return self._count("outside")
        return self._count("spec")

    def check_error_body(self, status: int, body: bytes) -> None:
        document: Any = json.loads(body)
        self._error_schema.validate(document)
        errors = document["errors"]
        assert errors and errors[0]["code"] == status, document
        assert isinstance(errors[0]["message"], str) and errors[0]["message"], document

    def _count(self, how: str) -> str:
        with self._lock:
            self.counts[how] += 1
        return how
