"""An RFC 3161 time-stamping authority, as a plain object: request bytes in, response out.

:meth:`TimeStampAuthority.respond` never raises on what a client sends: anything
it cannot honour becomes a TimeStampResp with PKIStatus ``rejection`` and a
failInfo (RFC 3161 §2.4.2), and a failure of the signer becomes ``systemFailure``.
The hub mounts it at ``POST /tsa``; the HTTP part (content types, body limits)
is the caller's business.

Choices made here:

- hashes accepted in the message imprint: SHA-256, SHA-384, SHA-512 (``badAlg``
  otherwise, SHA-1 included);
- request extensions are refused (``unacceptedExtension``), since none is
  understood; a ``reqPolicy`` other than ours gets ``unacceptedPolicy``;
- serial numbers are random 128-bit integers by default (unique with
  overwhelming probability, and not revealing the TSA's volume); pass
  ``serials=`` a monotonic counter if a sequence is wanted;
- genTime is the host's UTC clock with microseconds; accuracy defaults to one
  second. The TSA does NOT discipline or check its own clock: run NTP, and watch
  ``sceau gateway doctor``'s skew check;
- the token's signed attributes are those of :func:`trust.cms.build_signed_data`
  (content-type, message-digest, signing-time, signing-certificate-v2);
- with ``certReq`` false the SignedData carries no certificates (RFC 3161 §2.4.1).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat import asn1

from trust.cms import build_signed_data
from trust.errors import KeyMaterialError
from trust.keys import Signer
from trust.pki import public_key_matches
from trust.tsp_asn1 import (
    DIGEST_SIZES,
    HASHES,
    ID_CT_TSTINFO,
    TSP_VERSION,
    Accuracy,
    FailureInfo,
    PKIStatus,
    PKIStatusInfo,
    TimeStampReq,
    TSTInfo,
    der_length,
    failure_bits,
    time_stamp_resp,
)
from trust.tsp_verify import tsa_purpose

logger = logging.getLogger(__name__)

# Sceau's built-in TSA policy: an X.667 UUID OID (no registration needed),
# urn:uuid:68f91e75-6a6f-46f9-ad21-aba2069966b5. Host clock, accuracy ±1 s, not qualified.
DEFAULT_POLICY = "2.25.139533211254329483558948562224551650997"
# A TimeStampReq is about a hundred bytes; extensions could add some. Refuse more.
MAX_REQUEST_BYTES = 8192
# RFC 3161 §2.4.2: TSTInfo.serialNumber may be up to 160 bits.
SERIAL_BITS = 128


def random_serial() -> int:
    """A uniformly random serial number in 1 .. 2**128 - 1."""
    return 1 + secrets.randbelow(2**SERIAL_BITS - 1)


@dataclass(frozen=True)
class Rejection:
    """Why a request was refused: a failInfo bit and a human text (statusString)."""

    failure: FailureInfo
    text: str


@dataclass(frozen=True)
class TimeStampAuthority:
    """A TSA over a :class:`~trust.keys.Signer` and its time-stamping certificate.

    The certificate must hold the signer's public key and a critical EKU with only
    timeStamping (RFC 3161 §2.3); otherwise KeyMaterialError, unless
    ``unsafe_allow_any_certificate`` (tests of client-side rejection use it; it logs
    a warning). Not checked: that the certificate chains to anything or is valid
    today (an expired TSA keeps answering, and clients reject its tokens).
    """

    signer: Signer
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    policy: str = DEFAULT_POLICY
    accuracy: dt.timedelta | None = dt.timedelta(seconds=1)
    serials: Callable[[], int] = random_serial
    include_tsa_name: bool = True
    hash_algorithms: frozenset[str] = frozenset(HASHES)
    unsafe_allow_any_certificate: bool = field(default=False, kw_only=True)
    _status_granted: bytes = field(default=b"", init=False, repr=False)

    def __post_init__(self) -> None:
        if not public_key_matches(self.certificate, self.signer.public_key()):
            raise KeyMaterialError(
                "the TSA signer's key is not the TSA certificate's key",
                hint="Configure the certificate that was issued for the TSA key.",
            )
        purpose = tsa_purpose(self.certificate)
        if not purpose.ok:
            if not self.unsafe_allow_any_certificate:
                raise KeyMaterialError(
                    f"not a TSA certificate: {purpose.detail}",
                    hint="Issue the TSA certificate with the TSA profile (critical, sole "
                    "timeStamping extended key usage).",
                )
            logger.warning("TSA running with an unfit certificate: %s", purpose.detail)
        if not self.hash_algorithms <= set(HASHES):
            raise ValueError(
                f"unsupported hash algorithms {set(self.hash_algorithms) - set(HASHES)}"
            )
        # Keep one tuple object: trust.cms caches its work per (signer, certificate, chain).
        object.__setattr__(self, "chain", tuple(self.chain))
        granted = PKIStatusInfo(status=PKIStatus.GRANTED, status_string=None, fail_info=None)
        object.__setattr__(self, "_status_granted", asn1.encode_der(granted))

    def respond(self, request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
        """Answer one DER TimeStampReq with a DER TimeStampResp; never raises on bad input.

        ``now`` (timezone-aware) is genTime; the wall clock when omitted.
        """
        if now is None:
            now = dt.datetime.now(dt.UTC)
        elif now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        request = self._accept(request_der)
        if isinstance(request, Rejection):
            return rejection_response(request)
        try:
            token = self._token(request, now.astimezone(dt.UTC))
        except Exception:  # the signer (an HSM, say) failed: the client gets systemFailure
            logger.exception("the TSA could not sign a token")
            return rejection_response(
                Rejection(FailureInfo.SYSTEM_FAILURE, "the TSA could not sign; try again later")
            )
        return time_stamp_resp(self._status_granted, token)

    def _accept(self, request_der: bytes) -> TimeStampReq | Rejection:
        if not isinstance(request_der, bytes | bytearray | memoryview):
            return Rejection(FailureInfo.BAD_REQUEST, "the request is not bytes")
        if len(request_der) > MAX_REQUEST_BYTES:
            return Rejection(
                FailureInfo.BAD_REQUEST, f"requests are limited to {MAX_REQUEST_BYTES} bytes"
            )
        try:
            request = asn1.decode_der(TimeStampReq, bytes(request_der))
        except (ValueError, TypeError, OverflowError):
            return Rejection(
                FailureInfo.BAD_DATA_FORMAT, "not a DER TimeStampReq (RFC 3161 §2.4.1)"
            )
        if request.version != TSP_VERSION:
            return Rejection(FailureInfo.BAD_REQUEST, f"version {request.version}; only v1 exists")
        hash_oid = request.message_imprint.hash_algorithm.algorithm.dotted_string
        if hash_oid not in self.hash_algorithms:
            return Rejection(
                FailureInfo.BAD_ALG,
                f"hash algorithm {hash_oid} not accepted; use SHA-256, SHA-384 or SHA-512",
            )
        if len(request.message_imprint.hashed_message) != DIGEST_SIZES[hash_oid]:
            return Rejection(
                FailureInfo.BAD_DATA_FORMAT,
                f"a {HASHES[hash_oid]} imprint is {DIGEST_SIZES[hash_oid]} bytes",
            )
        if request.req_policy is not None and request.req_policy.dotted_string != self.policy:
            return Rejection(
                FailureInfo.UNACCEPTED_POLICY,
                f"policy {request.req_policy.dotted_string} not offered; this TSA has {self.policy}",
            )
        if request.extensions:
            return Rejection(FailureInfo.UNACCEPTED_EXTENSION, "no request extension is supported")
        return request

    def _token(self, request: TimeStampReq, gen_time: dt.datetime) -> bytes:
        tst_info = TSTInfo(
            version=TSP_VERSION,
            policy=x509.ObjectIdentifier(self.policy),
            message_imprint=request.message_imprint,
            serial_number=self.serials(),
            gen_time=asn1.GeneralizedTime(gen_time),
            accuracy=_accuracy(self.accuracy),
            ordering=False,
            nonce=request.nonce,
            tsa=self.certificate.subject if self.include_tsa_name else None,
            extensions=None,
        )
        token = build_signed_data(
            content=asn1.encode_der(tst_info),
            content_type=ID_CT_TSTINFO,
            signer=self.signer,
            certificate=self.certificate,
            chain=self.chain,
            detached=False,
            signing_time=gen_time,
        )
        return token if request.cert_req else without_certificates(token)


def rejection_response(rejection: Rejection) -> bytes:
    """A TimeStampResp with PKIStatus rejection, the failInfo bit and the text."""
    info = PKIStatusInfo(
        status=PKIStatus.REJECTION,
        status_string=[rejection.text],
        fail_info=failure_bits(rejection.failure),
    )
    return time_stamp_resp(asn1.encode_der(info))


def _accuracy(accuracy: dt.timedelta | None) -> Accuracy | None:
    if accuracy is None:
        return None
    micros_total = accuracy // dt.timedelta(microseconds=1)
    seconds, rest = divmod(micros_total, 1_000_000)
    millis, micros = divmod(rest, 1000)
    # RFC 3161 §2.4.2: absent fields are zero; millis and micros are 1..999 when present.
    return Accuracy(seconds=seconds or None, millis=millis or None, micros=micros or None)


def without_certificates(content_info: bytes) -> bytes:
    """Drop the ``certificates [0]`` field of a DER ContentInfo(SignedData).

    The signature covers only the signed attributes, so it stays valid.
    """
    _, ci_start, _ = _tlv(content_info, 0)
    _, _, oid_end = _tlv(content_info, ci_start)
    _, explicit_start, _ = _tlv(content_info, oid_end)
    _, sd_start, sd_end = _tlv(content_info, explicit_start)
    kept = []
    pos = sd_start
    while pos < sd_end:
        tag, _, end = _tlv(content_info, pos)
        if tag != 0xA0:  # RFC 5652 §5.1: certificates [0] IMPLICIT CertificateSet
            kept.append(content_info[pos:end])
        pos = end
    signed_data = _wrap(0x30, b"".join(kept))
    return _wrap(0x30, content_info[ci_start:oid_end] + _wrap(0xA0, signed_data))


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the DER element at ``pos``."""
    tag, first = der[pos], der[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    n = first & 0x7F
    length = int.from_bytes(der[pos + 2 : pos + 2 + n], "big")
    return tag, pos + 2 + n, pos + 2 + n + length


def _wrap(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + der_length(len(body)) + body


__all__ = [
    "DEFAULT_POLICY",
    "MAX_REQUEST_BYTES",
    "Rejection",
    "TimeStampAuthority",
    "random_serial",
    "rejection_response",
    "without_certificates",
]
