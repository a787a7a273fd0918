"""Parsing RFC 3161 responses and tokens into plain values, before any check.

Parsing is eager: every field that verification needs is read here, so that a
malformed input fails in one place with :class:`~trust.errors.MalformedInputError`
and never later, half-way through the checks. asn1crypto is used because it
accepts what real TSAs send (a BER-wrapped SignedData, for example) while keeping
the original bytes of the signed attributes and certificates.

Nothing here is verified: a parsed token may be forged, expired or unrelated to
the data. :mod:`trust.tsp_verify` does the checking.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from trust.errors import MalformedInputError
from trust.tsp_asn1 import (
    ID_CONTENT_TYPE,
    ID_MESSAGE_DIGEST,
    ID_SIGNED_DATA,
    ID_SIGNING_CERTIFICATE,
    ID_SIGNING_CERTIFICATE_V2,
    FailureInfo,
    PKIStatus,
    failure_infos,
)

# A TimeStampResp with a certificate chain is a few kilobytes; refuse megabytes.
MAX_RESPONSE_BYTES = 1 << 20
# SHA-1, RFC 2634 §5.4: the ESSCertID (v1) hash.
_SHA1 = "1.3.14.3.2.26"

# What asn1crypto raises on bytes it cannot make sense of (lazily, on access).
_PARSE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    NotImplementedError,
    RecursionError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
)


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 §2.4.2. asn1crypto 1.5.1's ``tsp.TimeStampResp`` wrongly makes the
    token mandatory, and so cannot read a rejection."""

    _fields = [  # noqa: RUF012 (asn1crypto's declaration style)
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


_LAZY_CERTIFICATE_FIELDS = (
    "extensions",
    "subject",
    "issuer",
    "not_valid_before_utc",
    "not_valid_after_utc",
    "signature_algorithm_oid",
    "version",
)


@dataclass(frozen=True)
class ParsedCertificate:
    der: bytes
    certificate: x509.Certificate
    # Names are compared as DER bytes, as issued (asn1crypto's normalising comparison
    # raises on some strings that cryptography accepts).
    issuer_der: bytes
    subject_der: bytes
    serial_number: int
    subject_key_identifier: bytes | None


@dataclass(frozen=True)
class EssCertId:
    """One ESSCertID (RFC 2634 §5.4, SHA-1) or ESSCertIDv2 (RFC 5035 §4)."""

    hash_oid: str
    cert_hash: bytes
    issuer_names_der: tuple[bytes, ...] | None  # the directoryName entries of issuerSerial
    serial_number: int | None


@dataclass(frozen=True)
class PssParameters:
    hash_oid: str
    mgf_hash_oid: str
    salt_length: int


@dataclass(frozen=True)
class ParsedSignerInfo:
    sid_issuer_der: bytes | None
    sid_serial: int | None
    sid_key_identifier: bytes | None
    digest_oid: str
    signature_oid: str
    pss: PssParameters | None
    signature: bytes
    # The signed attributes as the signature covers them: tagged SET OF (RFC 5652 §5.4).
    signed_attrs_der: bytes | None
    attribute_counts: tuple[tuple[str, int], ...]
    content_type_attr: str | None
    message_digest_attr: bytes | None
    # Per attribute, in order: RFC 2634 §5.4 makes the first one the signer's.
    signing_certificate: tuple[EssCertId, ...] | None
    signing_certificate_v2: tuple[EssCertId, ...] | None


@dataclass(frozen=True)
class ParsedToken:
    """A TimeStampToken (RFC 3161 §2.4.2) broken into the values that get checked."""

    token_der: bytes
    content_type: str
    econtent_type: str
    tst_info_der: bytes
    version: int
    policy: str
    imprint_hash_oid: str
    imprint: bytes
    serial_number: int
    gen_time: dt.datetime
    accuracy: dt.timedelta | None
    nonce: int | None
    tsa_name_kind: str | None  # the GeneralName alternative, such as "directory_name"
    tsa_directory_name_der: bytes | None
    critical_extensions: tuple[str, ...]
    certificates: tuple[ParsedCertificate, ...]
    signer_infos: tuple[ParsedSignerInfo, ...]


@dataclass(frozen=True)
class ParsedResponse:
    """A TimeStampResp (RFC 3161 §2.4.2): status, and the token if one was granted."""

    status: int
    status_strings: tuple[str, ...]
    failure_infos: tuple[FailureInfo, ...]
    token: ParsedToken | None

    @property
    def granted(self) -> bool:
        return self.status in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS)

    def describe_status(self) -> str:
        try:
            name = PKIStatus(self.status).name.lower()
        except ValueError:
            name = f"unknown status {self.status}"
        parts = [name]
        if self.failure_infos:
            parts.append("failInfo " + ", ".join(f.name.lower() for f in self.failure_infos))
        if self.status_strings:
            parts.append("; ".join(repr(s) for s in self.status_strings))
        return ": ".join(parts)


