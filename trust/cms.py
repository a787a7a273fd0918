"""CMS SignedData (RFC 5652): a fast builder, and the parser re-exported.

:func:`build_signed_data` encodes the structures declared in
:mod:`trust.cms_asn1` with cryptography's declarative ASN.1 API and signs with a
:class:`trust.keys.Signer`. What depends only on the signer and its certificate
(the issuer and serial number, the ESSCertIDv2, the certificate set, the
algorithm identifiers) is encoded once and cached, so a signature costs one
digest, two small encodings and one private-key operation; no asn1crypto
object is built.

Algorithms (``digestAlgorithm`` / ``signatureAlgorithm``):

- ECDSA P-256: SHA-256 / ecdsa-with-SHA256, no parameters (RFC 5754 §3.3);
- RSA: SHA-256 / sha256WithRSAEncryption, NULL parameters (RFC 5754 §3.2);
- Ed25519: SHA-512 / id-Ed25519, no parameters. RFC 8419 §3.1 requires SHA-512
  for the message digest when signed attributes are present; pyhanko accepts
  it. OpenSSL 3.0 cannot verify Ed25519 SignedData at all, whatever the digest
  ("eddsa_digest_signverify_init: invalid digest", openssl issue #11915).

The signed attributes are always DER-sorted; the signature covers their DER
encoding as a SET OF (RFC 5652 §5.4).

:func:`parse_signed_data` (from :mod:`trust.cms_parse`) decodes but verifies
nothing; see :mod:`trust.seal` for verification.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cryptography.hazmat.asn1 as asn1
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trust import cms_asn1 as der
from trust.cms_asn1 import ID_CT_TST_INFO, ID_DATA
from trust.cms_parse import (
    EssCertId,
    ParsedSignedData,
    SignedAttribute,
    decode_octets,
    decode_oid,
    decode_signing_certificate_v2,
    decode_time,
    parse_signed_data,
)
from trust.errors import KeyMaterialError
from trust.keys import KeyAlgorithm, Signer
from trust.pki import public_key_matches

_OID = x509.ObjectIdentifier
_OID_CONTENT_TYPE = _OID(der.ID_CONTENT_TYPE)
_OID_MESSAGE_DIGEST = _OID(der.ID_MESSAGE_DIGEST)
_OID_SIGNING_TIME = _OID(der.ID_SIGNING_TIME)
_OID_SIGNED_DATA = _OID(der.ID_SIGNED_DATA)

_BUILDER_ATTRIBUTES = frozenset(
    {der.ID_CONTENT_TYPE, der.ID_MESSAGE_DIGEST, der.ID_SIGNING_TIME, der.ID_SIGNING_CERTIFICATE_V2}
)


@dataclass(frozen=True)
class _Template:
    """What a signer and its certificate contribute to every SignedData."""

    digest: Callable[[bytes], bytes]
    digest_algorithms: asn1.SetOf[asn1.TLV]
    digest_algorithm: asn1.TLV
    signature_algorithm: asn1.TLV
    sid: asn1.TLV
    signing_certificate: der.Attribute
    certificates: asn1.SetOf[asn1.TLV]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def _algorithm_identifier(oid: str, *, null_parameters: bool = False) -> bytes:
    return asn1.encode_der(
        der.AlgorithmIdentifier(
            algorithm=_OID(oid), parameters=asn1.Null() if null_parameters else None
        )
    )


def _algorithms(algorithm: KeyAlgorithm) -> tuple[Callable[[bytes], bytes], bytes, bytes]:
    """(content digest, digestAlgorithm DER, signatureAlgorithm DER) for a key algorithm."""
    if algorithm is KeyAlgorithm.ED25519:
        return (
            _sha512,
            _algorithm_identifier(der.ID_SHA512),
            _algorithm_identifier(der.ID_ED25519),
        )
    if algorithm is KeyAlgorithm.RSA_3072:
        signature = _algorithm_identifier(der.ID_SHA256_WITH_RSA, null_parameters=True)
    else:
        signature = _algorithm_identifier(der.ID_ECDSA_WITH_SHA256)
    return _sha256, _algorithm_identifier(der.ID_SHA256), signature


def _make_template(
    signer: Signer, certificate: x509.Certificate, chain: Sequence[x509.Certificate]
) -> _Template:
    if not public_key_matches(certificate, signer.public_key()):
        raise KeyMaterialError(
            f"the signer's key is not the key of '{certificate.subject.rfc4514_string()}'",
            hint="Configure the certificate that was issued for this seal key.",
        )
    digest, digest_algorithm, signature_algorithm = _algorithms(signer.algorithm)
    cert_der = certificate.public_bytes(Encoding.DER)
    (issuer,) = der.tlvs([certificate.issuer.public_bytes()])
    serial = certificate.serial_number
    ess = der.SigningCertificateV2(
        certs=[
            der.EssCertIdV2(
                hash_algorithm=None,  # id-sha256, the DEFAULT
                cert_hash=hashlib.sha256(cert_der).digest(),
                issuer_serial=der.IssuerSerial(issuer=[issuer], serial_number=serial),
            )
        ],
        policies=None,
    )
    sid = der.IssuerAndSerialNumber(issuer=issuer, serial_number=serial)
    digest_tlv, signature_tlv, sid_tlv, ess_tlv = der.tlvs(
        [digest_algorithm, signature_algorithm, asn1.encode_der(sid), asn1.encode_der(ess)]
    )
    certs = der.der_set_order([cert_der, *(c.public_bytes(Encoding.DER) for c in chain)])
    return _Template(
        digest=digest,
        digest_algorithms=asn1.SetOf([digest_tlv]),
        digest_algorithm=digest_tlv,
        signature_algorithm=signature_tlv,
        sid=sid_tlv,
        signing_certificate=der.Attribute(
            attr_type=_OID(der.ID_SIGNING_CERTIFICATE_V2), attr_values=asn1.SetOf([ess_tlv])
        ),
        certificates=asn1.SetOf(der.tlvs(certs)),
    )


_MAX_CACHED = 64
# Keyed by object identity (cheap on the hot path); each entry keeps its objects
# alive, so an id cannot be reused by another object while it is cached.
_templates: dict[
    tuple[int, int, int],
    tuple[Signer, x509.Certificate, Sequence[x509.Certificate], _Template],
] = {}


def _template(
    signer: Signer, certificate: x509.Certificate, chain: Sequence[x509.Certificate]
) -> _Template:
    key = (id(signer), id(certificate), id(chain))
    hit = _templates.get(key)
    if hit is not None and hit[0] is signer and hit[1] is certificate and hit[2] is chain:
        return hit[3]
    template = _make_template(signer, certificate, chain)
    if len(_templates) >= _MAX_CACHED:
        _templates.clear()
    _templates[key] = (signer, certificate, chain, template)
    return template


@functools.lru_cache(maxsize=32)
def _content_type_parts(
    content_type: str,
) -> tuple[der.Attribute, der.EncapsulatedContentInfo, int]:
    oid = _OID(content_type)
    return (
        der.Attribute(attr_type=_OID_CONTENT_TYPE, attr_values=asn1.SetOf([oid])),
        der.EncapsulatedContentInfo(e_content_type=oid, e_content=None),
        1 if content_type == ID_DATA else 3,  # RFC 5652 §5.1: SignedData version
    )


@functools.lru_cache(maxsize=4)
def _signing_time_attribute(epoch_seconds: int) -> der.Attribute:
    when = dt.datetime.fromtimestamp(epoch_seconds, dt.UTC)
    # RFC 5652 §11.3: UTCTime from 1950 to 2049, GeneralizedTime otherwise.
    value = asn1.UTCTime(when) if 1950 <= when.year <= 2049 else asn1.GeneralizedTime(when)
    return der.Attribute(attr_type=_OID_SIGNING_TIME, attr_values=asn1.SetOf([value]))


def build_signed_data(
    *,
    content: bytes,
    content_type: str,
    signer: Signer,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    detached: bool,
    signing_time: dt.datetime | None,
    extra_signed_attributes: Sequence[SignedAttribute] = (),
) -> bytes:
    """Sign ``content`` and return a DER ContentInfo holding a SignedData.

    Signed attributes: content-type (``content_type``, a dotted OID, also the
    eContentType), message-digest, signing-time (when given; the fraction of a
    second is dropped), signing-certificate-v2 (one ESSCertIDv2 with SHA-256 and
    issuerSerial, RFC 5035), then ``extra_signed_attributes`` (values in DER).
    The signer is named by issuerAndSerialNumber (SignerInfo version 1). The
    certificates field holds ``certificate`` and ``chain``; ``detached`` leaves
    eContent out.

    Raises KeyMaterialError if the signer's key is not the certificate's, and
    ValueError for a naive ``signing_time``, an extra attribute the builder
    already writes, or an extra value that is not DER. Not checked: that
    ``certificate`` is valid now or may sign (verification does that).
    """
    template = _template(signer, certificate, chain)
    content_type_attribute, detached_info, version = _content_type_parts(content_type)
    attributes = [
        content_type_attribute,
        der.Attribute(
            attr_type=_OID_MESSAGE_DIGEST, attr_values=asn1.SetOf([template.digest(content)])
        ),
        template.signing_certificate,
    ]
    if signing_time is not None:
        if signing_time.utcoffset() is None:
            raise ValueError("signing_time must be timezone-aware")
        attributes.append(_signing_time_attribute(math.floor(signing_time.timestamp())))
    for extra in extra_signed_attributes:
        if extra.oid in _BUILDER_ATTRIBUTES:
            raise ValueError(f"the builder writes attribute {extra.oid} itself")
        if not extra.values:
            raise ValueError(f"attribute {extra.oid} has no value")  # RFC 5652 §5.3: SIZE(1..MAX)
        values: list[der.AttributeValue] = list(der.tlvs(extra.values))
        attributes.append(der.Attribute(attr_type=_OID(extra.oid), attr_values=asn1.SetOf(values)))
    signed_attrs = asn1.SetOf(attributes)
    signer_info = der.SignerInfo(
        version=1,  # RFC 5652 §5.3: the sid is an issuerAndSerialNumber
        sid=template.sid,
        digest_algorithm=template.digest_algorithm,
        signed_attrs=signed_attrs,
        signature_algorithm=template.signature_algorithm,
        # RFC 5652 §5.4: the signature covers the DER of the SET OF (tag 0x31).
        signature=signer.sign(asn1.encode_der(signed_attrs)),
    )
    signed_data = der.SignedData(
        version=version,
        digest_algorithms=template.digest_algorithms,
        encap_content_info=detached_info
        if detached
        else der.EncapsulatedContentInfo(e_content_type=_OID(content_type), e_content=content),
        certificates=template.certificates,
        signer_infos=asn1.SetOf([signer_info]),
    )
    return asn1.encode_der(der.ContentInfo(content_type=_OID_SIGNED_DATA, content=signed_data))


__all__ = [
    "ID_CT_TST_INFO",
    "ID_DATA",
    "EssCertId",
    "ParsedSignedData",
    "SignedAttribute",
    "build_signed_data",
    "decode_octets",
    "decode_oid",
    "decode_signing_certificate_v2",
    "decode_time",
    "parse_signed_data",
]
