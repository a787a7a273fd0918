"""The RFC 3161 time-stamp client: ask a TSA to vouch that some bytes existed at a time.

A template method, in the manner of pyHanko's ``sign/timestamps/api.py``: the base
class builds the TimeStampReq (v1, SHA-256 imprint, a random 64-bit nonce, certReq
true, an optional policy) and checks the answer; subclasses only move bytes:

- :class:`HttpTimeStamper`: stdlib urllib, synchronous (RFC 3161 §3.4);
- :class:`AiohttpTimeStamper`: an aiohttp client, for the event loop;
- :class:`InProcessTimeStamper`: a responder function, such as
  :meth:`trust.tsa.TimeStampAuthority.respond`, with no network at all.

:meth:`TimeStamper.timestamp` returns a :class:`TimestampToken` only after every
check of :mod:`trust.tsp_verify` passed *and* the token echoes our nonce, imprint
and policy, carries the TSA certificate (we set certReq), and its genTime is within
``max_clock_skew`` of our clock. Any failure raises
:class:`~trust.errors.TimestampAuthorityError` naming the failed checks: an
unreachable TSA, a refusal (PKIStatus rejection) and a bad token alike.

Over HTTP (RFC 3161 §3.4): a POST of ``application/timestamp-query``; any answer
but 200 is an error, redirects are not followed, the body is cut at
:data:`~trust.tsp_parse.MAX_RESPONSE_BYTES` and the whole exchange at ``timeout``.
The reply's Content-Type is NOT checked (the bytes are parsed and verified instead).

NOT checked here either: revocation of the TSA certificate (no CRL or OCSP).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography import x509

from trust.errors import MalformedInputError, TimestampAuthorityError
from trust.results import Check
from trust.tsp_asn1 import SHA256, FailureInfo
from trust.tsp_parse import MAX_RESPONSE_BYTES, ParsedResponse, ParsedToken, parse_response
from trust.tsp_request import TimestampRequest
from trust.tsp_verify import check_token

# RFC 3161 §3.4: the MIME types of a request and of a response over HTTP.
QUERY_MEDIA_TYPE = "application/timestamp-query"
REPLY_MEDIA_TYPE = "application/timestamp-reply"
DEFAULT_TIMEOUT = 10.0
# A TSA's clock and ours should agree to well within this.
DEFAULT_MAX_CLOCK_SKEW = dt.timedelta(minutes=5)

_UNREACHABLE_HINT = (
    "Check the TSA URL, the network path to it and that the TSA is running; "
    "`sceau gateway doctor` tests it. Retry later."
)
_HTTP_STATUS_HINT = (
    "Check the TSA URL (the path too; redirects are not followed) and the TSA's logs."
)
_REFUSAL_HINTS = {
    FailureInfo.BAD_ALG: "The TSA does not accept SHA-256 imprints; configure another TSA.",
    FailureInfo.UNACCEPTED_POLICY: "The TSA does not offer the configured policy OID; fix "
    "or remove the policy setting.",
    FailureInfo.TIME_NOT_AVAILABLE: "The TSA's time source is down; retry later.",
    FailureInfo.SYSTEM_FAILURE: "The TSA failed internally; retry later or tell its operator.",
}


@dataclass(frozen=True)
class TimestampToken:
    """A verified time-stamp: the full response kept verbatim, and what it says.

    Instances made by :meth:`TimeStamper.timestamp` have passed every check; one
    built by hand has not. Keep :attr:`response_der` (the ``.tsr``) as evidence.
    """

    response_der: bytes
    token_der: bytes
    gen_time: dt.datetime
    serial_number: int
    tsa_name: str
    policy: str
    message_imprint: bytes
    accuracy: dt.timedelta | None


@dataclass(frozen=True, kw_only=True)
class TimeStamper:
    """Builds requests and checks responses; :meth:`_exchange` moves the bytes.

    ``anchors`` are the roots the TSA certificate must chain to (at genTime);
    ``certificates`` adds intermediates the TSA does not send.
    """

    anchors: Sequence[x509.Certificate]
    certificates: Sequence[x509.Certificate] = ()
    policy: str | None = None
    max_clock_skew: dt.timedelta | None = DEFAULT_MAX_CLOCK_SKEW

    def __post_init__(self) -> None:
        if not self.anchors:
            raise ValueError("a TimeStamper needs at least one trust anchor for the TSA")
        object.__setattr__(self, "anchors", tuple(self.anchors))
        object.__setattr__(self, "certificates", tuple(self.certificates))

    def request_for(self, data: bytes) -> TimestampRequest:
        """A fresh request (new nonce) over SHA-256(``data``)."""
        return self.request_for_digest(hashlib.sha256(data).digest())

    def request_for_digest(self, sha256_digest: bytes) -> TimestampRequest:
        return TimestampRequest.for_digest(sha256_digest, hash_oid=SHA256, policy=self.policy)

    def timestamp(self, data: bytes) -> TimestampToken:
        """Time-stamp ``data``; TimestampAuthorityError if no valid token was obtained."""
        return self.timestamp_digest(hashlib.sha256(data).digest())

    def timestamp_digest(self, sha256_digest: bytes) -> TimestampToken:
        """Time-stamp data already hashed with SHA-256 (for data hashed while streaming)."""
        request = self.request_for_digest(sha256_digest)
        return self.accept(request, self._exchange(request.der))

    def _exchange(self, request_der: bytes) -> bytes:
        """Send the DER request, return the DER response; TimestampAuthorityError if not."""
        raise NotImplementedError

    def accept(
        self, request: TimestampRequest, response: bytes, *, now: dt.datetime | None = None
    ) -> TimestampToken:
        """Check ``response`` as the answer to ``request``; raise TimestampAuthorityError if not."""
        try:
            parsed = parse_response(response)
        except MalformedInputError as exc:
            raise TimestampAuthorityError(
                f"the TSA's answer is not an RFC 3161 response: {exc.message}"
            ) from exc
        token = _granted_token(parsed)
        found = check_token(
            token,
            imprint=lambda oid: request.digest if oid == request.hash_oid else None,
            anchors=self.anchors,
            certificates=self.certificates,
            nonce=request.nonce,
            policy=request.policy,
            require_embedded_certificate=request.cert_req,
        )
        result = found.result
        if self.max_clock_skew is not None:
            now = now or dt.datetime.now(dt.UTC)
            skew = abs(token.gen_time - now)
            ok = skew <= self.max_clock_skew
            detail = "" if ok else f"genTime {token.gen_time:%Y-%m-%dT%H:%M:%SZ} is {skew} off"
            result = result.plus(Check("clock skew", ok, detail))
        if not result.ok:
            raise TimestampAuthorityError(
                "the TSA's token failed verification: " + "; ".join(result.reasons),
                hint="The TSA may be misconfigured (certificate, extended key usage, clock) "
                "or its answer was altered on the way; check the TSA and the configured "
                "trust anchor.",
            )
        assert found.tsa_subject is not None
        return TimestampToken(
            response_der=bytes(response),
            token_der=token.token_der,
            gen_time=token.gen_time,
            serial_number=token.serial_number,
            tsa_name=found.tsa_subject,
            policy=token.policy,
            message_imprint=token.imprint,
            accuracy=token.accuracy,
        )


@dataclass(frozen=True, kw_only=True)
class AsyncTimeStamper(TimeStamper):
    """The same checks, with an asynchronous :meth:`_async_exchange`."""

    async def async_timestamp(self, data: bytes) -> TimestampToken:
        return await self.async_timestamp_digest(hashlib.sha256(data).digest())

    async def async_timestamp_digest(self, sha256_digest: bytes) -> TimestampToken:
        request = self.request_for_digest(sha256_digest)
        return self.accept(request, await self._async_exchange(request.der))

    async def _async_exchange(self, request_der: bytes) -> bytes:
        raise NotImplementedError

    def _exchange(self, request_der: bytes) -> bytes:
        raise TimestampAuthorityError(
            "this time-stamper is asynchronous", hint="Call async_timestamp() from a coroutine."
        )


@dataclass(frozen=True, kw_only=True)
class InProcessTimeStamper(TimeStamper):
    """Calls a responder function: ``InProcessTimeStamper(responder=tsa.respond, anchors=…)``."""

    responder: Callable[[bytes], bytes]

    def _exchange(self, request_der: bytes) -> bytes:
        return self.responder(request_der)


@dataclass(frozen=True, kw_only=True)
class HttpTimeStamper(TimeStamper):
    """POSTs the request to ``url`` with urllib (blocking: keep it off the event loop)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_url(self.url)

    def _exchange(self, request_der: bytes) -> bytes:
        http_request = urllib.request.Request(  # noqa: S310 (scheme checked in __post_init__)
            self.url,
            data=request_der,
            method="POST",
            headers={"Content-Type": QUERY_MEDIA_TYPE, "Accept": REPLY_MEDIA_TYPE},
        )
        deadline = time.monotonic() + self.timeout
        try:
            with _OPENER.open(http_request, timeout=self.timeout) as reply:
                body = bytearray()
                # urllib's timeout bounds each socket read; the deadline bounds the whole.
                while chunk := reply.read(65536):
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                        break
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the connection's socket
            raise TimestampAuthorityError(
                f"the TSA at {self.url} answered HTTP {exc.code} {exc.reason}",
                hint=_HTTP_STATUS_HINT,
            ) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise TimestampAuthorityError(
                f"cannot reach the TSA at {self.url}: {_reason(exc)}", hint=_UNREACHABLE_HINT
            ) from exc
        if time.monotonic() > deadline:
            raise TimestampAuthorityError(
                f"the TSA at {self.url} took more than {self.timeout:g} s to answer",
                hint=_UNREACHABLE_HINT,
            )
        return _bounded(bytes(body), self.url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect becomes an HTTPError: POSTs are not replayed elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True, kw_only=True)
