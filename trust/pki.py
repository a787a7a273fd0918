"""A small PKI: a certificate authority, certificate profiles, and chain validation.

Used by the hub for enrollment (CSR → certificate) and by tests and the demo for
throwaway PKIs over several algorithms. The CA's private key is held in memory
(file keys); an HSM-held CA is not supported yet.

Chain validation (:func:`validate_chain`) checks signatures, validity periods at a
given time, basic constraints, key usage and extended key usage of the leaf for the
requested profile. It does NOT check revocation (no CRL or OCSP): the hub refuses
revoked gateway certificates itself.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import KeyAlgorithm, PrivateKey, PublicKey, generate_private_key
from trust.results import Check, VerificationResult

MAX_CHAIN_DEPTH = 6


class CertProfile(enum.Enum):
    ROOT_CA = "root-ca"
    INTERMEDIATE_CA = "intermediate-ca"
    TLS_SERVER = "tls-server"
    TLS_CLIENT = "tls-client"
    SEAL = "seal"
    TSA = "tsa"


_EKU: dict[CertProfile, tuple[x509.ObjectIdentifier, ...]] = {
    CertProfile.TLS_SERVER: (ExtendedKeyUsageOID.SERVER_AUTH,),
    CertProfile.TLS_CLIENT: (ExtendedKeyUsageOID.CLIENT_AUTH,),
    CertProfile.TSA: (ExtendedKeyUsageOID.TIME_STAMPING,),
}


def _hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _name(common_name: str, organization: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _key_usage(profile: CertProfile, public_key: PublicKey) -> x509.KeyUsage:
    ca = profile in (CertProfile.ROOT_CA, CertProfile.INTERMEDIATE_CA)
    seal = profile is CertProfile.SEAL
    tls = profile in (CertProfile.TLS_CLIENT, CertProfile.TLS_SERVER)
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=seal,
        key_encipherment=tls and isinstance(public_key, rsa.RSAPublicKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA: its certificate and the private key that signs what it issues."""

    certificate: x509.Certificate
    private_key: PrivateKey

    @classmethod
    def create_root(
        cls,
        common_name: str,
        *,
        organization: str | None = "Sceau",
        algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
        days: int = 3650,
        now: dt.datetime | None = None,
    ) -> CertificateAuthority:
        key = generate_private_key(algorithm)
        name = _name(common_name, organization)
        start = (now or _utcnow()) - dt.timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_key_usage(CertProfile.ROOT_CA, key.public_key()), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        return cls(builder.sign(key, _hash_for(key)), key)

    def issue(
        self,
        public_key: PublicKey,
        *,
        common_name: str,
        profile: CertProfile,
        organization: str | None = None,
        days: int = 825,
        now: dt.datetime | None = None,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
    ) -> x509.Certificate:
        """Issue a certificate for ``public_key`` with the extensions of ``profile``."""
        if profile is CertProfile.ROOT_CA:
            raise ValueError("use create_root for a root CA")
        start = (now or _utcnow()) - dt.timedelta(minutes=5)
        end = min(start + dt.timedelta(days=days), self.certificate.not_valid_after_utc)
        ca = profile is CertProfile.INTERMEDIATE_CA
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organization))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True
            )
            .add_extension(_key_usage(profile, public_key), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.certificate.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        if profile in _EKU:
            # RFC 3161 §2.3: the TSA's EKU extension MUST be critical.
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(list(_EKU[profile])), critical=profile is CertProfile.TSA
            )
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.private_key, _hash_for(self.private_key))

    def issue_from_csr(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        profile: CertProfile,
        common_name: str | None = None,
        organization: str | None = None,
        days: int = 825,
        now: dt.datetime | None = None,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
    ) -> x509.Certificate:
        """Issue from a CSR after checking its self-signature.

        The subject comes from the caller when given (the hub decides who a gateway
        is, not the CSR); otherwise from the CSR's common name.
        """
        if not csr.is_signature_valid:
            raise MalformedInputError("the CSR's signature does not verify")
        public_key = csr.public_key()
        if not isinstance(
            public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
        ):
            raise KeyMaterialError(f"unsupported CSR key type {type(public_key).__name__}")
        KeyAlgorithm.of(public_key)
        if common_name is None:
            cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if not cns:
                raise MalformedInputError("the CSR has no common name")
            common_name = str(cns[0].value)
        return self.issue(
            public_key,
            common_name=common_name,
            profile=profile,
            organization=organization,
            days=days,
            now=now,
            dns_names=dns_names,
            ip_addresses=ip_addresses,
        )

    def issue_intermediate(
        self,
        common_name: str,
        *,
        algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
        organization: str | None = "Sceau",
        days: int = 1825,
        now: dt.datetime | None = None,
    ) -> CertificateAuthority:
        key = generate_private_key(algorithm)
        cert = self.issue(
            key.public_key(),
            common_name=common_name,
            organization=organization,
            profile=CertProfile.INTERMEDIATE_CA,
            days=days,
            now=now,
        )
        return CertificateAuthority(cert, key)


def make_csr(
    private_key: PrivateKey, *, common_name: str, organization: str | None = None
) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name, organization))
    return builder.sign(private_key, _hash_for(private_key))


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certificates_pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(certificate_pem(c) for c in certs)


