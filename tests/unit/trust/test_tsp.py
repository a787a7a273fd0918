"""The RFC 3161 client and offline verifier: what they accept, and every way they refuse.

Good and bad tokens come from our responder (in process or over loopback HTTP);
subtler forgeries are made by editing a real token with asn1crypto and signing it
again with the TSA's own key, so that only the intended defect remains. pyHanko
and rfc3161-client judge the same tokens as a cross-check.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import hashlib
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext
from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

from tests.loopback_http import closed_port, serve, tsa_handler
from trust.errors import MalformedInputError, TimestampAuthorityError
from trust.keys import FileSigner, KeyAlgorithm
from trust.pki import CertProfile
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import (
    AiohttpTimeStamper,
    HttpTimeStamper,
    InProcessTimeStamper,
    TimeStamper,
    TimestampToken,
)
from trust.tsp_asn1 import SHA512, PKIStatus, PKIStatusInfo, time_stamp_resp
from trust.tsp_parse import parse_response
from trust.tsp_request import TimestampRequest
from trust.tsp_verify import verify_timestamp_response, verify_timestamp_token

DATA = b"origin\n42\nbase64root\n"
Responder = Callable[[bytes], bytes]


def _tsa(pki: ThrowawayPki, **kw: Any) -> TimeStampAuthority:
    return TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate, **kw)


def _stamper(pki: ThrowawayPki, responder: Responder, **kw: Any) -> InProcessTimeStamper:
    return InProcessTimeStamper(responder=responder, anchors=[pki.root.certificate], **kw)


def _refusal(stamper: TimeStamper, data: bytes = DATA) -> str:
    with pytest.raises(TimestampAuthorityError) as caught:
        stamper.timestamp(data)
    return caught.value.diagnostics()


def _edit_request(request_der: bytes, **fields: object) -> bytes:
    req = tsp.TimeStampReq.load(request_der)
    for name, value in fields.items():
        req[name] = value
    return req.dump(force=True)


def _token_of(tsr: bytes) -> bytes:
    token = parse_response(tsr).token
    assert token is not None
    return token.token_der


def _resign(
    token_der: bytes,
    signer: FileSigner,
    *,
    attributes: Callable[[list[cms.CMSAttribute]], list[cms.CMSAttribute]] = lambda a: a,
    tst_info: Callable[[tsp.TSTInfo], None] | None = None,
    signature: Callable[[cms.SignerInfo, bytes], bytes] | None = None,
) -> bytes:
    """Edit a token, fix its message-digest if the TSTInfo changed, and sign it again."""
    info = cms.ContentInfo.load(token_der)
    signed_data = info["content"]
    signer_info = signed_data["signer_infos"][0]
    attrs = list(signer_info["signed_attrs"])
    if tst_info is not None:
        parsed = signed_data["encap_content_info"]["content"].parsed
        tst_info(parsed)
        tst_der = parsed.dump(force=True)
        signed_data["encap_content_info"] = {
            "content_type": "tst_info",
            "content": core.ParsableOctetString(tst_der),
        }
        digest = hashlib.new(signer_info["digest_algorithm"]["algorithm"].native, tst_der)
        attrs = [
            cms.CMSAttribute({"type": "message_digest", "values": [digest.digest()]})
            if a["type"].native == "message_digest"
            else a
            for a in attrs
        ]
    signer_info["signed_attrs"] = cms.CMSAttributes(attributes(attrs))
    to_sign = b"\x31" + signer_info["signed_attrs"].dump(force=True)[1:]
    signer_info["signature"] = (
        signature(signer_info, to_sign) if signature else signer.sign(to_sign)
    )
    return info.dump(force=True)


def _verify_token(pki: ThrowawayPki, token: bytes, **kw: Any) -> tuple[str, ...]:
    verdict = verify_timestamp_token(token, data=DATA, anchors=[pki.root.certificate], **kw)
    return verdict.reasons


def _pyhanko(pki: ThrowawayPki, token: bytes) -> dict[str, Any]:
    root = asn1_x509.Certificate.load(pki.root.certificate.public_bytes(Encoding.DER))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    signed_data = cms.ContentInfo.load(token)["content"]
    status: dict[str, Any] = asyncio.run(
        validate_tst_signed_data(signed_data, context, lambda alg: hashlib.new(alg, DATA).digest())
    )
    return status


def _rfc3161_client(pki: ThrowawayPki, tsr: bytes) -> str:
    verifier = VerifierBuilder().add_root_certificate(pki.root.certificate).build()
    try:
        verifier.verify_message(decode_timestamp_response(tsr), DATA)
    except VerificationError as exc:
        return str(exc)
    return "ok"


# --- the good path --------------------------------------------------------------------


def test_round_trip(any_pki: ThrowawayPki) -> None:
    answers: list[bytes] = []
    tsa = _tsa(any_pki)

    def responder(request: bytes) -> bytes:
        answers.append(tsa.respond(request))
        return answers[-1]

    before = dt.datetime.now(dt.UTC)
    token = _stamper(any_pki, responder).timestamp(DATA)

    assert token.response_der == answers[0]  # the .tsr is kept verbatim
    assert token.token_der == _token_of(answers[0])
    assert before <= token.gen_time <= dt.datetime.now(dt.UTC)
    assert token.tsa_name == any_pki.tsa.certificate.subject.rfc4514_string()
    assert token.policy == tsa.policy
    assert token.message_imprint == hashlib.sha256(DATA).digest()
    assert token.accuracy == dt.timedelta(seconds=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.gen_time = before  # type: ignore[misc]
    offline = verify_timestamp_response(
        token.response_der, data=DATA, anchors=[any_pki.root.certificate]
    )
    assert offline.ok, offline.reasons
    assert (offline.gen_time, offline.serial_number) == (token.gen_time, token.serial_number)
    assert offline.tsa_subject == token.tsa_name
    assert not verify_timestamp_response(
        token.response_der, data=DATA + b"x", anchors=[any_pki.root.certificate]
    ).ok


def test_pyhanko_agrees(any_pki: ThrowawayPki) -> None:
    token = _stamper(any_pki, _tsa(any_pki).respond).timestamp(DATA)
    status = _pyhanko(any_pki, token.token_der)
    assert status["intact"] and status["valid"]
    assert status["trust_problem_indic"] is None
    assert status["timestamp"] == token.gen_time


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_3072])
def test_rfc3161_client_agrees(
    make_pki: Callable[..., ThrowawayPki], algorithm: KeyAlgorithm, pki: ThrowawayPki
) -> None:
    p = pki if algorithm is KeyAlgorithm.EC_P256 else make_pki(algorithm)
    token = _stamper(p, _tsa(p).respond).timestamp(DATA)
    assert _rfc3161_client(p, token.response_der) == "ok"


def test_request_shape(pki: ThrowawayPki) -> None:
    stamper = _stamper(pki, _tsa(pki).respond)
    first, second = stamper.request_for(DATA), stamper.request_for(DATA)
    parsed = tsp.TimeStampReq.load(first.der).native
    assert parsed["version"] == "v1"
    assert parsed["message_imprint"]["hash_algorithm"]["algorithm"] == "sha256"
    assert parsed["message_imprint"]["hashed_message"] == hashlib.sha256(DATA).digest()
    assert parsed["cert_req"] is True
    assert parsed["req_policy"] is None
    assert 0 <= parsed["nonce"] < 2**64 and first.nonce == parsed["nonce"]
    assert first.nonce != second.nonce
    with_policy = _stamper(pki, _tsa(pki).respond, policy="1.2.3.4").request_for(DATA)
    assert tsp.TimeStampReq.load(with_policy.der)["req_policy"].dotted == "1.2.3.4"


def test_timestamp_digest_and_policy(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    token = _stamper(pki, tsa.respond, policy=tsa.policy).timestamp_digest(
        hashlib.sha256(DATA).digest()
    )
    assert token.message_imprint == hashlib.sha256(DATA).digest()


def test_intermediate_given_by_the_caller(pki: ThrowawayPki) -> None:
    issuing = pki.root.issue_intermediate("TSA issuing CA")
    signer = FileSigner.generate()
    cert = issuing.issue(signer.public_key(), common_name="TSA 2", profile=CertProfile.TSA)
    tsa = TimeStampAuthority(signer=signer, certificate=cert)  # sends no chain
    assert "chain to a trust anchor" in _refusal(_stamper(pki, tsa.respond))
    token = _stamper(pki, tsa.respond, certificates=[issuing.certificate]).timestamp(DATA)
    assert token.tsa_name == "CN=TSA 2"


def test_stamper_needs_anchors(pki: ThrowawayPki) -> None:
    with pytest.raises(ValueError, match="trust anchor"):
        InProcessTimeStamper(responder=_tsa(pki).respond, anchors=[])


# --- the TSA certificate ------------------------------------------------------------


def _tsa_with_eku(
    pki: ThrowawayPki, usages: list[x509.ObjectIdentifier] | None, *, critical: bool
) -> TimeStampAuthority:
    signer = FileSigner.generate()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=odd TSA"))
        .issuer_name(pki.root.certificate.subject)
        .public_key(signer.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=critical)
    cert = builder.sign(pki.root.private_key, hashes.SHA256())  # type: ignore[arg-type]
    return TimeStampAuthority(signer=signer, certificate=cert, unsafe_allow_any_certificate=True)


@pytest.mark.parametrize(
    ("usages", "critical", "reason"),
    [
        (None, False, "lacks the timeStamping extended key usage"),
        ([ExtendedKeyUsageOID.CODE_SIGNING], True, "lacks the timeStamping extended key usage"),
        ([ExtendedKeyUsageOID.TIME_STAMPING], False, "critical EKU holding only timeStamping"),
        (
            [ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.SERVER_AUTH],
            True,
            "critical EKU holding only timeStamping",
        ),
    ],
    ids=["no-eku", "other-eku", "non-critical", "not-sole"],
)
def test_tsa_certificate_purpose(
    pki: ThrowawayPki, usages: list[x509.ObjectIdentifier] | None, critical: bool, reason: str
) -> None:
    tsa = _tsa_with_eku(pki, usages, critical=critical)
    assert reason in _refusal(_stamper(pki, tsa.respond))
    tsr = tsa.respond(TimestampRequest.for_data(DATA).der)
    offline = verify_timestamp_response(tsr, data=DATA, anchors=[pki.root.certificate])
    assert any(reason in r for r in offline.reasons)
    # Everything else about the token is fine: only the purpose fails.
    assert all("extended key usage" in r for r in offline.reasons)


def test_seal_certificate_is_no_tsa(pki: ThrowawayPki) -> None:
    tsa = TimeStampAuthority(
        signer=pki.seal.signer, certificate=pki.seal.certificate, unsafe_allow_any_certificate=True
    )
    token = _token_of(tsa.respond(TimestampRequest.for_data(DATA).der))
    assert any("timeStamping" in r for r in _verify_token(pki, token))
    # pyHanko's TST validation checks the key usage too: it does not vouch for it either.
    status = _pyhanko(pki, token)
    assert not (status["valid"] and status["trust_problem_indic"] is None)


def test_unanchored_chain(pki: ThrowawayPki, make_pki: Callable[..., ThrowawayPki]) -> None:
    stranger = make_pki()
    assert "chain to a trust anchor" in _refusal(_stamper(pki, _tsa(stranger).respond))
    status = _pyhanko(pki, _token_of(_tsa(stranger).respond(TimestampRequest.for_data(DATA).der)))
    assert status["trust_problem_indic"] is not None


@pytest.mark.parametrize("side", ["after", "before"])
def test_gen_time_outside_certificate_validity(pki: ThrowawayPki, side: str) -> None:
    cert = pki.tsa.certificate
    when = (
        cert.not_valid_after_utc + dt.timedelta(days=1)
        if side == "after"
        else cert.not_valid_before_utc - dt.timedelta(seconds=1)
    )
    tsa = _tsa(pki)
    stamper = _stamper(pki, lambda req: tsa.respond(req, now=when), max_clock_skew=None)
    reasons = _refusal(stamper)
    assert "validity period" in reasons and f"not at {when:%Y-%m-%dT%H:%M:%SZ}" in reasons


def test_clock_skew(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    late = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    responder: Responder = lambda req: tsa.respond(req, now=late)  # noqa: E731
    assert "clock skew" in _refusal(_stamper(pki, responder))
    assert _stamper(pki, responder, max_clock_skew=dt.timedelta(hours=2)).timestamp(DATA)


# --- the answer does not fit the question -------------------------------------------


def test_wrong_nonce(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    reasons = _refusal(_stamper(pki, lambda req: tsa.respond(_edit_request(req, nonce=7))))
    assert "nonce: sent" in reasons and "token has 7" in reasons


def test_missing_nonce(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    reasons = _refusal(_stamper(pki, lambda req: tsa.respond(_edit_request(req, nonce=None))))
    assert "token has None" in reasons


def test_wrong_imprint(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    other = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"\x01" * 32}
    edit = lambda req: tsa.respond(_edit_request(req, message_imprint=other))  # noqa: E731
    assert "message imprint: token covers 0101" in _refusal(_stamper(pki, edit))


def test_wrong_imprint_algorithm(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    other = {"hash_algorithm": {"algorithm": "sha512"}, "hashed_message": b"\x01" * 64}
    edit = lambda req: tsa.respond(_edit_request(req, message_imprint=other))  # noqa: E731
    assert f"unacceptable imprint hash {SHA512}" in _refusal(_stamper(pki, edit))


def test_wrong_policy(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    # The TSA ignores (here: never sees) the policy we asked for.
    responder: Responder = lambda req: tsa.respond(_edit_request(req, req_policy=None))  # noqa: E731
    assert "policy: asked 1.2.3.4" in _refusal(_stamper(pki, responder, policy="1.2.3.4"))


def test_certificate_withheld_despite_cert_req(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    responder: Responder = lambda req: tsa.respond(_edit_request(req, cert_req=False))  # noqa: E731
    reasons = _refusal(_stamper(pki, responder, certificates=[pki.tsa.certificate]))
    assert "certificate included: certReq was set" in reasons
    assert "neither in the token nor given" in _refusal(_stamper(pki, responder))


# --- the TSA says no, or says nonsense ----------------------------------------------


def test_refusal_is_reported_with_the_fail_info(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki, hash_algorithms=frozenset({SHA512}))
    text = _refusal(_stamper(pki, tsa.respond))
    assert "refused the request: rejection: failInfo bad_alg" in text
    assert "does not accept SHA-256" in text


def test_unoffered_policy_is_refused(pki: ThrowawayPki) -> None:
    text = _refusal(_stamper(pki, _tsa(pki).respond, policy="1.2.3.4"))
    assert "unaccepted_policy" in text and "policy OID" in text


def test_granted_without_token(pki: ThrowawayPki) -> None:
    status = PKIStatusInfo(status=PKIStatus.GRANTED, status_string=None, fail_info=None)
    empty = time_stamp_resp(asn1.encode_der(status))
    assert "sent no token" in _refusal(_stamper(pki, lambda _: empty))
    offline = verify_timestamp_response(empty, data=DATA, anchors=[pki.root.certificate])
    assert offline.reasons == ("status: granted, but the response holds no token",)


@pytest.mark.parametrize("answer", [b"", b"<html>502 Bad Gateway</html>", b"\x30\x00"])
def test_garbage_answer(pki: ThrowawayPki, answer: bytes) -> None:
    assert "not an RFC 3161 response" in _refusal(_stamper(pki, lambda _: answer))
    with pytest.raises(MalformedInputError):
        verify_timestamp_response(answer, data=DATA, anchors=[pki.root.certificate])


def test_offline_rejection_is_a_result(pki: ThrowawayPki) -> None:
    tsr = _tsa(pki).respond(b"junk")
    offline = verify_timestamp_response(tsr, data=DATA, anchors=[pki.root.certificate])
    assert offline.reasons == (
        "status: rejection: failInfo bad_data_format: 'not a DER TimeStampReq (RFC 3161 §2.4.1)'",
    )
    assert offline.gen_time is None


# --- forged and damaged tokens ------------------------------------------------------


@pytest.fixture
def token(pki: ThrowawayPki) -> bytes:
    return _token_of(_tsa(pki).respond(TimestampRequest.for_data(DATA).der))


def test_resigning_alone_changes_nothing(pki: ThrowawayPki, token: bytes) -> None:
    assert _verify_token(pki, _resign(token, pki.tsa.signer)) == ()


def test_tampered_signature(pki: ThrowawayPki, token: bytes) -> None:
    sig = cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].native
    at = token.rindex(sig) + 10
    damaged = token[:at] + bytes([token[at] ^ 1]) + token[at + 1 :]
    assert _verify_token(pki, damaged) == (
        "signature: the signature over the signed attributes is invalid",
    )
    assert not _pyhanko(pki, damaged)["valid"]


def test_tampered_tstinfo(pki: ThrowawayPki, token: bytes) -> None:
    tst = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].contents
    at = token.index(tst) + len(tst) - 40  # inside genTime, accuracy or the TSA name
    damaged = token[:at] + bytes([token[at] ^ 0x01]) + token[at + 1 :]
    reasons = _verify_token(pki, damaged)
    assert "message-digest attribute: does not match the hash of the TSTInfo" in reasons
    assert not _pyhanko(pki, damaged)["intact"]


def test_signing_certificate_hash_mismatch(pki: ThrowawayPki, token: bytes) -> None:
    def wrong_hash(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        ess = tsp.SigningCertificateV2({"certs": [{"cert_hash": b"\x00" * 32}]})
        return [
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]})
            if a["type"].native == "signing_certificate_v2"
            else a
            for a in attrs
        ]

    assert _verify_token(pki, _resign(token, pki.tsa.signer, attributes=wrong_hash)) == (
        "signing certificate attribute: the ESSCertID hash is not the signer certificate's",
    )


def test_signing_certificate_issuer_serial_mismatch(pki: ThrowawayPki, token: bytes) -> None:
    cert_der = pki.tsa.certificate.public_bytes(Encoding.DER)
    issuer = asn1_x509.Certificate.load(cert_der).issuer

    def wrong_serial(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(cert_der).digest(),
                        "issuer_serial": {
                            "issuer": [asn1_x509.GeneralName("directory_name", issuer)],
                            "serial_number": 12345,
                        },
                    }
                ]
            }
        )
        return [
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]})
            if a["type"].native == "signing_certificate_v2"
            else a
            for a in attrs
        ]

    assert _verify_token(pki, _resign(token, pki.tsa.signer, attributes=wrong_serial)) == (
        "signing certificate attribute: the ESSCertID issuerSerial does not name the signer certificate",
    )


def test_ess_cert_id_v1_is_accepted(pki: ThrowawayPki, token: bytes) -> None:
    cert_der = pki.tsa.certificate.public_bytes(Encoding.DER)

    def to_v1(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        sha1 = hashlib.sha1(cert_der, usedforsecurity=False).digest()
        ess = tsp.SigningCertificate({"certs": [{"cert_hash": sha1}]})
        kept = [a for a in attrs if a["type"].native != "signing_certificate_v2"]
        return [*kept, cms.CMSAttribute({"type": "signing_certificate", "values": [ess]})]

    assert _verify_token(pki, _resign(token, pki.tsa.signer, attributes=to_v1)) == ()


def test_missing_signing_certificate(pki: ThrowawayPki, token: bytes) -> None:
    def drop(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        return [a for a in attrs if a["type"].native != "signing_certificate_v2"]

    reasons = _verify_token(pki, _resign(token, pki.tsa.signer, attributes=drop))
    assert reasons == (
        "signing certificate attribute: no signing-certificate(-v2) attribute (RFC 3161 §2.4.1, RFC 5816 §2.2.1)",
    )


def test_wrong_content_type_attribute(pki: ThrowawayPki, token: bytes) -> None:
    def to_data(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        return [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]})
            if a["type"].native == "content_type"
            else a
            for a in attrs
        ]

    reasons = _verify_token(pki, _resign(token, pki.tsa.signer, attributes=to_data))
    assert reasons == ("content-type attribute: content-type attribute is 1.2.840.113549.1.7.1",)


def test_critical_tstinfo_extension(pki: ThrowawayPki, token: bytes) -> None:
    def add_extension(tst: tsp.TSTInfo) -> None:
        tst["extensions"] = [{"extn_id": "1.2.3.4.5", "critical": True, "extn_value": b"\x05\x00"}]

    reasons = _verify_token(pki, _resign(token, pki.tsa.signer, tst_info=add_extension))
    assert reasons == ("extensions: unknown critical TSTInfo extension(s) 1.2.3.4.5",)


def test_tsa_name_mismatch(pki: ThrowawayPki, token: bytes) -> None:
    def rename(tst: tsp.TSTInfo) -> None:
        name = asn1_x509.Name.build({"common_name": "Someone else"})
        tst["tsa"] = asn1_x509.GeneralName("directory_name", name)

    reasons = _verify_token(pki, _resign(token, pki.tsa.signer, tst_info=rename))
    assert reasons == ("TSA name: TSTInfo's tsa name is not the signer's subject",)


def test_unacceptable_imprint_hash_offline(pki: ThrowawayPki, token: bytes) -> None:
    def to_sha1(tst: tsp.TSTInfo) -> None:
        sha1 = hashlib.sha1(DATA, usedforsecurity=False).digest()
        tst["message_imprint"] = {"hash_algorithm": {"algorithm": "sha1"}, "hashed_message": sha1}

    reasons = _verify_token(pki, _resign(token, pki.tsa.signer, tst_info=to_sha1))
    assert reasons == ("message imprint: unacceptable imprint hash 1.3.14.3.2.26",)


def test_two_signer_infos(pki: ThrowawayPki, token: bytes) -> None:
    info = cms.ContentInfo.load(token)
    signed_data = info["content"]
    one = signed_data["signer_infos"][0]
    signed_data["signer_infos"] = cms.SignerInfos([one, one.copy()])
    reasons = _verify_token(pki, info.dump(force=True))
    assert "token structure: 2 SignerInfos, expected exactly one" in reasons


def test_wrong_encapsulated_content_type(pki: ThrowawayPki, token: bytes) -> None:
    info = cms.ContentInfo.load(token)
    encap = info["content"]["encap_content_info"]
    content = encap["content"].contents
    info["content"]["encap_content_info"] = {
        "content_type": "data",
        "content": core.ParsableOctetString(content),
    }
    reasons = _verify_token(pki, info.dump(force=True))
    assert any("is not id-ct-TSTInfo" in r for r in reasons)


@pytest.fixture(scope="module")
def rsa_pki() -> ThrowawayPki:
    return ThrowawayPki.create(KeyAlgorithm.RSA_3072)


@pytest.mark.parametrize(("salt", "sign_salt", "ok"), [(32, 32, True), (32, 20, False)])
def test_rsa_pss_tokens(rsa_pki: ThrowawayPki, salt: int, sign_salt: int, ok: bool) -> None:
    token = _token_of(
        _tsa(rsa_pki, include_tsa_name=False).respond(TimestampRequest.for_data(DATA).der)
    )
    key = rsa_pki.tsa.signer.private_key
    assert isinstance(key, rsa.RSAPrivateKey)

    def pss(signer_info: cms.SignerInfo, data: bytes) -> bytes:
        signer_info["signature_algorithm"] = {
            "algorithm": "rsassa_pss",
            "parameters": {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
                "salt_length": salt,
            },
        }
        return key.sign(
            data, padding.PSS(padding.MGF1(hashes.SHA256()), sign_salt), hashes.SHA256()
        )

    reasons = _verify_token(rsa_pki, _resign(token, rsa_pki.tsa.signer, signature=pss))
    assert reasons == (
        () if ok else ("signature: the signature over the signed attributes is invalid",)
    )


def test_short_rsa_key_is_refused(rsa_pki: ThrowawayPki) -> None:
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    now = dt.datetime.now(dt.UTC)
    weak_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=weak TSA"))
        .issuer_name(rsa_pki.root.certificate.subject)
        .public_key(weak_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(rsa_pki.root.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    weak_der = weak_cert.public_bytes(Encoding.DER)
    token = _token_of(
        _tsa(rsa_pki, include_tsa_name=False).respond(TimestampRequest.for_data(DATA).der)
    )

    def name_weak_cert(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        ess = tsp.SigningCertificateV2(
            {"certs": [{"cert_hash": hashlib.sha256(weak_der).digest()}]}
        )
        kept = [a for a in attrs if a["type"].native != "signing_certificate_v2"]
        return [*kept, cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]})]

    forged = cms.ContentInfo.load(
        _resign(
            token,
            rsa_pki.tsa.signer,
            attributes=name_weak_cert,
            signature=lambda _, data: weak_key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
        )
    )
    asn1_weak = asn1_x509.Certificate.load(weak_der)
    forged["content"]["certificates"] = [asn1_weak]
    forged["content"]["signer_infos"][0]["sid"] = cms.SignerIdentifier(
        "issuer_and_serial_number", {"issuer": asn1_weak.issuer, "serial_number": 1}
    )
    assert _verify_token(rsa_pki, forged.dump(force=True)) == (
        "signature: RSA key of 1024 bits is too short",
    )


# --- over HTTP ------------------------------------------------------------------------


def _async_tsa(tsa: TimeStampAuthority) -> Callable[[bytes], Any]:
    async def respond(request: bytes) -> bytes:
        return tsa.respond(request)

    return respond


def test_over_http_sync_and_async(any_pki: ThrowawayPki) -> None:
    tsa = _tsa(any_pki)
    anchors = [any_pki.root.certificate]

    async def scenario() -> list[TimestampToken]:
        async with serve("/tsa", tsa_handler(_async_tsa(tsa))) as url:
            sync = HttpTimeStamper(url=url, anchors=anchors)
            from_thread = await asyncio.to_thread(sync.timestamp, DATA)
            own_session = await AiohttpTimeStamper(url=url, anchors=anchors).async_timestamp(DATA)
            async with aiohttp.ClientSession() as session:
                shared = AiohttpTimeStamper(url=url, anchors=anchors, session=session)
                with_session = await shared.async_timestamp(DATA)
            return [from_thread, own_session, with_session]

    tokens = asyncio.run(scenario())
    assert len({t.serial_number for t in tokens}) == 3
    for token in tokens:
        assert verify_timestamp_response(token.response_der, data=DATA, anchors=anchors).ok


def test_unreachable_tsa(pki: ThrowawayPki) -> None:
    url = f"http://127.0.0.1:{closed_port()}/tsa"
    anchors = [pki.root.certificate]
    sync_text = _refusal(HttpTimeStamper(url=url, anchors=anchors, timeout=5))
    assert f"cannot reach the TSA at {url}" in sync_text and "Check the TSA URL" in sync_text

    async def attempt() -> str:
        with pytest.raises(TimestampAuthorityError) as caught:
            await AiohttpTimeStamper(url=url, anchors=anchors, timeout=5).async_timestamp(DATA)
        return caught.value.diagnostics()

    assert f"cannot reach the TSA at {url}" in asyncio.run(attempt())


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (lambda: web.Response(status=500, text="boom"), "answered HTTP 500"),
        (lambda: web.Response(body=b"\x30" * ((1 << 20) + 1)), "sent more than"),
        (lambda: web.Response(status=302, headers={"Location": "/elsewhere"}), "HTTP 302"),
    ],
    ids=["http-500", "oversize", "redirect"],
)
def test_bad_http_answers(
    pki: ThrowawayPki, reply: Callable[[], web.Response], message: str
) -> None:
    async def handler(_: web.Request) -> web.Response:
        return reply()

    anchors = [pki.root.certificate]

    async def scenario() -> tuple[str, str]:
        async with serve("/tsa", handler) as url:
            with pytest.raises(TimestampAuthorityError) as sync_error:
                await asyncio.to_thread(HttpTimeStamper(url=url, anchors=anchors).timestamp, DATA)
            with pytest.raises(TimestampAuthorityError) as async_error:
                await AiohttpTimeStamper(url=url, anchors=anchors).async_timestamp(DATA)
        return sync_error.value.message, async_error.value.message

    for text in asyncio.run(scenario()):
        assert message in text
    gc.collect()  # a socket left open by an error path fails the test here (ResourceWarning)


def test_slow_tsa_times_out(pki: ThrowawayPki) -> None:
    async def handler(_: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(body=b"")

    anchors = [pki.root.certificate]

    async def scenario() -> tuple[str, str]:
        async with serve("/tsa", handler) as url:
            sync = HttpTimeStamper(url=url, anchors=anchors, timeout=0.3)
            with pytest.raises(TimestampAuthorityError) as sync_error:
                await asyncio.to_thread(sync.timestamp, DATA)
            slow = AiohttpTimeStamper(url=url, anchors=anchors, timeout=0.3)
            with pytest.raises(TimestampAuthorityError) as async_error:
                await slow.async_timestamp(DATA)
        return sync_error.value.message, async_error.value.message

    for text in asyncio.run(scenario()):
        assert "cannot reach the TSA" in text


def test_url_and_mode_mistakes(pki: ThrowawayPki) -> None:
    anchors = [pki.root.certificate]
    with pytest.raises(ValueError, match="http or https"):
        HttpTimeStamper(url="file:///etc/passwd", anchors=anchors)
    with pytest.raises(ValueError, match="http or https"):
        AiohttpTimeStamper(url="localhost:318", anchors=anchors)
    async_only = AiohttpTimeStamper(url="http://127.0.0.1:9/tsa", anchors=anchors)
    assert "async_timestamp" in _refusal(async_only)


# --- fuzz ------------------------------------------------------------------------------


def _verify_or_malformed(pki: ThrowawayPki, blob: bytes) -> bool | None:
    try:
        return verify_timestamp_response(blob, data=DATA, anchors=[pki.root.certificate]).ok
    except (MalformedInputError, TimestampAuthorityError):
        return None


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.binary(max_size=400))
def test_fuzz_verifier_on_arbitrary_bytes(pki: ThrowawayPki, blob: bytes) -> None:
    assert _verify_or_malformed(pki, blob) is not True


_FUZZ_PKI = ThrowawayPki.create()
_FUZZ_TSR = TimeStampAuthority(
    signer=_FUZZ_PKI.tsa.signer, certificate=_FUZZ_PKI.tsa.certificate
).respond(TimestampRequest.for_data(DATA).der)
_TST = cms.ContentInfo.load(_token_of(_FUZZ_TSR))["content"]["encap_content_info"][
    "content"
].contents
_TST_AT = _FUZZ_TSR.index(_TST)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_FUZZ_TSR) - 1), st.integers(1, 255), st.integers(0, len(_FUZZ_TSR)))
def test_fuzz_verifier_on_damaged_responses(index: int, flip: int, cut: int) -> None:
    damaged = bytearray(_FUZZ_TSR)
    damaged[index] ^= flip
    verdict = _verify_or_malformed(_FUZZ_PKI, bytes(damaged))
    if _TST_AT <= index < _TST_AT + len(_TST):
        assert verdict is not True  # any change to the signed TSTInfo is caught
    assert _verify_or_malformed(_FUZZ_PKI, _FUZZ_TSR[:cut]) is (
        True if cut == len(_FUZZ_TSR) else None
    )
