"""Decoding CMS SignedData (RFC 5652) for verification, with asn1crypto.

:func:`parse_signed_data` turns DER into plain values (bytes, ints, dotted OIDs,
``x509.Certificate``) in one bounded pass, so no lazily-parsed object escapes and
every decoding error surfaces here as :class:`~trust.errors.MalformedInputError`.

Decoding is all it does: it does NOT verify the message digest, the signature, the
certificates or the signed attributes' meaning (see :mod:`trust.seal`). It accepts
exactly one SignerInfo, X.509 certificates only (no attribute certificates), and
ignores CRLs and unsigned attributes.

The ``decode_*`` functions decode one attribute value (strict DER, with the
declarative API) and raise ValueError when it is not what they expect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import cryptography.hazmat.asn1 as asn1
from asn1crypto import cms, core
from cryptography import x509

from trust import cms_asn1
from trust.errors import MalformedInputError

MAX_SIGNED_DATA_BYTES = 1 << 20  # seals and tokens are a few KB
MAX_CERTIFICATES = 16
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_VALUES = 4

# Everything asn1crypto or cryptography raise on bad bytes; anything else is a bug.
_DECODE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


@dataclass(frozen=True)
class SignedAttribute:
    """One signed attribute: its type (dotted OID) and each value's DER."""

    oid: str
    values: tuple[bytes, ...]


@dataclass(frozen=True)
class ParsedSignedData:
    """The fields of a SignedData with exactly one SignerInfo, decoded but NOT verified."""

    version: int
    digest_algorithms: tuple[str, ...]
    econtent_type: str
    econtent: bytes | None  # None when detached
    certificates: tuple[x509.Certificate, ...]
    signer_version: int
    signer_issuer_der: bytes | None  # issuerAndSerialNumber, or None with a key identifier
    signer_serial_number: int | None
    signer_key_identifier: bytes | None  # subjectKeyIdentifier (SignerInfo version 3)
    digest_algorithm: str
    signed_attrs_der: bytes | None  # re-tagged as SET OF (0x31): the bytes that were signed
    signed_attributes: tuple[SignedAttribute, ...]
    signature_algorithm: str
    signature_parameters_der: bytes | None
    signature: bytes

    def attribute(self, oid: str) -> tuple[bytes, ...] | None:
        """The values of the signed attribute ``oid``, or None if absent."""
        for attribute in self.signed_attributes:
            if attribute.oid == oid:
                return attribute.values
        return None

    def signer_certificate(self) -> x509.Certificate | None:
        """The included certificate that the SignerInfo's identifier names, if any."""
        for cert in self.certificates:
            if self.signer_key_identifier is not None:
                try:
                    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
                except x509.ExtensionNotFound:
                    continue
                if ski.value.digest == self.signer_key_identifier:
                    return cert
            elif (
                cert.serial_number == self.signer_serial_number
                and cert.issuer.public_bytes() == self.signer_issuer_der
            ):
                return cert
        return None


class _EncapsulatedContentInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 (asn1crypto's declaration style)
        ("content_type", core.ObjectIdentifier),
        ("content", core.OctetString, {"explicit": 0, "optional": True}),
    ]


def _version(value: core.Integer) -> int:
    native = value.native  # asn1crypto maps known versions to "v1", "v3", ...
    return native if isinstance(native, int) else int(native[1:])


def _attributes(signer_info: cms.SignerInfo) -> tuple[bytes | None, tuple[SignedAttribute, ...]]:
    attrs = signer_info["signed_attrs"]
    if isinstance(attrs, core.Void):
        return None, ()
    if len(attrs) > MAX_ATTRIBUTES:
        raise MalformedInputError(f"more than {MAX_ATTRIBUTES} signed attributes")
    out: list[SignedAttribute] = []
    seen: set[str] = set()
    for attribute in attrs:
        oid = attribute["type"].dotted
        if oid in seen:
            # RFC 5652 §5.3: an attribute type appears at most once in signedAttrs.
            raise MalformedInputError(f"signed attribute {oid} appears twice")
        seen.add(oid)
        values = attribute["values"]
        if not 1 <= len(values) <= MAX_ATTRIBUTE_VALUES:
            raise MalformedInputError(f"signed attribute {oid} has {len(values)} values")
        out.append(SignedAttribute(oid, tuple(v.dump() for v in values)))
    dumped = attrs.dump()
    # [0] IMPLICIT on the wire; the signature covers the universal SET OF tag.
    return b"\x31" + dumped[1:], tuple(out)


def _certificates(signed_data: cms.SignedData) -> tuple[x509.Certificate, ...]:
    certs = signed_data["certificates"]
    if isinstance(certs, core.Void):
        return ()
    if len(certs) > MAX_CERTIFICATES:
        raise MalformedInputError(f"more than {MAX_CERTIFICATES} certificates")
    out = []
    for choice in certs:
        if choice.name != "certificate":
            raise MalformedInputError(f"unsupported certificate kind {choice.name}")
        if choice.chosen["tbs_certificate"]["serial_number"].native <= 0:
            # RFC 5280 §4.1.2.2; cryptography would warn, then fail in future releases.
            raise MalformedInputError("a certificate has a serial number that is not positive")
        cert = x509.load_der_x509_certificate(choice.chosen.dump())
        # cryptography parses names and extensions lazily: parse them now, so a
        # damaged certificate is refused here rather than raising later.
        _ = cert.issuer, cert.subject, cert.extensions
        out.append(cert)
    return tuple(out)


