"""Every link answer checked against the hub's own ``hub/link_openapi.json``.

The document is the one the hub serves; a status it does not list for the
operation, or a body that does not fit its schema, fails the test.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from hub.routes_link_trust import openapi_document
from tests.integration.hub.conformance import _Request, _Response


class LinkConformance:
    def __init__(self) -> None:
        self.document = json.loads(openapi_document())
        self.spec = OpenAPI.from_dict(self.document)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def check(
        self,
        *,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        request_headers: Mapping[str, str],
        request_body: bytes | None,
        status: int,
        response_headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Raise if the answer does not conform (an unlisted status included)."""
        content_type = response_headers.get("Content-Type", "").split(";")[0].strip().lower()
        request = _Request(
            host_url="https://hub.example",
            path=path,
            method=method.lower(),
            body=request_body,
            content_type=request_headers.get("Content-Type", ""),
            parameters=RequestParameters(
                query=ImmutableMultiDict(query), header=Headers(dict(request_headers))
            ),
        )
        response = _Response(status, content_type, Headers(list(response_headers.items())), body)
        self.spec.validate_response(request, response)
        if status >= 400 and content_type == "application/json":
            errors = json.loads(body)["errors"]
            assert errors[0]["code"] == status and errors[0]["message"], body
        with self._lock:
            self.counts[f"{method} {status}"] += 1
