"""The TSA responder: what it grants, what it refuses (and how), and that it never raises.

Responses are read back with asn1crypto, independently of our own parser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging

import pytest
from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust.errors import KeyMaterialError
from trust.keys import FileSigner
from trust.pki import CertProfile
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import DEFAULT_POLICY, MAX_REQUEST_BYTES, TimeStampAuthority
from trust.tsp_asn1 import SHA256, SHA384, SHA512
from trust.tsp_request import TimestampRequest
from trust.tsp_verify import verify_timestamp_response

DIGEST = hashlib.sha256(b"checkpoint body").digest()


class _TimeStampResp(core.Sequence):  # asn1crypto's own makes the token mandatory
    _fields = [  # noqa: RUF012
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _tsa(pki: ThrowawayPki, **kw: object) -> TimeStampAuthority:
    return TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate, **kw)  # type: ignore[arg-type]


def _status(resp_der: bytes) -> tuple[str, set[str], list[str]]:
    info = _TimeStampResp.load(resp_der)["status"]
    fail = info["fail_info"]
    return (
        info["status"].native,
        set() if isinstance(fail, core.Void) else set(fail.native),
        list(info["status_string"].native or []),
    )


def _tst_info(resp_der: bytes) -> tsp.TSTInfo:
    token = _TimeStampResp.load(resp_der)["time_stamp_token"]
    return token["content"]["encap_content_info"]["content"].parsed


def _request(**fields: object) -> bytes:
    base: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST},
        "nonce": 42,
        "cert_req": True,
    }
    base.update(fields)
    return tsp.TimeStampReq(base).dump()


def test_grants_and_fills_tstinfo(any_pki: ThrowawayPki) -> None:
    now = any_pki.tsa.certificate.not_valid_before_utc + dt.timedelta(hours=1, microseconds=250)
    request = TimestampRequest.for_digest(DIGEST, nonce=2**63 + 5)
    resp = _tsa(any_pki).respond(request.der, now=now)

    assert _status(resp) == ("granted", set(), [])
    tst = _tst_info(resp)
    assert tst["version"].native == "v1"
    assert tst["policy"].dotted == DEFAULT_POLICY
    assert tst["message_imprint"]["hash_algorithm"]["algorithm"].dotted == SHA256
    assert tst["message_imprint"]["hashed_message"].native == DIGEST
    assert tst["nonce"].native == 2**63 + 5
    assert tst["gen_time"].native == now
    assert tst["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
    assert tst["tsa"].name == "directory_name"
    assert tst["tsa"].chosen.untag().dump() == any_pki.tsa.certificate.subject.public_bytes()
    assert 0 < tst["serial_number"].native < 2**128
    verdict = verify_timestamp_response(
        resp, data=b"checkpoint body", anchors=[any_pki.root.certificate]
    )
    assert verdict.ok, verdict.reasons
    assert verdict.gen_time == now


def test_cert_req_decides_whether_certificates_travel(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    with_certs = tsa.respond(TimestampRequest.for_digest(DIGEST, cert_req=True).der)
    without = tsa.respond(TimestampRequest.for_digest(DIGEST, cert_req=False).der)

    def certs(resp: bytes) -> object:
        return _TimeStampResp.load(resp)["time_stamp_token"]["content"]["certificates"]

    assert [c.chosen.dump() for c in certs(with_certs)] == [  # type: ignore[attr-defined]
        pki.tsa.certificate.public_bytes(Encoding.DER)
    ]
    assert isinstance(certs(without), core.Void)
    anchors = [pki.root.certificate]
    # The signature survives dropping the field; the certificate must then come from elsewhere.
    assert not verify_timestamp_response(without, data=b"checkpoint body", anchors=anchors).ok
    given_cert = verify_timestamp_response(
        without, data=b"checkpoint body", anchors=anchors, certificates=[pki.tsa.certificate]
    )
    assert given_cert.ok, given_cert.reasons


def test_chain_is_sent(pki: ThrowawayPki) -> None:
    intermediate = pki.root.issue_intermediate("TSA issuing CA")
    signer = FileSigner.generate()
    cert = intermediate.issue(signer.public_key(), common_name="TSA 2", profile=CertProfile.TSA)
    tsa = TimeStampAuthority(signer=signer, certificate=cert, chain=(intermediate.certificate,))
    resp = tsa.respond(TimestampRequest.for_digest(DIGEST).der)
    verdict = verify_timestamp_response(
        resp, data=b"checkpoint body", anchors=[pki.root.certificate]
    )
    assert verdict.ok, verdict.reasons


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
def test_accepts_sha2_imprints(pki: ThrowawayPki, hash_name: str) -> None:
    digest = hashlib.new(hash_name, b"x").digest()
    req = _request(
        message_imprint={"hash_algorithm": {"algorithm": hash_name}, "hashed_message": digest}
    )
    resp = _tsa(pki).respond(req)
    assert _status(resp)[0] == "granted"
    assert _tst_info(resp)["message_imprint"]["hashed_message"].native == digest


def test_default_fields_are_omitted_and_policy_matches(pki: ThrowawayPki) -> None:
    resp = _tsa(pki).respond(_request(req_policy=DEFAULT_POLICY, nonce=None, cert_req=False))
    assert _status(resp)[0] == "granted"
    assert isinstance(_tst_info(resp)["nonce"], core.Void)


@pytest.mark.parametrize(
    ("request_der", "fail", "text"),
    [
        (b"", "bad_data_format", "not a DER TimeStampReq"),
        (b"\x30\x03\x02\x01\x01", "bad_data_format", "not a DER TimeStampReq"),
        (b"hello, TSA", "bad_data_format", "not a DER TimeStampReq"),
        (b"\x30" * (MAX_REQUEST_BYTES + 1), "bad_request", "limited to"),
        (_request(version=2), "bad_request", "only v1"),
        (
            _request(
                message_imprint={
                    "hash_algorithm": {"algorithm": "sha1"},
                    "hashed_message": hashlib.sha1(b"x").digest(),  # noqa: S324
                }
            ),
            "bad_alg",
            "1.3.14.3.2.26",
        ),
        (
            _request(
                message_imprint={
                    "hash_algorithm": {"algorithm": "md5"},
                    "hashed_message": b"1" * 16,
                }
            ),
            "bad_alg",
            "not accepted",
        ),
        (
            _request(
                message_imprint={"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"1"}
            ),
            "bad_data_format",
            "imprint is 32 bytes",
        ),
        (_request(req_policy="1.2.3.4"), "unaccepted_policy", "1.2.3.4 not offered"),
        (
            _request(
                extensions=[{"extn_id": "1.2.3.4.5", "critical": False, "extn_value": b"\x05\x00"}]
            ),
            "unaccepted_extensions",
            "no request extension",
        ),
    ],
    ids=[
        "empty",
        "truncated",
        "text",
        "oversize",
        "version-2",
        "sha1",
        "md5",
        "short-imprint",
        "foreign-policy",
        "extension",
    ],
)
def test_refusals_carry_fail_info(
    pki: ThrowawayPki, request_der: bytes, fail: str, text: str
) -> None:
    resp = _tsa(pki).respond(request_der)
    status, fails, strings = _status(resp)
    assert status == "rejection"
    assert fails == {fail}
    assert len(strings) == 1 and text in strings[0]
    assert isinstance(_TimeStampResp.load(resp)["time_stamp_token"], core.Void)


def test_non_der_request_is_refused(pki: ThrowawayPki) -> None:
    # certReq encoded explicitly as FALSE is BER, not DER (X.690 §11.5: defaults are omitted).
    der = TimestampRequest.for_digest(DIGEST, nonce=None, with_nonce=False, cert_req=False).der
    ber = b"\x30" + bytes([der[1] + 3]) + der[2:] + b"\x01\x01\x00"
    assert tsp.TimeStampReq.load(ber).native["cert_req"] is False  # a lenient parser takes it
    assert _status(_tsa(pki).respond(ber))[1] == {"bad_data_format"}
    assert _status(_tsa(pki).respond(der + b"\x00"))[1] == {"bad_data_format"}


def test_hash_set_can_be_narrowed(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki, hash_algorithms=frozenset({SHA384, SHA512}))
    assert _status(tsa.respond(_request()))[1] == {"bad_alg"}


def test_serials_random_and_unique(pki: ThrowawayPki) -> None:
    tsa = _tsa(pki)
    req = TimestampRequest.for_digest(DIGEST).der
    serials = [_tst_info(tsa.respond(req))["serial_number"].native for _ in range(300)]
    assert len(set(serials)) == 300
    assert all(0 < s < 2**128 for s in serials)
    assert max(serials).bit_length() > 100  # random, not a counter


def test_serials_from_a_counter(pki: ThrowawayPki) -> None:
    counter = itertools.count(1000)
    tsa = _tsa(pki, serials=lambda: next(counter))
    req = TimestampRequest.for_digest(DIGEST).der
    assert [_tst_info(tsa.respond(req))["serial_number"].native for _ in range(3)] == [
        1000,
        1001,
        1002,
    ]


@pytest.mark.parametrize(
    ("accuracy", "native"),
    [
        (dt.timedelta(seconds=1, milliseconds=500), {"seconds": 1, "millis": 500, "micros": None}),
        (dt.timedelta(microseconds=7), {"seconds": None, "millis": None, "micros": 7}),
    ],
)
def test_accuracy_encoding(pki: ThrowawayPki, accuracy: dt.timedelta, native: object) -> None:
    resp = _tsa(pki, accuracy=accuracy).respond(_request())
    assert _tst_info(resp)["accuracy"].native == native


def test_no_accuracy_and_no_name(pki: ThrowawayPki) -> None:
    resp = _tsa(pki, accuracy=None, include_tsa_name=False).respond(_request())
    tst = _tst_info(resp)
    assert isinstance(tst["accuracy"], core.Void)
    assert isinstance(tst["tsa"], core.Void)


def test_refuses_unfit_certificates(pki: ThrowawayPki) -> None:
    with pytest.raises(KeyMaterialError, match="key is not the TSA certificate's key"):
        TimeStampAuthority(signer=pki.seal.signer, certificate=pki.tsa.certificate)
    with pytest.raises(KeyMaterialError, match="not a TSA certificate") as caught:
        TimeStampAuthority(signer=pki.seal.signer, certificate=pki.seal.certificate)
    assert "timeStamping" in caught.value.diagnostics()


def test_unsafe_certificate_is_allowed_loudly(
    pki: ThrowawayPki, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="trust.tsa"):
        tsa = TimeStampAuthority(
            signer=pki.seal.signer,
            certificate=pki.seal.certificate,
            unsafe_allow_any_certificate=True,
        )
    assert "unfit certificate" in caplog.text
    assert _status(tsa.respond(_request()))[0] == "granted"


def test_naive_now_is_a_programming_error(pki: ThrowawayPki) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _tsa(pki).respond(_request(), now=dt.datetime(2026, 1, 1))


class _BrokenSigner(FileSigner):
    def sign(self, data: bytes) -> bytes:
        raise OSError("token removed")


def test_signer_failure_is_system_failure(
    pki: ThrowawayPki, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _BrokenSigner(pki.tsa.signer.private_key)
    tsa = TimeStampAuthority(signer=broken, certificate=pki.tsa.certificate)
    with caplog.at_level(logging.ERROR, logger="trust.tsa"):
        resp = tsa.respond(_request())
    assert _status(resp)[:2] == ("rejection", {"system_failure"})
    assert "token removed" in caplog.text


def test_token_is_signed_data_over_tstinfo(pki: ThrowawayPki) -> None:
    token = _TimeStampResp.load(_tsa(pki).respond(_request()))["time_stamp_token"]
    assert isinstance(token, cms.ContentInfo)
    assert token["content_type"].native == "signed_data"
    signed = token["content"]
    assert signed["encap_content_info"]["content_type"].native == "tst_info"
    attrs = {a["type"].native for a in signed["signer_infos"][0]["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_certificate_v2"} <= attrs


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes_get_a_rejection(pki: ThrowawayPki, blob: bytes) -> None:
    resp = _tsa(pki).respond(blob)
    status, fails, _ = _status(resp)
    assert status == "rejection"
    assert len(fails) == 1


_VALID = TimestampRequest.for_digest(DIGEST, nonce=7).der


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, len(_VALID) - 1), st.integers(1, 255), st.integers(0, len(_VALID)))
def test_fuzz_mutated_requests_never_raise(
    pki: ThrowawayPki, index: int, flip: int, cut: int
) -> None:
    mutated = bytearray(_VALID)
    mutated[index] ^= flip
    for candidate in (bytes(mutated), _VALID[:cut]):
        status = _status(_tsa(pki).respond(candidate))[0]
        assert status in ("granted", "rejection")
