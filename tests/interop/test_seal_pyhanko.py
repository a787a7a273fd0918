"""Seals against pyHanko's CMS validator: intact, valid and trusted, for every algorithm."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest
from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.validation.generic_cms import (
    async_validate_detached_cms,
    validate_sig_integrity,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator import ValidationContext

from trust.keys import KeyAlgorithm
from trust.seal import seal
from trust.throwaway_pki import ThrowawayPki

pytestmark = pytest.mark.interop

MANIFEST = b'{"attachments":[],"id":"F-7","process":"DEMO"}'


def _seal(pki: ThrowawayPki) -> tuple[bytes, dt.datetime]:
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sealed = seal(
        MANIFEST, signer=pki.seal.signer, certificate=pki.seal.certificate, signing_time=when
    )
    return sealed, when


def _validate(pki: ThrowawayPki, sealed: bytes, content: bytes) -> StandardCMSSignatureStatus:
    root = ax509.Certificate.load(pki.root.certificate.public_bytes(Encoding.DER))
    signed_data = acms.ContentInfo.load(sealed)["content"]
    return asyncio.run(
        async_validate_detached_cms(
            content,
            signed_data,
            signer_validation_context=ValidationContext(trust_roots=[root]),
            # A seal certificate must allow nonRepudiation (contentCommitment).
            key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
        )
    )


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_pyhanko_reports_intact_valid_trusted(any_pki: ThrowawayPki) -> None:
    sealed, when = _seal(any_pki)
    status = _validate(any_pki, sealed, MANIFEST)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.signer_reported_dt == when
    assert status.signing_cert.serial_number == any_pki.seal.certificate.serial_number


def test_pyhanko_sees_a_flipped_content_byte(any_pki: ThrowawayPki) -> None:
    sealed, _ = _seal(any_pki)
    status = _validate(any_pki, sealed, _flip(MANIFEST, 4))
    assert not status.intact
    assert not status.bottom_line


def test_pyhanko_sees_a_flipped_signature_byte(any_pki: ThrowawayPki) -> None:
    sealed, _ = _seal(any_pki)
    signature = bytes(acms.ContentInfo.load(sealed)["content"]["signer_infos"][0]["signature"])
    damaged = _flip(sealed, sealed.rindex(signature) + len(signature) - 1)
    status = _validate(any_pki, damaged, MANIFEST)
    assert not status.valid
    assert not status.bottom_line


def test_pyhanko_integrity_check_alone(any_pki: ThrowawayPki) -> None:
    sealed, _ = _seal(any_pki)
    signer_info = acms.ContentInfo.load(sealed)["content"]["signer_infos"][0]
    cert = ax509.Certificate.load(any_pki.seal.certificate.public_bytes(Encoding.DER))
    # RFC 8419 §3.1: SHA-512 with Ed25519; SHA-256 otherwise.
    algorithm = signer_info["digest_algorithm"]["algorithm"].native
    expected = "sha512" if any_pki.seal.signer.algorithm is KeyAlgorithm.ED25519 else "sha256"
    assert algorithm == expected
    digest = hashlib.new(algorithm, MANIFEST).digest()
    assert validate_sig_integrity(signer_info, cert, "data", digest) == (True, True)
    other = hashlib.new(algorithm, MANIFEST + b" ").digest()
    intact, _ = validate_sig_integrity(signer_info, cert, "data", other)
    assert not intact


def test_pyhanko_does_not_trust_another_root(any_pki: ThrowawayPki) -> None:
    sealed, _ = _seal(any_pki)
    other = ThrowawayPki.create()
    status = _validate(other, sealed, MANIFEST)
    assert status.intact and status.valid
    assert not status.trusted
