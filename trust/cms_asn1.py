"""CMS and ESS structures declared with cryptography's declarative ASN.1 API.

Shared by the builder (:mod:`trust.cms`) and the attribute decoders
(:mod:`trust.cms_parse`); not a public API. Fields typed ``asn1.TLV`` hold
values that are encoded once and copied verbatim (certificates, names, and the
constant parts of a SignerInfo).

Object identifiers are dotted strings here, with the RFC that assigns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import cryptography.hazmat.asn1 as asn1
from cryptography import x509

# RFC 5652 §4, §5, §11.1-11.3
ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ID_SIGNING_TIME = "1.2.840.113549.1.9.5"
# RFC 5035 §3
ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
# RFC 3161 §2.4.2
ID_CT_TST_INFO = "1.2.840.113549.1.9.16.1.4"
# RFC 5754 §2
ID_SHA256 = "2.16.840.1.101.3.4.2.1"
ID_SHA384 = "2.16.840.1.101.3.4.2.2"
ID_SHA512 = "2.16.840.1.101.3.4.2.3"
# RFC 5754 §3.3 (RFC 5758 §3.2)
ID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
ID_ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3"
ID_ECDSA_WITH_SHA512 = "1.2.840.10045.4.3.4"
# RFC 5754 §3.2 (RFC 4055 §5), RFC 3370 §3.2
ID_SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
ID_SHA384_WITH_RSA = "1.2.840.113549.1.1.12"
ID_SHA512_WITH_RSA = "1.2.840.113549.1.1.13"
ID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
# RFC 8410 §3, used in CMS by RFC 8419 §2.3
ID_ED25519 = "1.3.101.112"


@asn1.sequence
class AlgorithmIdentifier:
    algorithm: x509.ObjectIdentifier
    parameters: asn1.Null | None  # absent, or NULL for the RSA algorithms


# The attribute values the builder writes: content-type, message-digest,
# signing-time, and pre-encoded ones (signing-certificate-v2, extras).
AttributeValue = x509.ObjectIdentifier | bytes | asn1.UTCTime | asn1.GeneralizedTime | asn1.TLV


@asn1.sequence
class Attribute:
    attr_type: x509.ObjectIdentifier
    attr_values: asn1.SetOf[AttributeValue]


@asn1.sequence
class IssuerAndSerialNumber:
    issuer: asn1.TLV  # Name, copied from the certificate
    serial_number: int


@asn1.sequence
class SignerInfo:
    version: int
    sid: asn1.TLV  # SignerIdentifier: a pre-encoded IssuerAndSerialNumber
    digest_algorithm: asn1.TLV  # a pre-encoded AlgorithmIdentifier
    signed_attrs: Annotated[asn1.SetOf[Attribute], asn1.Implicit(0)]
    signature_algorithm: asn1.TLV  # a pre-encoded AlgorithmIdentifier
    signature: bytes


@asn1.sequence
class EncapsulatedContentInfo:
    e_content_type: x509.ObjectIdentifier
    e_content: Annotated[bytes | None, asn1.Explicit(0)]


@asn1.sequence
class SignedData:
    version: int
    digest_algorithms: asn1.SetOf[asn1.TLV]  # pre-encoded AlgorithmIdentifiers
    encap_content_info: EncapsulatedContentInfo
    certificates: Annotated[asn1.SetOf[asn1.TLV] | None, asn1.Implicit(0)]  # X.509 DER
    signer_infos: asn1.SetOf[SignerInfo]


@asn1.sequence
class ContentInfo:
    content_type: x509.ObjectIdentifier
    content: Annotated[SignedData, asn1.Explicit(0)]


@asn1.sequence
class IssuerSerial:
    issuer: list[Annotated[asn1.TLV, asn1.Explicit(4)]]  # GeneralNames: directoryName only
    serial_number: int


@asn1.sequence
class EssCertIdV2:
    hash_algorithm: AlgorithmIdentifier | None  # DEFAULT id-sha256, so omitted in DER
    cert_hash: bytes
    issuer_serial: IssuerSerial | None


@asn1.sequence
class SigningCertificateV2:
    certs: list[EssCertIdV2]
    policies: list[asn1.TLV] | None


@asn1.sequence
class _TlvList:
    items: list[asn1.TLV]


def der_header(tag: int, length: int) -> bytes:
    """A DER identifier octet (low-tag-number form) and definite length."""
    if length < 0x80:
        return bytes((tag, length))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size


def tlvs(ders: Sequence[bytes]) -> list[asn1.TLV]:
    """Wrap DER values so the encoder copies them verbatim; ValueError if not DER.

    ``asn1.TLV`` cannot be constructed, only decoded: decoding a SEQUENCE OF
    around the values is cheap, and checks each of them.
    """
    body = b"".join(ders)
    inner = der_header(0x30, len(body)) + body
    return asn1.decode_der(_TlvList, der_header(0x30, len(inner)) + inner).items


def tlv_der(tlv: asn1.TLV) -> bytes:
    """The full DER (tag, length, contents) of a decoded TLV."""
    data = bytes(tlv.data)
    return tlv.tag_bytes + der_header(0, len(data))[1:] + data


def der_set_order(ders: Sequence[bytes]) -> list[bytes]:
    """Distinct DER values in SET OF order (X.690 §11.6: shorter ones padded with 0s)."""
    longest = max((len(d) for d in ders), default=0)
    return sorted(set(ders), key=lambda d: d.ljust(longest, b"\0"))
