"""CMS SignedData builder and parser (trust.cms)."""

from __future__ import annotations

import datetime as dt
import hashlib

import cryptography.hazmat.asn1 as asn1
import pytest
from asn1crypto import cms as acms
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust import cms_asn1
from trust import cms_asn1 as oids
from trust.cms import (
    ID_CT_TST_INFO,
    ID_DATA,
    SignedAttribute,
    build_signed_data,
    decode_octets,
    decode_oid,
    decode_signing_certificate_v2,
    decode_time,
    parse_signed_data,
)
from trust.cms_asn1 import der_header
from trust.cms_parse import MAX_SIGNED_DATA_BYTES
from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import FileSigner, KeyAlgorithm
from trust.throwaway_pki import ThrowawayPki

T0 = dt.datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=dt.UTC)
CONTENT = b'{"id":"dossier-1","files":[]}'


def _build(pki: ThrowawayPki, **overrides: object) -> bytes:
    args: dict[str, object] = {
        "content": CONTENT,
        "content_type": ID_DATA,
        "signer": pki.seal.signer,
        "certificate": pki.seal.certificate,
        "detached": True,
        "signing_time": T0,
    }
    args.update(overrides)
    return build_signed_data(**args)  # type: ignore[arg-type]


def _verify_raw(pki: ThrowawayPki, data: bytes, signature: bytes) -> None:
    key = pki.seal.certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, data)
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


EXPECTED_ALGORITHMS = {
    KeyAlgorithm.EC_P256: (oids.ID_SHA256, oids.ID_ECDSA_WITH_SHA256, None),
    KeyAlgorithm.ED25519: (oids.ID_SHA512, oids.ID_ED25519, None),
    KeyAlgorithm.RSA_3072: (oids.ID_SHA256, oids.ID_SHA256_WITH_RSA, b"\x05\x00"),
}


def test_builds_detached_signed_data_that_parses_back(any_pki: ThrowawayPki) -> None:
    parsed = parse_signed_data(_build(any_pki))
    digest_oid, signature_oid, params = EXPECTED_ALGORITHMS[any_pki.seal.signer.algorithm]
    assert (parsed.version, parsed.signer_version) == (1, 1)
    assert parsed.econtent_type == ID_DATA and parsed.econtent is None
    assert parsed.digest_algorithms == (digest_oid,) and parsed.digest_algorithm == digest_oid
    assert parsed.signature_algorithm == signature_oid
    assert parsed.signature_parameters_der == params
    assert parsed.certificates == (any_pki.seal.certificate,)
    assert parsed.signer_certificate() == any_pki.seal.certificate
    assert parsed.signer_serial_number == any_pki.seal.certificate.serial_number
    assert parsed.signer_issuer_der == any_pki.seal.certificate.issuer.public_bytes()
    _verify_raw(any_pki, parsed.signed_attrs_der or b"", parsed.signature)


def test_signed_attributes_are_the_cades_b_set(any_pki: ThrowawayPki) -> None:
    parsed = parse_signed_data(_build(any_pki))
    assert {a.oid for a in parsed.signed_attributes} == {
        oids.ID_CONTENT_TYPE,
        oids.ID_MESSAGE_DIGEST,
        oids.ID_SIGNING_TIME,
        oids.ID_SIGNING_CERTIFICATE_V2,
    }
    digest_oid = EXPECTED_ALGORITHMS[any_pki.seal.signer.algorithm][0]
    hasher = hashlib.sha512 if digest_oid == oids.ID_SHA512 else hashlib.sha256
    (md,) = parsed.attribute(oids.ID_MESSAGE_DIGEST) or ()
    assert decode_octets(md) == hasher(CONTENT).digest()
    (ct,) = parsed.attribute(oids.ID_CONTENT_TYPE) or ()
    assert decode_oid(ct) == ID_DATA
    (when,) = parsed.attribute(oids.ID_SIGNING_TIME) or ()
    assert when[0] == 0x17  # UTCTime before 2050
    assert decode_time(when) == T0.replace(microsecond=0)
    (ess_value,) = parsed.attribute(oids.ID_SIGNING_CERTIFICATE_V2) or ()
    (ess,) = decode_signing_certificate_v2(ess_value)
    cert = any_pki.seal.certificate
    assert ess.hash_algorithm == oids.ID_SHA256
    assert ess.cert_hash == hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
    assert ess.serial_number == cert.serial_number
    assert ess.issuer_names_der == (cert.issuer.public_bytes(),)