def parse_response(tsr: bytes) -> ParsedResponse:
    """Parse a TimeStampResp; raise MalformedInputError if it is not one."""
    _check_size(tsr, "time-stamp response")
    try:
        resp = _TimeStampResp.load(tsr, strict=True)
        info = resp["status"]
        status = int(info["status"])
        strings = tuple(str(s) for s in info["status_string"].native or ())
        fail = info["fail_info"]
        fails: tuple[FailureInfo, ...] = ()
        if isinstance(fail, core.BitString):
            raw = fail.contents
            fails = failure_infos(raw[1:], raw[0]) if raw else ()
        token_value = resp["time_stamp_token"]
        token_der = None if isinstance(token_value, core.Void) else token_value.dump()
    except _PARSE_ERRORS as exc:
        raise MalformedInputError(f"not an RFC 3161 TimeStampResp: {exc}") from exc
    token = parse_token(token_der) if token_der is not None else None
    return ParsedResponse(status, strings, fails, token)


def parse_token(token_der: bytes) -> ParsedToken:
    """Parse a TimeStampToken (a CMS ContentInfo); raise MalformedInputError if it is not one."""
    _check_size(token_der, "time-stamp token")
    try:
        return _parse_token(token_der)
    except _PARSE_ERRORS as exc:
        raise MalformedInputError(f"not an RFC 3161 TimeStampToken: {exc}") from exc


def _check_size(data: bytes, what: str) -> None:
    if len(data) > MAX_RESPONSE_BYTES:
        raise MalformedInputError(
            f"{what} of {len(data)} bytes exceeds the {MAX_RESPONSE_BYTES}-byte limit"
        )


def _parse_token(token_der: bytes) -> ParsedToken:
    info = cms.ContentInfo.load(token_der, strict=True)
    content_type = info["content_type"].dotted
    if content_type != ID_SIGNED_DATA:
        raise ValueError(f"content type {content_type} is not signedData")
    signed_data = info["content"]
    encap = signed_data["encap_content_info"]
    econtent_type = encap["content_type"].dotted
    content = encap["content"]
    if not isinstance(content, core.OctetString | core.ParsableOctetString):
        raise ValueError("the token encapsulates no content (detached TSTInfo)")
    tst_der = bytes(content)
    tst = tsp.TSTInfo.load(tst_der, strict=True)
    imprint = tst["message_imprint"]
    accuracy = tst["accuracy"]
    tsa = tst["tsa"]
    extensions = tst["extensions"]
    critical = (
        ()
        if isinstance(extensions, core.Void)
        else tuple(e["extn_id"].dotted for e in extensions if e["critical"].native)
    )
    certificates = signed_data["certificates"]
    certs = (
        ()
        if isinstance(certificates, core.Void)
        else tuple(_parse_certificate(c) for c in certificates if c.name == "certificate")
    )
    return ParsedToken(
        token_der=token_der,
        content_type=content_type,
        econtent_type=econtent_type,
        tst_info_der=tst_der,
        version=int(tst["version"]),
        policy=tst["policy"].dotted,
        imprint_hash_oid=imprint["hash_algorithm"]["algorithm"].dotted,
        imprint=bytes(imprint["hashed_message"].native),
        serial_number=int(tst["serial_number"]),
        gen_time=_aware(tst["gen_time"].native),
        accuracy=None if isinstance(accuracy, core.Void) else _accuracy(accuracy),
        nonce=None if isinstance(tst["nonce"], core.Void) else int(tst["nonce"]),
        tsa_name_kind=None if isinstance(tsa, core.Void) else tsa.name,
        tsa_directory_name_der=_directory_name(tsa),
        critical_extensions=critical,
        certificates=certs,
        signer_infos=tuple(_parse_signer_info(si) for si in signed_data["signer_infos"]),
    )


def _directory_name(name: asn1_x509.GeneralName | core.Void) -> bytes | None:
    if isinstance(name, core.Void) or name.name != "directory_name":
        return None
    # GeneralName's directoryName is [4] EXPLICIT: drop the wrapper, keep the Name.
    return bytes(name.chosen.untag().dump())


