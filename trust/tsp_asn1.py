"""RFC 3161 (and RFC 5816) structures, object identifiers and status codes.

The structures a TSA *writes* are declared with cryptography's declarative ASN.1
API (``cryptography.hazmat.asn1``): strict DER in both directions, and fast. The
client side parses foreign tokens with asn1crypto instead (:mod:`trust.tsp_verify`),
because real TSAs may wrap their SignedData in BER.

Field names follow the RFC's ASN.1, in snake case.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Annotated

from cryptography import x509
from cryptography.hazmat import asn1

# RFC 3161 §2.4.2: id-ct-TSTInfo, the eContentType of a time-stamp token.
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
# RFC 5652 §5.1: id-signedData.
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
# RFC 5652 §11.1 and §11.2: the content-type and message-digest signed attributes.
ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
# RFC 2634 §5.4 (ESSCertID) and RFC 5035 §3 (ESSCertIDv2), as RFC 3161 §2.4.1 and
# RFC 5816 §2.2.1 require one of them in every token.
ID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
# RFC 5280 §4.2.1.12: id-kp-timeStamping.
ID_KP_TIMESTAMPING = "1.3.6.1.5.5.7.3.8"

# NIST hash OIDs (RFC 5754 §2). SHA-1 and MD5 are refused on both sides.
SHA256 = "2.16.840.1.101.3.4.2.1"
SHA384 = "2.16.840.1.101.3.4.2.2"
SHA512 = "2.16.840.1.101.3.4.2.3"
HASHES: dict[str, str] = {SHA256: "sha256", SHA384: "sha384", SHA512: "sha512"}
DIGEST_SIZES: dict[str, int] = {SHA256: 32, SHA384: 48, SHA512: 64}

# RFC 3161 §2.4.1: TimeStampReq version v1; §2.4.2: TSTInfo version v1.
TSP_VERSION = 1


def digest(hash_oid: str, data: bytes) -> bytes:
    """Hash ``data`` with the algorithm named by ``hash_oid`` (one of :data:`HASHES`)."""
    return hashlib.new(HASHES[hash_oid], data).digest()


class PKIStatus(enum.IntEnum):
    """RFC 3161 §2.4.2, PKIStatus."""

    GRANTED = 0
    GRANTED_WITH_MODS = 1
    REJECTION = 2
    WAITING = 3
    REVOCATION_WARNING = 4
    REVOCATION_NOTIFICATION = 5


class FailureInfo(enum.IntEnum):
    """RFC 3161 §2.4.2, PKIFailureInfo: the value is the bit's position."""

    BAD_ALG = 0
    BAD_REQUEST = 2
    BAD_DATA_FORMAT = 5
    TIME_NOT_AVAILABLE = 14
    UNACCEPTED_POLICY = 15
    UNACCEPTED_EXTENSION = 16
    ADD_INFO_NOT_AVAILABLE = 17
    SYSTEM_FAILURE = 25


def failure_bits(info: FailureInfo) -> asn1.BitString:
    """DER of one named bit: the trailing zero bits are dropped (X.690 §11.2.2)."""
    nbytes = info // 8 + 1
    value = bytearray(nbytes)
    value[info // 8] = 0x80 >> (info % 8)
    return asn1.BitString(bytes(value), 7 - info % 8)


def failure_infos(data: bytes, padding_bits: int) -> tuple[FailureInfo, ...]:
    """The named bits set in a PKIFailureInfo BIT STRING (unknown bits ignored)."""
    total = len(data) * 8 - padding_bits
    return tuple(
        info for info in FailureInfo if info < total and data[info // 8] & (0x80 >> (info % 8))
    )


@asn1.sequence
class AlgorithmIdentifier:
    """RFC 5280 §4.1.1.2, restricted to hash algorithms (parameters NULL or absent)."""

    algorithm: x509.ObjectIdentifier
    parameters: asn1.Null | None


@asn1.sequence
class MessageImprint:
    """RFC 3161 §2.4.1."""

    hash_algorithm: AlgorithmIdentifier
    hashed_message: bytes


@asn1.sequence
class Extension:
    """RFC 5280 §4.1."""

    extn_id: x509.ObjectIdentifier
    critical: Annotated[bool, asn1.Default(False)]
    extn_value: bytes


@asn1.sequence
class TimeStampReq:
    """RFC 3161 §2.4.1."""

    version: int
    message_imprint: MessageImprint
    req_policy: x509.ObjectIdentifier | None
    nonce: int | None
    cert_req: Annotated[bool, asn1.Default(False)]
    extensions: Annotated[list[Extension] | None, asn1.Implicit(0)]


@asn1.sequence
class Accuracy:
    """RFC 3161 §2.4.2: millis and micros are 1..999 when present."""

    seconds: int | None
    millis: Annotated[int | None, asn1.Implicit(0)]
    micros: Annotated[int | None, asn1.Implicit(1)]


# GeneralName (RFC 5280 §4.2.1.6), only the two alternatives a TSA names itself by;
# a CHOICE is always explicitly tagged.
GeneralName = (
    Annotated[x509.Name, asn1.Explicit(4)] | Annotated[asn1.IA5String, asn1.Implicit(2)] | None
)


@asn1.sequence
class TSTInfo:
    """RFC 3161 §2.4.2."""

    version: int
    policy: x509.ObjectIdentifier
    message_imprint: MessageImprint
    serial_number: int
    gen_time: asn1.GeneralizedTime
    accuracy: Accuracy | None
    ordering: Annotated[bool, asn1.Default(False)]
    nonce: int | None
    tsa: Annotated[GeneralName, asn1.Explicit(0)]
    extensions: Annotated[list[Extension] | None, asn1.Implicit(1)]


@asn1.sequence
class PKIStatusInfo:
    """RFC 3161 §2.4.2 (PKIFreeText is a SEQUENCE OF UTF8String, RFC 4210 §5.1.1)."""

    status: int
    status_string: list[str] | None
    fail_info: asn1.BitString | None


def der_length(n: int) -> bytes:
    """A DER definite length (X.690 §8.1.3)."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def time_stamp_resp(status_info_der: bytes, token_der: bytes = b"") -> bytes:
    """TimeStampResp (RFC 3161 §2.4.2) from its already-encoded parts.

    Written by hand because the declarative API cannot hold an optional raw
    ContentInfo; both parts are DER already, so the whole is DER.
    """
    body = status_info_der + token_der
    return b"\x30" + der_length(len(body)) + body