def test_signed_attributes_are_der_sorted(pki: ThrowawayPki) -> None:
    signed = parse_signed_data(_build(pki)).signed_attrs_der or b""
    reencoded = acms.CMSAttributes.load(signed)
    encodings = [a.dump() for a in reencoded]
    assert encodings == sorted(encodings)
    assert len(encodings) == 4


def test_output_is_strict_der(any_pki: ThrowawayPki) -> None:
    sealed = _build(any_pki, chain=(any_pki.root.certificate,))
    # cryptography's declarative decoder refuses BER, unsorted SETs and non-minimal forms.
    decoded = asn1.decode_der(cms_asn1.ContentInfo, sealed)
    assert asn1.encode_der(decoded) == sealed


def test_independent_parser_reads_every_field(any_pki: ThrowawayPki) -> None:
    info = acms.ContentInfo.load(_build(any_pki, chain=(any_pki.root.certificate,)))
    native = info.native
    assert native["content_type"] == "signed_data"
    signer = native["content"]["signer_infos"][0]
    assert signer["sid"]["serial_number"] == any_pki.seal.certificate.serial_number
    attrs = {a["type"]: a["values"] for a in signer["signed_attrs"]}
    assert attrs["signing_time"] == [T0.replace(microsecond=0)]
    assert len(native["content"]["certificates"]) == 2


def test_chain_certificates_are_included_once(pki: ThrowawayPki) -> None:
    root = pki.root.certificate
    parsed = parse_signed_data(_build(pki, chain=(root, root)))
    assert sorted(c.serial_number for c in parsed.certificates) == sorted(
        [root.serial_number, pki.seal.certificate.serial_number]
    )
    assert parsed.signer_certificate() == pki.seal.certificate


def test_attached_content_and_version_3_for_other_content_types(pki: ThrowawayPki) -> None:
    attached = parse_signed_data(_build(pki, detached=False))
    assert attached.econtent == CONTENT and attached.version == 1
    token = parse_signed_data(_build(pki, content_type=ID_CT_TST_INFO, detached=False))
    assert token.version == 3  # RFC 5652 §5.1: eContentType other than id-data
    assert token.econtent_type == ID_CT_TST_INFO and token.econtent == CONTENT
    (ct,) = token.attribute(oids.ID_CONTENT_TYPE) or ()
    assert decode_oid(ct) == ID_CT_TST_INFO


def test_econtent_is_read_raw_even_when_asn1crypto_knows_its_type(pki: ThrowawayPki) -> None:
    import asn1crypto.tsp  # registers TSTInfo as the spec of id-ct-TSTInfo eContent

    assert asn1crypto.tsp.TSTInfo is not None
    token = parse_signed_data(_build(pki, content_type=ID_CT_TST_INFO, detached=False))
    assert token.econtent == CONTENT  # not a TSTInfo, yet returned as the octets it is