def _aware(value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError("genTime is not a UTC GeneralizedTime")
    return value.astimezone(dt.UTC)


def _accuracy(accuracy: tsp.Accuracy) -> dt.timedelta:
    native = accuracy.native
    return dt.timedelta(
        seconds=native["seconds"] or 0,
        milliseconds=native["millis"] or 0,
        microseconds=native["micros"] or 0,
    )


def parse_certificate(certificate: x509.Certificate) -> ParsedCertificate:
    """A certificate given by the caller, in the form the checks compare against."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        return _certificate(asn1_x509.Certificate.load(der), der, certificate)
    except _PARSE_ERRORS as exc:
        raise MalformedInputError(f"unusable certificate: {exc}") from exc


def _parse_certificate(choice: cms.CertificateChoices) -> ParsedCertificate:
    cert = choice.chosen
    der = cert.dump()
    if int(cert["tbs_certificate"]["serial_number"]) <= 0:
        # RFC 5280 §4.1.2.2; cryptography would only warn, and warnings are not results.
        raise ValueError("a certificate serial number is not positive")
    return _certificate(cert, der, x509.load_der_x509_certificate(der))


def _certificate(
    cert: asn1_x509.Certificate, der: bytes, certificate: x509.Certificate
) -> ParsedCertificate:
    # cryptography decodes these lazily; a certificate the checks cannot use is malformed.
    certificate.public_key()
    for attribute in _LAZY_CERTIFICATE_FIELDS:
        getattr(certificate, attribute)
    try:
        ski: bytes | None = certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except x509.ExtensionNotFound:
        ski = None
    return ParsedCertificate(
        der=der,
        certificate=certificate,
        issuer_der=cert["tbs_certificate"]["issuer"].dump(),
        subject_der=cert["tbs_certificate"]["subject"].dump(),
        serial_number=int(cert["tbs_certificate"]["serial_number"]),
        subject_key_identifier=ski,
    )


def _parse_signer_info(si: cms.SignerInfo) -> ParsedSignerInfo:
    sid = si["sid"]
    sid_issuer = sid_serial = sid_ski = None
    if sid.name == "issuer_and_serial_number":
        sid_issuer = sid.chosen["issuer"].dump()
        sid_serial = int(sid.chosen["serial_number"])
    else:
        sid_ski = bytes(sid.chosen.native)
    sig_alg = si["signature_algorithm"]
    signature_oid = sig_alg["algorithm"].dotted
    pss = _pss(sig_alg["parameters"]) if signature_oid == "1.2.840.113549.1.1.10" else None
    attrs = si["signed_attrs"]
    signed_attrs_der = None
    counts: dict[str, int] = {}
    content_type_attr: str | None = None
    message_digest_attr: bytes | None = None
    ess: dict[str, tuple[EssCertId, ...]] = {}
    if not isinstance(attrs, core.Void):
        raw = attrs.dump()
        # The signature covers the EXPLICIT SET OF tag, not the [0] IMPLICIT one.
        signed_attrs_der = b"\x31" + raw[1:]
        for attr in attrs:
            oid = attr["type"].dotted
            counts[oid] = counts.get(oid, 0) + len(attr["values"])
            values = attr["values"]
            if oid == ID_CONTENT_TYPE and len(values) == 1:
                content_type_attr = values[0].dotted
            elif oid == ID_MESSAGE_DIGEST and len(values) == 1:
                message_digest_attr = bytes(values[0].native)
            elif oid in (ID_SIGNING_CERTIFICATE, ID_SIGNING_CERTIFICATE_V2) and len(values) == 1:
                ess[oid] = _ess_ids(values[0], v2=oid == ID_SIGNING_CERTIFICATE_V2)
    return ParsedSignerInfo(
        sid_issuer_der=sid_issuer,
        sid_serial=sid_serial,
        sid_key_identifier=sid_ski,
        digest_oid=si["digest_algorithm"]["algorithm"].dotted,
        signature_oid=signature_oid,
        pss=pss,
        signature=bytes(si["signature"].native),
        signed_attrs_der=signed_attrs_der,
        attribute_counts=tuple(sorted(counts.items())),
        content_type_attr=content_type_attr,
        message_digest_attr=message_digest_attr,
        signing_certificate=ess.get(ID_SIGNING_CERTIFICATE),
        signing_certificate_v2=ess.get(ID_SIGNING_CERTIFICATE_V2),
    )


def _ess_ids(
    value: tsp.SigningCertificate | tsp.SigningCertificateV2, *, v2: bool
) -> tuple[EssCertId, ...]:
    out = []
    for cert_id in value["certs"]:
        issuer_serial = cert_id["issuer_serial"]
        has_is = not isinstance(issuer_serial, core.Void)
        out.append(
            EssCertId(
                hash_oid=cert_id["hash_algorithm"]["algorithm"].dotted if v2 else _SHA1,
                cert_hash=bytes(cert_id["cert_hash"].native),
                issuer_names_der=tuple(
                    d for d in map(_directory_name, issuer_serial["issuer"]) if d is not None
                )
                if has_is
                else None,
                serial_number=int(issuer_serial["serial_number"]) if has_is else None,
            )
        )
    return tuple(out)


def _pss(params: algos.RSASSAPSSParams) -> PssParameters:
    if isinstance(params, core.Void):
        raise ValueError("RSASSA-PSS without parameters")
    mgf = params["mask_gen_algorithm"]
    if mgf["algorithm"].native != "mgf1":
        raise ValueError("RSASSA-PSS with a mask generation function other than MGF1")
    return PssParameters(
        hash_oid=params["hash_algorithm"]["algorithm"].dotted,
        mgf_hash_oid=mgf["parameters"]["algorithm"].dotted,
        salt_length=int(params["salt_length"]),
    )


__all__ = [
    "MAX_RESPONSE_BYTES",
    "EssCertId",
    "ParsedCertificate",
    "ParsedResponse",
    "ParsedSignerInfo",
    "ParsedToken",
    "parse_certificate",
    "parse_response",
    "parse_token",
]
