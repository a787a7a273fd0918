"""Offline verification of RFC 3161 time-stamp responses and tokens.

:func:`verify_timestamp_response` is what the bundle verifier calls on
``checkpoint.tsr``: given the exact bytes that were time-stamped and the trust
anchors, it *returns* a :class:`TimestampVerification` (a verdict with every
reason). It raises :class:`~trust.errors.MalformedInputError` only when the bytes
are not a TimeStampResp at all.

Checked, each as one named :class:`~trust.results.Check`:

- the PKIStatus is granted or grantedWithMods (RFC 3161 §2.4.2);
- the token is a SignedData holding one SignerInfo over a v1 TSTInfo;
- the message imprint equals the hash of the data (SHA-256/384/512 only);
- the nonce and the policy, when the caller expects them (the online client does);
- no critical TSTInfo extension is present (none is understood);
- the signed attributes: content-type is id-ct-TSTInfo and message-digest is the
  hash of the TSTInfo, each exactly once (RFC 5652 §5.3, §11);
- the signing-certificate (ESSCertID, RFC 2634) or signing-certificate-v2
  (ESSCertIDv2, RFC 5035/RFC 5816) attribute names the signer's certificate;
- the signature over the signed attributes (ECDSA, RSA PKCS#1 v1.5 or PSS,
  Ed25519; RSA keys of 2048 bits or more);
- a directoryName in TSTInfo's ``tsa`` field equals the certificate's subject;
- the TSA certificate's EKU is critical and only timeStamping (RFC 3161 §2.3),
  and its chain reaches one of the anchors with every certificate valid *at
  genTime* (:func:`trust.pki.validate_chain`).

Names (issuer, subject, TSA name) are compared as exact DER, not with the full
RFC 5280 §7.1 normalisation: a TSA that re-encodes its own names differently
would be refused.

NOT checked: revocation of the TSA or CA certificates (no CRL or OCSP); that
genTime is truthful (we trust the TSA for that); whether the algorithms were still
considered strong at verification time (no long-term archive or evidence record);
``tsa`` names other than a directoryName; the accuracy and ordering fields
(reported, not judged); the SignedData's version and digestAlgorithms set, and any
unsigned attributes (none of them is covered by the signature, and none changes
what the token proves).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from trust.pki import CertProfile, validate_chain
from trust.results import Check, VerificationResult
from trust.tsp_asn1 import (
    HASHES,
    ID_CT_TSTINFO,
    ID_KP_TIMESTAMPING,
    SHA256,
    TSP_VERSION,
    digest,
)
from trust.tsp_parse import (
    ParsedCertificate,
    ParsedSignerInfo,
    ParsedToken,
    parse_certificate,
    parse_response,
    parse_token,
)

_HASH_OBJECTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
# RFC 5758 §3.2 (ECDSA), RFC 4055 §5 (RSA), RFC 8410 §3 (Ed25519).
_ECDSA = {
    "1.2.840.10045.4.3.2": SHA256,
    "1.2.840.10045.4.3.3": "2.16.840.1.101.3.4.2.2",
    "1.2.840.10045.4.3.4": "2.16.840.1.101.3.4.2.3",
}
_RSA_PKCS1 = {
    "1.2.840.113549.1.1.11": SHA256,
    "1.2.840.113549.1.1.12": "2.16.840.1.101.3.4.2.2",
    "1.2.840.113549.1.1.13": "2.16.840.1.101.3.4.2.3",
}
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"  # some signers name the key type, not the scheme
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_RSA_PSS = "1.2.840.113549.1.1.10"
_ED25519 = "1.3.101.112"
_SHA1 = "1.3.14.3.2.26"
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class TimestampVerification:
    """The verdict on one time-stamp token, with what it says when it is valid.

    ``gen_time`` and the other values are those the token *claims*; trust them only
    when :attr:`ok` is true.
    """

    result: VerificationResult
    gen_time: dt.datetime | None = None
    tsa_subject: str | None = None
    serial_number: int | None = None
    policy: str | None = None
    token_der: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.result.reasons


def verify_timestamp_response(
    tsr: bytes,
    *,
    data: bytes,
    anchors: Sequence[x509.Certificate],
    certificates: Sequence[x509.Certificate] = (),
) -> TimestampVerification:
    """Verify a full TimeStampResp (``.tsr``) over ``data``, offline.

    ``certificates`` adds intermediates (or the TSA certificate, if the token does
    not carry it). Raises MalformedInputError only if ``tsr`` cannot be parsed.
    """
    response = parse_response(tsr)
    status = Check("status", response.granted, response.describe_status())
    if not response.granted or response.token is None:
        if response.granted:
            status = Check("status", False, "granted, but the response holds no token")
        return TimestampVerification(VerificationResult("time-stamp response", (status,)))
    found = check_token(
        response.token, imprint=_imprint_of(data), anchors=anchors, certificates=certificates
    )
    return _with_first(found, status)


def verify_timestamp_token(
    token: bytes,
    *,
    data: bytes,
    anchors: Sequence[x509.Certificate],
    certificates: Sequence[x509.Certificate] = (),
) -> TimestampVerification:
    """Verify a bare TimeStampToken (a CMS ContentInfo) over ``data``, offline."""
    return check_token(
        parse_token(token), imprint=_imprint_of(data), anchors=anchors, certificates=certificates
    )


def _imprint_of(data: bytes) -> Callable[[str], bytes | None]:
    return lambda oid: digest(oid, data) if oid in HASHES else None


def _with_first(found: TimestampVerification, check: Check) -> TimestampVerification:
    result = VerificationResult(found.result.subject, (check, *found.result.checks))
    return dataclasses.replace(found, result=result)


def check_token(
    token: ParsedToken,
    *,
    imprint: Callable[[str], bytes | None],
    anchors: Sequence[x509.Certificate],
    certificates: Sequence[x509.Certificate] = (),
    nonce: int | None = None,
    policy: str | None = None,
    require_embedded_certificate: bool = False,
) -> TimestampVerification:
    """Run every check on a parsed token.

    ``imprint`` maps the token's imprint hash OID to the digest expected for it, or
    None if that algorithm is not acceptable. ``nonce`` and ``policy``, when given,
    must be echoed exactly. With ``require_embedded_certificate`` (the request set
    certReq), the TSA certificate must be in the token itself (RFC 3161 §2.4.1).
    """
    checks = [_structure(token), _imprint(token, imprint)]
    if nonce is not None:
        ok = token.nonce == nonce
        checks.append(Check("nonce", ok, "" if ok else f"sent {nonce}, token has {token.nonce}"))
    if policy is not None:
        ok = token.policy == policy
        checks.append(Check("policy", ok, "" if ok else f"asked {policy}, got {token.policy}"))
    if token.critical_extensions:
        checks.append(
            Check(
                "extensions",
                False,
                "unknown critical TSTInfo extension(s) " + ", ".join(token.critical_extensions),
            )
        )
    pool = [c.certificate for c in token.certificates] + list(certificates)
    extra = [parse_certificate(c) for c in certificates]
    signer = token.signer_infos[0] if len(token.signer_infos) == 1 else None
    cert = _find_signer(signer, (*token.certificates, *extra)) if signer else None
    tsa_subject = cert.certificate.subject.rfc4514_string() if cert else None
    verification = TimestampVerification(
        VerificationResult(f"time-stamp token from '{tsa_subject or 'unknown TSA'}'"),
        token.gen_time,
        tsa_subject,
        token.serial_number,
        token.policy,
        token.token_der,
    )
    if signer is None or cert is None:
        detail = (
            "the token has no single SignerInfo"
            if signer is None
            else "the signer's certificate is neither in the token nor given"
        )
        checks.append(Check("TSA certificate", False, detail))
        return _finish(verification, checks)
    if require_embedded_certificate:
        ok = _find_signer(signer, token.certificates) is not None
        detail = "" if ok else "certReq was set, but the token does not carry the TSA certificate"
        checks.append(Check("certificate included", ok, detail))
    checks += _signed_attributes(token, signer)
    checks.append(_signing_certificate(signer, cert))
    checks.append(_signature(signer, cert.certificate))
    if token.tsa_directory_name_der is not None:
        ok = token.tsa_directory_name_der == cert.subject_der
        checks.append(
            Check("TSA name", ok, "" if ok else "TSTInfo's tsa name is not the signer's subject")
        )
    chain = validate_chain(
        cert.certificate,
        anchors=anchors,
        at_time=token.gen_time,
        intermediates=pool,
        profile=CertProfile.TSA,
    )
    checks += chain.checks
    if not any(c.name == "extended key usage" for c in chain.checks):
        checks.append(tsa_purpose(cert.certificate))
    return _finish(verification, checks)


def _finish(verification: TimestampVerification, checks: list[Check]) -> TimestampVerification:
    result = VerificationResult(verification.result.subject, tuple(checks))
    return dataclasses.replace(verification, result=result)


def tsa_purpose(cert: x509.Certificate) -> Check:
    """RFC 3161 §2.3: the EKU extension is critical and holds only id-kp-timeStamping."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return Check("TSA certificate purpose", False, "no extended key usage extension")
    usages = [u.dotted_string for u in ext.value]
    ok = ext.critical and usages == [ID_KP_TIMESTAMPING]
    detail = (
        ""
        if ok
        else f"EKU {', '.join(usages)} (critical: {ext.critical}); want only a critical timeStamping"
    )
    return Check("TSA certificate purpose", ok, detail)