class AiohttpTimeStamper(AsyncTimeStamper):
    """POSTs the request with aiohttp; uses ``session`` when given, else one per call."""

    url: str
    session: aiohttp.ClientSession | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_url(self.url)

    async def _async_exchange(self, request_der: bytes) -> bytes:
        try:
            if self.session is not None:
                return await self._post(self.session, request_der)
            async with aiohttp.ClientSession() as session:
                return await self._post(session, request_der)
        except TimestampAuthorityError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TimestampAuthorityError(
                f"cannot reach the TSA at {self.url}: {_reason(exc)}", hint=_UNREACHABLE_HINT
            ) from exc

    async def _post(self, session: aiohttp.ClientSession, request_der: bytes) -> bytes:
        async with session.post(
            self.url,
            data=request_der,
            allow_redirects=False,
            headers={"Content-Type": QUERY_MEDIA_TYPE, "Accept": REPLY_MEDIA_TYPE},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        ) as reply:
            if reply.status != 200:
                raise TimestampAuthorityError(
                    f"the TSA at {self.url} answered HTTP {reply.status} {reply.reason}",
                    hint=_HTTP_STATUS_HINT,
                )
            body = bytearray()
            async for chunk in reply.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    break
        return _bounded(bytes(body), self.url)


def _granted_token(parsed: ParsedResponse) -> ParsedToken:
    if not parsed.granted:
        hint = next((_REFUSAL_HINTS[f] for f in parsed.failure_infos if f in _REFUSAL_HINTS), None)
        raise TimestampAuthorityError(
            f"the TSA refused the request: {parsed.describe_status()}",
            hint=hint or "Check the TSA's configuration and logs.",
        )
    if parsed.token is None:
        raise TimestampAuthorityError("the TSA granted the request but sent no token")
    return parsed.token


def _check_url(url: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"a TSA URL is http or https, not {scheme or 'schemeless'}: {url}")


def _bounded(body: bytes, url: str) -> bytes:
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampAuthorityError(
            f"the TSA at {url} sent more than {MAX_RESPONSE_BYTES} bytes",
            hint="That is not a time-stamp response; check the TSA URL.",
        )
    return body


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


__all__ = [
    "DEFAULT_MAX_CLOCK_SKEW",
    "QUERY_MEDIA_TYPE",
    "REPLY_MEDIA_TYPE",
    "AiohttpTimeStamper",
    "AsyncTimeStamper",
    "HttpTimeStamper",
    "InProcessTimeStamper",
    "TimeStamper",
    "TimestampToken",
]