def _parse(der: bytes) -> ParsedSignedData:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].dotted != cms_asn1.ID_SIGNED_DATA:
        raise MalformedInputError(f"not a SignedData but {info['content_type'].dotted}")
    signed_data = info["content"]
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise MalformedInputError(f"{len(signer_infos)} SignerInfos; exactly one is supported")
    signer_info = signer_infos[0]
    # Re-read eContent as a plain OCTET STRING: asn1crypto would otherwise parse
    # it as any content type registered with it (asn1crypto.tsp registers TSTInfo).
    encap = _EncapsulatedContentInfo.load(signed_data["encap_content_info"].dump(), strict=True)
    content = encap["content"]
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        issuer_der, serial, key_id = (
            sid.chosen["issuer"].dump(),
            int(sid.chosen["serial_number"].native),
            None,
        )
    else:
        issuer_der, serial, key_id = None, None, bytes(sid.chosen.native)
    signed_attrs_der, attributes = _attributes(signer_info)
    parameters = signer_info["signature_algorithm"]["parameters"]
    return ParsedSignedData(
        version=_version(signed_data["version"]),
        digest_algorithms=tuple(a["algorithm"].dotted for a in signed_data["digest_algorithms"]),
        econtent_type=encap["content_type"].dotted,
        econtent=None if isinstance(content, core.Void) else bytes(content),
        certificates=_certificates(signed_data),
        signer_version=_version(signer_info["version"]),
        signer_issuer_der=issuer_der,
        signer_serial_number=serial,
        signer_key_identifier=key_id,
        digest_algorithm=signer_info["digest_algorithm"]["algorithm"].dotted,
        signed_attrs_der=signed_attrs_der,
        signed_attributes=attributes,
        signature_algorithm=signer_info["signature_algorithm"]["algorithm"].dotted,
        signature_parameters_der=None if isinstance(parameters, core.Void) else parameters.dump(),
        signature=bytes(signer_info["signature"].native),
    )


def parse_signed_data(der: bytes) -> ParsedSignedData:
    """Decode a DER ContentInfo holding a SignedData with one SignerInfo.

    Raises MalformedInputError, and nothing else, for any input that is not one.
    Verifies nothing (see the module docstring).
    """
    if not isinstance(der, bytes | bytearray | memoryview):
        raise MalformedInputError(f"expected bytes, not {type(der).__name__}")
    if len(der) > MAX_SIGNED_DATA_BYTES:
        raise MalformedInputError(f"SignedData larger than {MAX_SIGNED_DATA_BYTES} bytes")
    try:
        return _parse(bytes(der))
    except MalformedInputError:
        raise
    except _DECODE_ERRORS as exc:
        raise MalformedInputError(f"not a valid CMS SignedData: {exc}") from exc
    except RecursionError as exc:
        raise MalformedInputError("CMS structure nested too deeply") from exc


@dataclass(frozen=True)
class EssCertId:
    """One ESSCertIDv2 of a signing-certificate-v2 attribute (RFC 5035 §4)."""

    hash_algorithm: str  # dotted OID; id-sha256 when the DEFAULT was omitted
    cert_hash: bytes
    issuer_names_der: tuple[bytes, ...] | None  # each a directoryName's Name
    serial_number: int | None


def decode_signing_certificate_v2(value_der: bytes) -> tuple[EssCertId, ...]:
    """Decode a signing-certificate-v2 value; only directoryName issuers; policies ignored."""
    decoded = asn1.decode_der(cms_asn1.SigningCertificateV2, value_der)
    out = []
    for cert_id in decoded.certs:
        algorithm = cert_id.hash_algorithm
        issuer_serial = cert_id.issuer_serial
        out.append(
            EssCertId(
                hash_algorithm=cms_asn1.ID_SHA256
                if algorithm is None
                else algorithm.algorithm.dotted_string,
                cert_hash=cert_id.cert_hash,
                issuer_names_der=None
                if issuer_serial is None
                else tuple(cms_asn1.tlv_der(name) for name in issuer_serial.issuer),
                serial_number=None if issuer_serial is None else issuer_serial.serial_number,
            )
        )
    return tuple(out)


def decode_oid(value_der: bytes) -> str:
    """Decode an OBJECT IDENTIFIER to its dotted form."""
    return asn1.decode_der(x509.ObjectIdentifier, value_der).dotted_string


def decode_octets(value_der: bytes) -> bytes:
    """Decode an OCTET STRING."""
    return asn1.decode_der(bytes, value_der)


def decode_time(value_der: bytes) -> dt.datetime:
    """Decode a Time (RFC 5652 §11.3): UTCTime or GeneralizedTime, timezone-aware."""
    if value_der[:1] == b"\x17":
        return asn1.decode_der(asn1.UTCTime, value_der).as_datetime()
    return asn1.decode_der(asn1.GeneralizedTime, value_der).as_datetime()


__all__ = [
    "MAX_SIGNED_DATA_BYTES",
    "EssCertId",
    "ParsedSignedData",
    "SignedAttribute",
    "decode_octets",
    "decode_oid",
    "decode_signing_certificate_v2",
    "decode_time",
    "parse_signed_data",
]