def _structure(token: ParsedToken) -> Check:
    problems = []
    if token.econtent_type != ID_CT_TSTINFO:
        problems.append(f"encapsulated content type {token.econtent_type} is not id-ct-TSTInfo")
    if token.version != TSP_VERSION:
        problems.append(f"TSTInfo version {token.version}, expected 1")
    if len(token.signer_infos) != 1:
        problems.append(f"{len(token.signer_infos)} SignerInfos, expected exactly one")
    return Check("token structure", not problems, "; ".join(problems))


def _imprint(token: ParsedToken, expected: Callable[[str], bytes | None]) -> Check:
    wanted = expected(token.imprint_hash_oid)
    if wanted is None:
        return Check(
            "message imprint", False, f"unacceptable imprint hash {token.imprint_hash_oid}"
        )
    ok = secrets.compare_digest(wanted, token.imprint)
    detail = "" if ok else f"token covers {token.imprint.hex()}, data hashes to {wanted.hex()}"
    return Check("message imprint", ok, detail)


def _signed_attributes(token: ParsedToken, signer: ParsedSignerInfo) -> list[Check]:
    if signer.signed_attrs_der is None:
        return [Check("signed attributes", False, "absent (RFC 3161 §2.4.1 requires them)")]
    counts = dict(signer.attribute_counts)
    problems = [
        f"attribute {oid} appears {n} times" for oid, n in signer.attribute_counts if n != 1
    ]
    if signer.content_type_attr != ID_CT_TSTINFO:
        problems.append(f"content-type attribute is {signer.content_type_attr}")
    checks = [Check("content-type attribute", not problems, "; ".join(problems))]
    if signer.digest_oid not in HASHES:
        detail = f"unacceptable digest algorithm {signer.digest_oid}"
        return [*checks, Check("message-digest attribute", False, detail)]
    ok = (
        counts.get("1.2.840.113549.1.9.4") == 1
        and signer.message_digest_attr is not None
        and secrets.compare_digest(
            signer.message_digest_attr, digest(signer.digest_oid, token.tst_info_der)
        )
    )
    detail = "" if ok else "does not match the hash of the TSTInfo"
    return [*checks, Check("message-digest attribute", ok, detail)]