def test_signing_time_is_optional_and_generalized_after_2049(pki: ThrowawayPki) -> None:
    assert parse_signed_data(_build(pki, signing_time=None)).attribute(oids.ID_SIGNING_TIME) is None
    later = dt.datetime(2051, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    (value,) = (
        parse_signed_data(_build(pki, signing_time=later)).attribute(oids.ID_SIGNING_TIME) or ()
    )
    assert value[0] == 0x18 and decode_time(value) == later
    paris = dt.timezone(dt.timedelta(hours=1))
    (value,) = (
        parse_signed_data(_build(pki, signing_time=T0.astimezone(paris))).attribute(
            oids.ID_SIGNING_TIME
        )
        or ()
    )
    assert decode_time(value) == T0.replace(microsecond=0)


def test_naive_signing_time_is_refused(pki: ThrowawayPki) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _build(pki, signing_time=dt.datetime(2026, 1, 1))


def test_a_certificate_for_another_key_is_refused(pki: ThrowawayPki) -> None:
    with pytest.raises(KeyMaterialError, match="not the key"):
        _build(pki, signer=FileSigner.generate())


def test_extra_signed_attributes(pki: ThrowawayPki) -> None:
    extra = SignedAttribute("1.2.3.4.5", (b"\x0c\x05hello",))
    parsed = parse_signed_data(_build(pki, extra_signed_attributes=(extra,)))
    assert parsed.attribute("1.2.3.4.5") == (b"\x0c\x05hello",)
    _verify_raw(pki, parsed.signed_attrs_der or b"", parsed.signature)
    with pytest.raises(ValueError, match="itself"):
        _build(pki, extra_signed_attributes=(SignedAttribute(oids.ID_SIGNING_TIME, (b"",)),))
    with pytest.raises(ValueError):
        _build(pki, extra_signed_attributes=(SignedAttribute("1.2.3", (b"\x0c\x05hel",)),))
    with pytest.raises(ValueError, match="no value"):
        _build(pki, extra_signed_attributes=(SignedAttribute("1.2.3", ()),))


def test_cached_templates_follow_the_certificate() -> None:
    first = ThrowawayPki.create()
    second = ThrowawayPki.create()
    for _ in range(2):
        for pki in (first, second):
            parsed = parse_signed_data(_build(pki))
            assert parsed.signer_certificate() == pki.seal.certificate
            _verify_raw(pki, parsed.signed_attrs_der or b"", parsed.signature)
    wrong = parse_signed_data(_build(first))
    with pytest.raises(InvalidSignature):
        _verify_raw(second, wrong.signed_attrs_der or b"", wrong.signature)


# --- parser refusals -----------------------------------------------------------------


def test_parser_refuses_what_is_not_one_signed_data(pki: ThrowawayPki) -> None:
    good = _build(pki)
    with pytest.raises(MalformedInputError, match="expected bytes"):
        parse_signed_data("text")  # type: ignore[arg-type]
    with pytest.raises(MalformedInputError, match="larger than"):
        parse_signed_data(b"\x30" * (MAX_SIGNED_DATA_BYTES + 1))
    with pytest.raises(MalformedInputError):
        parse_signed_data(good + b"\x00")
    with pytest.raises(MalformedInputError):
        parse_signed_data(good[:-1])
    data = acms.ContentInfo({"content_type": "data", "content": b"x"}).dump()
    with pytest.raises(MalformedInputError, match="not a SignedData"):
        parse_signed_data(data)


def _tlv(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return der_header(tag, len(body)) + body


def _rebuilt(sealed: bytes, *, signer_infos: list[bytes]) -> bytes:
    """The same SignedData with other SignerInfos, assembled by hand.

    (asn1crypto's dump(force=True) fails on signing-certificate-v2 once
    asn1crypto.tsp is imported, so tests do not rely on it.)
    """
    signed = acms.ContentInfo.load(sealed)["content"]
    names = ("version", "digest_algorithms", "encap_content_info", "certificates")
    body = _tlv(0x30, *(signed[n].dump() for n in names), _tlv(0x31, *signer_infos))
    return _tlv(0x30, acms.ContentType("signed_data").dump(), _tlv(0xA0, body))


def test_parser_refuses_two_signers(pki: ThrowawayPki) -> None:
    sealed = _build(pki)
    signer = acms.ContentInfo.load(sealed)["content"]["signer_infos"][0].dump()
    assert parse_signed_data(_rebuilt(sealed, signer_infos=[signer])).signature
    with pytest.raises(MalformedInputError, match="exactly one"):
        parse_signed_data(_rebuilt(sealed, signer_infos=[signer, signer]))


def test_parser_refuses_duplicate_signed_attributes(pki: ThrowawayPki) -> None:
    sealed = _build(pki)
    si = acms.ContentInfo.load(sealed)["content"]["signer_infos"][0]
    attrs = [a.dump() for a in si["signed_attrs"]]
    twice = _tlv(
        0x30,
        si["version"].dump(),
        si["sid"].dump(),
        si["digest_algorithm"].dump(),
        _tlv(0xA0, *attrs, attrs[0]),
        si["signature_algorithm"].dump(),
        si["signature"].dump(),
    )
    with pytest.raises(MalformedInputError, match="twice"):
        parse_signed_data(_rebuilt(sealed, signer_infos=[twice]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_parser_on_random_bytes_raises_only_malformed(data: bytes) -> None:
    try:
        parse_signed_data(data)
    except MalformedInputError:
        pass


_FUZZ_PKI = ThrowawayPki.create()
_FUZZ_SEAL = _build(_FUZZ_PKI, chain=(_FUZZ_PKI.root.certificate,))


@st.composite
def _mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(_FUZZ_SEAL)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            del data[at:]
        if not data:
            break
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_parser_on_mutated_signed_data_raises_only_malformed(data: bytes) -> None:
    try:
        parsed = parse_signed_data(data)
    except MalformedInputError:
        return
    assert len(parsed.signed_attributes) <= 32
