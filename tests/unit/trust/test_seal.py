"""CAdES-B seals (trust.seal): sealing, verification, and what breaks a seal."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import cms as acms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust import cms_asn1 as oids
from trust.cms import ID_CT_TST_INFO, build_signed_data, parse_signed_data
from trust.cms_asn1 import der_header
from trust.errors import KeyMaterialError
from trust.keys import FileSigner, KeyAlgorithm
from trust.pki import CertProfile
from trust.results import Verdict
from trust.seal import SealVerification, seal, verify_seal
from trust.throwaway_pki import ThrowawayPki

MANIFEST = b'{"attachments":[{"fileName":"a.pdf","sha256":"00"}],"id":"F-1"}'


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _seal(pki: ThrowawayPki, content: bytes = MANIFEST, **kw: object) -> bytes:
    args: dict[str, object] = {
        "signer": pki.seal.signer,
        "certificate": pki.seal.certificate,
        "signing_time": _now(),
    }
    args.update(kw)
    return seal(content, **args)  # type: ignore[arg-type]


def _verify(pki: ThrowawayPki, seal_der: bytes, content: bytes = MANIFEST) -> SealVerification:
    return verify_seal(seal_der, content, anchors=[pki.root.certificate])


def _failed(result: SealVerification) -> set[str]:
    return {c.name for c in result.result.checks if not c.ok}


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_seal_verifies_for_every_algorithm(any_pki: ThrowawayPki) -> None:
    when = _now()
    result = _verify(any_pki, _seal(any_pki, signing_time=when))
    assert result.ok, result.reasons
    assert result.result.verdict is Verdict.VALID
    assert result.signer_certificate == any_pki.seal.certificate
    assert result.subject == any_pki.seal.certificate.subject.rfc4514_string()
    assert result.signing_time == when.replace(microsecond=0)
    names = {c.name for c in result.result.checks}
    assert {"message-digest", "signature", "signing-certificate-v2", "key usage"} <= names


def test_seal_with_an_intermediate_ca(pki: ThrowawayPki) -> None:
    intermediate = pki.root.issue_intermediate("Sceau seal CA")
    signer = FileSigner.generate()
    cert = intermediate.issue(
        signer.public_key(), common_name="gateway seal", profile=CertProfile.SEAL
    )
    sealed = seal(
        MANIFEST,
        signer=signer,
        certificate=cert,
        chain=(intermediate.certificate,),
        signing_time=_now(),
    )
    assert _verify(pki, sealed).ok
    bare = seal(MANIFEST, signer=signer, certificate=cert, signing_time=_now())
    assert _failed(_verify(pki, bare)) == {"chain to a trust anchor"}


def test_wrong_anchor_is_rejected(pki: ThrowawayPki) -> None:
    other = ThrowawayPki.create()
    result = verify_seal(_seal(pki), MANIFEST, anchors=[other.root.certificate])
    assert not result.ok
    assert _failed(result) == {"chain to a trust anchor"}
    assert not verify_seal(_seal(pki), MANIFEST, anchors=[]).ok


def test_certificate_expired_at_signing_time_is_rejected() -> None:
    old = ThrowawayPki.create(now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    late = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # the seal certificate ended in 2022
    result = _verify(old, _seal(old, signing_time=late))
    assert _failed(result) == {"validity period"}
    in_time = dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
    assert _verify(old, _seal(old, signing_time=in_time)).ok


def test_at_time_overrides_the_claimed_signing_time() -> None:
    old = ThrowawayPki.create(now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    backdated = _seal(old, signing_time=dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    assert _verify(old, backdated).ok
    trusted_time = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    result = verify_seal(backdated, MANIFEST, anchors=[old.root.certificate], at_time=trusted_time)
    assert _failed(result) == {"validity period"}
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_seal(
            backdated, MANIFEST, anchors=[old.root.certificate], at_time=dt.datetime(2025, 1, 1)
        )


def test_flipped_byte_in_content_is_rejected(any_pki: ThrowawayPki) -> None:
    sealed = _seal(any_pki)
    for at in (0, len(MANIFEST) // 2, len(MANIFEST) - 1):
        result = _verify(any_pki, sealed, _flip(MANIFEST, at))
        assert _failed(result) == {"message-digest"}
    assert _failed(_verify(any_pki, sealed, MANIFEST + b"\n")) == {"message-digest"}


def test_flipped_byte_in_signature_is_rejected(any_pki: ThrowawayPki) -> None:
    sealed = _seal(any_pki)
    signature = parse_signed_data(sealed).signature
    start = sealed.rindex(signature)
    for at in (start + 8, start + len(signature) - 1):
        result = _verify(any_pki, _flip(sealed, at))
        assert _failed(result) == {"signature"}, result.reasons


def test_flipped_byte_in_signed_attributes_is_rejected(any_pki: ThrowawayPki) -> None:
    when = _now().replace(microsecond=0, second=0)
    sealed = _seal(any_pki, signing_time=when)
    at = sealed.index(f"{when:%y%m%d%H%M%S}Z".encode()) + 11  # the seconds of the signing time
    result = _verify(any_pki, _flip(sealed, at))
    assert _failed(result) == {"signature"}
    assert result.signing_time == when + dt.timedelta(seconds=1)


def test_every_single_byte_flip_is_detected(pki: ThrowawayPki) -> None:
    sealed = _seal(pki)
    undetected = [at for at in range(len(sealed)) if _verify(pki, _flip(sealed, at)).ok]
    assert undetected == []


def test_certificate_that_may_not_sign_is_rejected(pki: ThrowawayPki) -> None:
    signer = FileSigner.generate()
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "encrypt only")]))
        .issuer_name(pki.root.certificate.subject)
        .public_key(signer.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(pki.root.private_key, hashes.SHA256())
    )
    result = _verify(pki, seal(MANIFEST, signer=signer, certificate=cert, signing_time=now))
    assert _failed(result) == {"key usage"}


def test_certificate_of_another_key_cannot_seal(pki: ThrowawayPki) -> None:
    with pytest.raises(KeyMaterialError):
        seal(
            MANIFEST,
            signer=FileSigner.generate(),
            certificate=pki.seal.certificate,
            signing_time=_now(),
        )


def test_included_content_and_other_content_types_are_rejected(pki: ThrowawayPki) -> None:
    common = {
        "content": MANIFEST,
        "signer": pki.seal.signer,
        "certificate": pki.seal.certificate,
        "signing_time": _now(),
    }
    attached = build_signed_data(content_type=oids.ID_DATA, detached=False, **common)  # type: ignore[arg-type]
    assert _failed(_verify(pki, attached)) == {"detached id-data content"}
    token = build_signed_data(content_type=ID_CT_TST_INFO, detached=True, **common)  # type: ignore[arg-type]
    assert _failed(_verify(pki, token)) == {"detached id-data content"}


def test_missing_signing_time_is_rejected_even_with_at_time(pki: ThrowawayPki) -> None:
    untimed = build_signed_data(
        content=MANIFEST,
        content_type=oids.ID_DATA,
        signer=pki.seal.signer,
        certificate=pki.seal.certificate,
        detached=True,
        signing_time=None,
    )
    assert _failed(_verify(pki, untimed)) == {"signing-time", "chain"}
    result = verify_seal(untimed, MANIFEST, anchors=[pki.root.certificate], at_time=_now())
    assert _failed(result) == {"signing-time"}


def test_seal_without_its_certificate_is_rejected(pki: ThrowawayPki) -> None:
    sealed = _seal(pki)
    signed = acms.ContentInfo.load(sealed)["content"]
    names = ("version", "digest_algorithms", "encap_content_info", "signer_infos")
    body = b"".join(signed[n].dump() for n in names)
    body = der_header(0x30, len(body)) + body
    body = der_header(0xA0, len(body)) + body
    oid = acms.ContentType("signed_data").dump()
    result = _verify(pki, der_header(0x30, len(oid + body)) + oid + body)
    assert "signer certificate" in _failed(result)
    assert result.signer_certificate is None and result.subject == ""


def test_garbage_is_invalid_not_an_exception(pki: ThrowawayPki) -> None:
    for junk in (b"", b"\x30\x00", b"not a seal", _seal(pki)[:-3]):
        result = _verify(pki, junk)
        assert not result.ok
        assert _failed(result) == {"structure"}


_FUZZ_PKI = ThrowawayPki.create(KeyAlgorithm.EC_P256)
# No chain: every byte of this seal is then signed, hashed or checked.
_FUZZ_SEAL = seal(
    MANIFEST,
    signer=_FUZZ_PKI.seal.signer,
    certificate=_FUZZ_PKI.seal.certificate,
    signing_time=_now(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_verifier_on_mutated_seals_never_raises(data: st.DataObject) -> None:
    sealed = bytearray(_FUZZ_SEAL)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(sealed) - 1))
        sealed[at : at + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=4))
    mutated = bytes(sealed)
    result = verify_seal(mutated, MANIFEST, anchors=[_FUZZ_PKI.root.certificate])
    assert isinstance(result, SealVerification)
    assert result.ok == (mutated == _FUZZ_SEAL), result.result.checks


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1024), st.binary(max_size=64))
def test_verifier_on_random_bytes_never_raises(seal_der: bytes, content: bytes) -> None:
    result = verify_seal(seal_der, content, anchors=[_FUZZ_PKI.root.certificate])
    assert not result.ok
    assert result.reasons