def _signing_certificate(signer: ParsedSignerInfo, cert: ParsedCertificate) -> Check:
    if not signer.signing_certificate and not signer.signing_certificate_v2:
        return Check(
            "signing certificate attribute",
            False,
            "no signing-certificate(-v2) attribute (RFC 3161 §2.4.1, RFC 5816 §2.2.1)",
        )
    problems = []
    for ids in (signer.signing_certificate, signer.signing_certificate_v2):
        if ids is None:
            continue
        if not ids:
            problems.append("an empty ESSCertID list")
            continue
        first = ids[0]
        if first.hash_oid == _SHA1:
            actual = hashlib.sha1(cert.der, usedforsecurity=False).digest()
        elif first.hash_oid in HASHES:
            actual = digest(first.hash_oid, cert.der)
        else:
            problems.append(f"unacceptable ESSCertID hash {first.hash_oid}")
            continue
        if not secrets.compare_digest(actual, first.cert_hash):
            problems.append("the ESSCertID hash is not the signer certificate's")
        if first.serial_number is not None and (
            first.serial_number != cert.serial_number
            or not any(name == cert.issuer_der for name in first.issuer_names_der or ())
        ):
            problems.append("the ESSCertID issuerSerial does not name the signer certificate")
    return Check("signing certificate attribute", not problems, "; ".join(problems))


