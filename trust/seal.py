"""CAdES-B seals: detached CMS SignedData over manifest bytes.

A seal (:func:`seal`) signs the exact manifest bytes with the gateway's seal key:
content-type id-data, message-digest, signing-time and signing-certificate-v2
(ETSI EN 319 122-1 §5.2, CAdES-B-B), the certificate and its chain included, the
content left out. ``openssl cms -verify -binary -inform DER -in seal.p7s -content
manifest.json -CAfile root.pem`` accepts one made with an ECDSA or RSA key
(OpenSSL 3.0 cannot verify Ed25519 SignedData; pyhanko can).

:func:`verify_seal` returns a :class:`SealVerification`; for any seal bytes it
returns INVALID with reasons rather than raising. It raises only on misuse
(ValueError for a naive ``at_time``). It checks: the structure; a detached id-data
content; the content-type and message-digest attributes against the content;
signing-certificate-v2 against the signer's certificate; the signature over the
DER SET OF signed attributes; and the chain to ``anchors`` with
:func:`trust.pki.validate_chain` (profile SEAL) at ``at_time``, or else at the
signing time.

NOT checked: revocation (no CRL or OCSP), certificate policies, and that the
signing time is true. The signing time is the signer's own claim: without
``at_time`` a key that has expired could back-date a seal. Trusted time comes
from an RFC 3161 token (a checkpoint's); pass its genTime as ``at_time``.
Unsigned attributes, CRLs and any extra signed attributes are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from trust import cms_asn1 as oids
from trust.cms import (
    ParsedSignedData,
    build_signed_data,
    decode_octets,
    decode_oid,
    decode_signing_certificate_v2,
    decode_time,
    parse_signed_data,
)
from trust.errors import MalformedInputError
from trust.keys import Signer
from trust.pki import CertProfile, validate_chain
from trust.results import Check, VerificationResult

# Message digests a seal may use (RFC 5754 §2); SHA-1 and MD5 are refused.
_DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    oids.ID_SHA256: lambda b: hashlib.sha256(b).digest(),
    oids.ID_SHA384: lambda b: hashlib.sha384(b).digest(),
    oids.ID_SHA512: lambda b: hashlib.sha512(b).digest(),
}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    oids.ID_SHA256: hashes.SHA256(),
    oids.ID_SHA384: hashes.SHA384(),
    oids.ID_SHA512: hashes.SHA512(),
}
_ECDSA = {
    oids.ID_ECDSA_WITH_SHA256: oids.ID_SHA256,
    oids.ID_ECDSA_WITH_SHA384: oids.ID_SHA384,
    oids.ID_ECDSA_WITH_SHA512: oids.ID_SHA512,
}
_RSA = {
    oids.ID_SHA256_WITH_RSA: oids.ID_SHA256,
    oids.ID_SHA384_WITH_RSA: oids.ID_SHA384,
    oids.ID_SHA512_WITH_RSA: oids.ID_SHA512,
}
_NULL = b"\x05\x00"


@dataclass(frozen=True)
class SealVerification:
    """What :func:`verify_seal` found: the verdict with its reasons, and who sealed when."""

    result: VerificationResult
    signer_certificate: x509.Certificate | None
    subject: str  # the signer's subject (RFC 4514), or "" when it is unknown
    signing_time: dt.datetime | None  # the signer's claim; see the module docstring

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.result.reasons


def seal(
    content: bytes,
    *,
    signer: Signer,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    signing_time: dt.datetime,
) -> bytes:
    """Seal ``content`` (a manifest's exact bytes): a detached CAdES-B SignedData, DER.

    ``chain`` holds the intermediates to include (the root may be left out).
    Raises KeyMaterialError if the signer's key is not ``certificate``'s, and
    ValueError for a naive ``signing_time``. Does NOT check that ``certificate``
    is valid at ``signing_time`` or allowed to seal: verify_seal does.
    """
    return build_signed_data(
        content=content,
        content_type=oids.ID_DATA,
        signer=signer,
        certificate=certificate,
        chain=chain,
        detached=True,
        signing_time=signing_time,
    )


def _single(parsed: ParsedSignedData, oid: str, name: str) -> bytes | Check:
    """The one value of a signed attribute, or a failed check saying why there is none."""
    values = parsed.attribute(oid)
    if values is None:
        return Check(name, False, f"the {name} signed attribute is missing")
    if len(values) != 1:
        return Check(name, False, f"the {name} attribute has {len(values)} values, not 1")
    return values[0]


def _structure_check(parsed: ParsedSignedData) -> Check:
    # RFC 5652 §5.1, §5.3: the versions follow from the sid kind and the content type.
    signer_version = 1 if parsed.signer_key_identifier is None else 3
    version = 1 if parsed.econtent_type == oids.ID_DATA and signer_version == 1 else 3
    if (parsed.version, parsed.signer_version) != (version, signer_version):
        return Check(
            "structure",
            False,
            f"versions {parsed.version}/{parsed.signer_version}, expected {version}/{signer_version}",
        )
    if parsed.digest_algorithm not in parsed.digest_algorithms:
        return Check("structure", False, "the signer's digest algorithm is not in digestAlgorithms")
    return Check("structure", True, "one CMS SignedData signer")


def _detached_check(parsed: ParsedSignedData) -> Check:
    ok = parsed.econtent_type == oids.ID_DATA and parsed.econtent is None
    content = "absent" if parsed.econtent is None else "included"
    return Check("detached id-data content", ok, f"eContentType {parsed.econtent_type}, {content}")


def _content_type_check(parsed: ParsedSignedData) -> Check:
    value = _single(parsed, oids.ID_CONTENT_TYPE, "content-type")
    if isinstance(value, Check):
        return value
    try:
        found = decode_oid(value)
    except ValueError:
        return Check("content-type", False, "undecodable")
    # RFC 5652 §11.1: the attribute must equal eContentType.
    ok = found == parsed.econtent_type
    return Check("content-type", ok, "" if ok else f"attribute says {found}")


def _message_digest_check(parsed: ParsedSignedData, content: bytes) -> Check:
    value = _single(parsed, oids.ID_MESSAGE_DIGEST, "message-digest")
    if isinstance(value, Check):
        return value
    digest = _DIGESTS.get(parsed.digest_algorithm)
    if digest is None:
        return Check(
            "message-digest", False, f"digest algorithm {parsed.digest_algorithm} is not allowed"
        )
    try:
        ok = decode_octets(value) == digest(content)
    except ValueError:
        return Check("message-digest", False, "undecodable")
    return Check("message-digest", ok, "" if ok else "the content does not match the seal")


def _signing_certificate_check(parsed: ParsedSignedData, cert: x509.Certificate) -> Check:
    name = "signing-certificate-v2"
    value = _single(parsed, oids.ID_SIGNING_CERTIFICATE_V2, name)
    if isinstance(value, Check):
        return value
    try:
        cert_ids = decode_signing_certificate_v2(value)
    except ValueError as exc:
        return Check(name, False, f"undecodable: {exc}")
    if not cert_ids:
        return Check(name, False, "the attribute names no certificate")
    first = cert_ids[0]  # RFC 5035 §3: the first ESSCertIDv2 is the signer's
    digest = _DIGESTS.get(first.hash_algorithm)
    if digest is None:
        return Check(name, False, f"hash algorithm {first.hash_algorithm} is not allowed")
    if digest(cert.public_bytes(Encoding.DER)) != first.cert_hash:
        return Check(name, False, "the certificate hash does not match the signer's certificate")
    if first.serial_number is not None and (
        first.serial_number != cert.serial_number
        or first.issuer_names_der != (cert.issuer.public_bytes(),)
    ):
        return Check(name, False, "issuerSerial does not name the signer's certificate")
    return Check(name, True)


def _signature_check(parsed: ParsedSignedData, cert: x509.Certificate) -> Check:
    name = "signature"
    data = parsed.signed_attrs_der
    if data is None:
        return Check(name, False, "the seal has no signed attributes")
    algorithm, params, signature = (
        parsed.signature_algorithm,
        parsed.signature_parameters_der,
        parsed.signature,
    )
    try:
        key = cert.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm in _ECDSA and params is None:
            key.verify(signature, data, ec.ECDSA(_HASHES[_ECDSA[algorithm]]))
        elif isinstance(key, ed25519.Ed25519PublicKey) and algorithm == oids.ID_ED25519:
            if params is not None:
                return Check(name, False, "id-Ed25519 must have no parameters (RFC 8410 §3)")
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey) and params in (None, _NULL):
            # RFC 3370 §3.2: rsaEncryption takes its hash from the digestAlgorithm.
            hash_oid = (
                parsed.digest_algorithm
                if algorithm == oids.ID_RSA_ENCRYPTION
                else _RSA.get(algorithm)
            )
            if hash_oid not in _HASHES:
                return Check(name, False, f"signature algorithm {algorithm} is not allowed")
            key.verify(signature, data, padding.PKCS1v15(), _HASHES[hash_oid])
        else:
            return Check(
                name,
                False,
                f"signature algorithm {algorithm} does not fit the certificate's "
                f"{type(key).__name__.removesuffix('PublicKey')} key",
            )
    except InvalidSignature:
        return Check(name, False, "the signature does not verify with the signer's key")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return Check(name, False, f"cannot verify: {exc}")
    return Check(name, True)


def _signing_time(parsed: ParsedSignedData) -> tuple[dt.datetime | None, Check]:
    value = _single(parsed, oids.ID_SIGNING_TIME, "signing-time")
    if isinstance(value, Check):
        return None, value
    try:
        when = decode_time(value)
    except ValueError as exc:
        return None, Check("signing-time", False, f"undecodable: {exc}")
    return when, Check("signing-time", True, f"{when:%Y-%m-%dT%H:%M:%SZ} (claimed by the signer)")


def _chain_checks(
    cert: x509.Certificate,
    parsed: ParsedSignedData,
    anchors: Sequence[x509.Certificate],
    when: dt.datetime,
) -> tuple[Check, ...]:
    try:
        return validate_chain(
            cert,
            anchors=anchors,
            at_time=when,
            intermediates=[c for c in parsed.certificates if c is not cert],
            profile=CertProfile.SEAL,
        ).checks
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # A certificate that parses but whose extensions or algorithms do not.
        return (Check("chain", False, f"cannot validate: {exc}"),)


def verify_seal(
    seal_der: bytes,
    content: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    at_time: dt.datetime | None = None,
) -> SealVerification:
    """Verify a detached seal over ``content``; see the module docstring for what is checked.

    Never raises for bad seal bytes (they give INVALID); raises ValueError only
    for a naive ``at_time``.
    """
    if at_time is not None and at_time.utcoffset() is None:
        raise ValueError("at_time must be timezone-aware")
    try:
        parsed = parse_signed_data(seal_der)
    except MalformedInputError as exc:
        return SealVerification(
            VerificationResult("seal", (Check("structure", False, exc.message),)), None, "", None
        )
    checks = [
        _structure_check(parsed),
        _detached_check(parsed),
        _content_type_check(parsed),
        _message_digest_check(parsed, content),
    ]
    signing_time, time_check = _signing_time(parsed)
    checks.append(time_check)
    cert = parsed.signer_certificate()
    if cert is None:
        checks.append(Check("signer certificate", False, "the seal does not include it"))
        return SealVerification(VerificationResult("seal", tuple(checks)), None, "", signing_time)
    subject = cert.subject.rfc4514_string()
    checks.append(_signing_certificate_check(parsed, cert))
    checks.append(_signature_check(parsed, cert))
    when = at_time or signing_time
    if when is None:
        checks.append(Check("chain", False, "no signing time and no at_time to check it at"))
    else:
        checks += _chain_checks(cert, parsed, anchors, when)
    return SealVerification(VerificationResult(subject, tuple(checks)), cert, subject, signing_time)


__all__ = ["SealVerification", "seal", "verify_seal"]