def load_certificates_pem(data: bytes, *, source: str = "input") -> list[x509.Certificate]:
    """Parse one or more PEM certificates; raise MalformedInputError with the source named."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise MalformedInputError(f"{source} holds no valid PEM certificate: {exc}") from exc
    return certs


def load_certificates_file(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read certificate file {path}: {exc.strerror}") from exc
    if b"-----BEGIN" not in data:
        try:
            return [x509.load_der_x509_certificate(data)]
        except ValueError as exc:
            raise MalformedInputError(f"{path} is neither PEM nor DER certificates") from exc
    return load_certificates_pem(data, source=str(path))


def verify_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True if ``issuer``'s key signed ``cert`` (signature only; nothing else)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _ext(
    cert: x509.Certificate, cls: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _build_path(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> list[x509.Certificate] | None:
    """Leaf first, trust anchor last; None when no path reaches an anchor."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN_DEPTH):
        for anchor in anchors:
            if current == anchor:
                return path
            if verify_issued_by(current, anchor):
                return [*path, anchor]
        nxt = next((c for c in pool if c not in path and verify_issued_by(current, c)), None)
        if nxt is None:
            return None
        path.append(nxt)
        current = nxt
    return None


def _profile_checks(leaf: x509.Certificate, profile: CertProfile) -> list[Check]:
    checks: list[Check] = []
    ku_ext = _ext(leaf, x509.KeyUsage)
    ku = ku_ext.value if ku_ext else None
    if profile is CertProfile.SEAL:
        ok = isinstance(ku, x509.KeyUsage) and (ku.content_commitment or ku.digital_signature)
        checks.append(
            Check(
                "key usage",
                ok,
                ""
                if ok
                else "the certificate may not sign (no digitalSignature or nonRepudiation)",
            )
        )
    wanted = _EKU.get(profile)
    if wanted:
        eku_ext = _ext(leaf, x509.ExtendedKeyUsage)
        have = (
            list(eku_ext.value)
            if eku_ext and isinstance(eku_ext.value, x509.ExtendedKeyUsage)
            else []
        )
        ok = all(w in have for w in wanted)
        name = wanted[0]._name
        checks.append(
            Check(
                "extended key usage",
                ok,
                "" if ok else f"the certificate lacks the {name} extended key usage",
            )
        )
        if profile is CertProfile.TSA:
            critical = bool(eku_ext and eku_ext.critical)
            only = ok and len(have) == 1
            checks.append(
                Check(
                    "TSA extended key usage is critical and sole",
                    critical and only,
                    ""
                    if critical and only
                    else "RFC 3161 §2.3 requires a critical EKU holding only timeStamping",
                )
            )
    return checks


def validate_chain(
    leaf: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    at_time: dt.datetime,
    intermediates: Sequence[x509.Certificate] = (),
    profile: CertProfile | None = None,
) -> VerificationResult:
    """Validate ``leaf`` up to one of ``anchors`` at ``at_time``.

    Checks: a signature path to an anchor, each certificate's validity period at
    ``at_time``, CA basic constraints and keyCertSign on issuers, and the leaf's key
    usage and EKU for ``profile``. Not checked: revocation, name constraints,
    certificate policies. A damaged certificate gives an INVALID result, never an
    exception.
    """
    if at_time.tzinfo is None:
        raise ValueError("at_time must be timezone-aware")
    try:
        return _validate_chain(
            leaf, anchors=anchors, at_time=at_time, intermediates=intermediates, profile=profile
        )
    except (
        ValueError,
        TypeError,
        UnsupportedAlgorithm,
        x509.ExtensionNotFound,
        x509.DuplicateExtension,
    ) as exc:
        return VerificationResult(
            "certificate chain",
            (Check("certificate is readable", False, f"damaged certificate: {exc}"),),
        )


def _validate_chain(
    leaf: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    at_time: dt.datetime,
    intermediates: Sequence[x509.Certificate],
    profile: CertProfile | None,
) -> VerificationResult:
    subject = leaf.subject.rfc4514_string()
    if not anchors:
        return VerificationResult(
            subject, (Check("trust anchor", False, "no trust anchor was given"),)
        )
    path = _build_path(leaf, intermediates, anchors)
    if path is None:
        return VerificationResult(
            subject,
            (
                Check(
                    "chain to a trust anchor",
                    False,
                    f"no signature path from '{subject}' (issuer '{leaf.issuer.rfc4514_string()}') to a given anchor",
                ),
            ),
        )
    checks = [
        Check("chain to a trust anchor", True, f"anchor '{path[-1].subject.rfc4514_string()}'")
    ]
    for cert in path:
        name = cert.subject.rfc4514_string()
        if not cert.not_valid_before_utc <= at_time <= cert.not_valid_after_utc:
            checks.append(
                Check(
                    "validity period",
                    False,
                    f"'{name}' is valid {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} to "
                    f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, not at {at_time:%Y-%m-%dT%H:%M:%SZ}",
                )
            )
    for issuer in path[1:]:
        bc = _ext(issuer, x509.BasicConstraints)
        ku = _ext(issuer, x509.KeyUsage)
        is_ca = bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca
        can_sign = ku is None or (isinstance(ku.value, x509.KeyUsage) and ku.value.key_cert_sign)
        if not (is_ca and can_sign):
            checks.append(
                Check(
                    "issuer is a CA",
                    False,
                    f"'{issuer.subject.rfc4514_string()}' is not a CA certificate",
                )
            )
    if len(checks) == 1:
        checks.append(
            Check(
                "validity period", True, f"every certificate valid at {at_time:%Y-%m-%dT%H:%M:%SZ}"
            )
        )
    if profile is not None:
        checks.extend(_profile_checks(leaf, profile))
    return VerificationResult(subject, tuple(checks))


def public_key_matches(cert: x509.Certificate, public_key: PublicKey) -> bool:
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return cert.public_key().public_bytes(enc, fmt) == public_key.public_bytes(enc, fmt)


__all__ = [
    "CertProfile",
    "CertificateAuthority",
    "certificate_pem",
    "certificates_pem",
    "load_certificates_file",
    "load_certificates_pem",
    "make_csr",
    "public_key_matches",
    "validate_chain",
    "verify_issued_by",
]