def _signature(signer: ParsedSignerInfo, cert: x509.Certificate) -> Check:
    assert signer.signed_attrs_der is not None
    key = cert.public_key()
    data, sig, oid = signer.signed_attrs_der, signer.signature, signer.signature_oid
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            hash_oid = _ECDSA.get(oid, signer.digest_oid if oid == _EC_PUBLIC_KEY else "")
            key.verify(sig, data, ec.ECDSA(_hash(hash_oid)))
        elif isinstance(key, ed25519.Ed25519PublicKey) and oid == _ED25519:
            key.verify(sig, data)
        elif isinstance(key, rsa.RSAPublicKey):
            if key.key_size < MIN_RSA_BITS:
                return Check("signature", False, f"RSA key of {key.key_size} bits is too short")
            if oid == _RSA_PSS and signer.pss is not None:
                pss = signer.pss
                pad: padding.AsymmetricPadding = padding.PSS(
                    padding.MGF1(_hash(pss.mgf_hash_oid)), pss.salt_length
                )
                key.verify(sig, data, pad, _hash(pss.hash_oid))
            else:
                hash_oid = _RSA_PKCS1.get(oid, signer.digest_oid if oid == _RSA_ENCRYPTION else "")
                key.verify(sig, data, padding.PKCS1v15(), _hash(hash_oid))
        else:
            return Check("signature", False, f"algorithm {oid} does not fit the TSA's key")
    except _UnacceptableHash as exc:
        return Check("signature", False, f"algorithm {oid} with unacceptable hash {exc}")
    except (InvalidSignature, ValueError):
        return Check("signature", False, "the signature over the signed attributes is invalid")
    return Check("signature", True, "")


class _UnacceptableHash(Exception):
    pass


def _hash(oid: str) -> hashes.HashAlgorithm:
    if oid not in _HASH_OBJECTS:
        raise _UnacceptableHash(oid or "(none)")
    return _HASH_OBJECTS[oid]()


def _find_signer(
    signer: ParsedSignerInfo, certs: Sequence[ParsedCertificate]
) -> ParsedCertificate | None:
    for cert in certs:
        if signer.sid_key_identifier is not None:
            if cert.subject_key_identifier == signer.sid_key_identifier:
                return cert
        elif cert.serial_number == signer.sid_serial and cert.issuer_der == signer.sid_issuer_der:
            return cert
    return None


__all__ = [
    "TimestampVerification",
    "check_token",
    "tsa_purpose",
    "verify_timestamp_response",
    "verify_timestamp_token",
]
