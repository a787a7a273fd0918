from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import FileSigner, KeyAlgorithm, load_private_key, write_private_key
from trust.pki import CertificateAuthority, CertProfile, make_csr, validate_chain
from trust.throwaway_pki import ThrowawayPki


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_keys_are_written_0600_and_lax_modes_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "seal.key"
    signer = FileSigner.generate()
    signer.save(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert FileSigner.load(key).public_key() == signer.public_key()
    os.chmod(key, 0o640)
    with pytest.raises(KeyMaterialError, match="group or others") as refused:
        load_private_key(key)
    assert "chmod 600" in refused.value.diagnostics()
    with pytest.raises(KeyMaterialError, match="refusing to overwrite"):
        write_private_key(key, signer.private_key)


def test_missing_and_garbage_key_files(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="does not exist"):
        load_private_key(tmp_path / "none.key")
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    os.chmod(bad, 0o600)
    with pytest.raises(KeyMaterialError, match="not a usable PEM"):
        load_private_key(bad)


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_issue_from_csr_for_every_profile(algorithm: KeyAlgorithm) -> None:
    ca = CertificateAuthority.create_root("Root", algorithm=algorithm)
    signer = FileSigner.generate(algorithm)
    csr = make_csr(signer.private_key, common_name="gw")
    for profile in (
        CertProfile.TLS_CLIENT,
        CertProfile.TLS_SERVER,
        CertProfile.SEAL,
        CertProfile.TSA,
    ):
        cert = ca.issue_from_csr(
            csr, profile=profile, common_name="Mairie", organization="21750001600019"
        )
        result = validate_chain(cert, anchors=[ca.certificate], at_time=_now(), profile=profile)
        assert result.ok, result.reasons
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.content_commitment is (profile is CertProfile.SEAL)
        if profile is CertProfile.TSA:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
            assert eku.critical


def test_wrong_profile_wrong_anchor_and_wrong_time_are_refused(pki: ThrowawayPki) -> None:
    seal = pki.seal.certificate
    assert not validate_chain(
        seal, anchors=[pki.root.certificate], at_time=_now(), profile=CertProfile.TSA
    ).ok
    other = CertificateAuthority.create_root("Other")
    refused = validate_chain(seal, anchors=[other.certificate], at_time=_now())
    assert not refused.ok and "no signature path" in refused.reasons[0]
    late = validate_chain(
        seal, anchors=[pki.root.certificate], at_time=_now() + dt.timedelta(days=5000)
    )
    assert not late.ok and any("valid" in r for r in late.reasons)
    assert not validate_chain(seal, anchors=[], at_time=_now()).ok


def test_intermediate_chains_validate_and_a_leaf_cannot_issue() -> None:
    root = CertificateAuthority.create_root("Root")
    sub = root.issue_intermediate("Sub")
    signer = FileSigner.generate()
    leaf = sub.issue(signer.public_key(), common_name="leaf", profile=CertProfile.SEAL)
    assert validate_chain(
        leaf, anchors=[root.certificate], intermediates=[sub.certificate], at_time=_now()
    ).ok
    assert not validate_chain(leaf, anchors=[root.certificate], at_time=_now()).ok
    fake_ca = CertificateAuthority(leaf, signer.private_key)
    victim = fake_ca.issue(
        FileSigner.generate().public_key(), common_name="x", profile=CertProfile.SEAL
    )
    result = validate_chain(
        victim, anchors=[root.certificate], intermediates=[sub.certificate, leaf], at_time=_now()
    )
    assert not result.ok and any("not a CA" in r for r in result.reasons)


def test_a_csr_with_a_broken_signature_is_refused(pki: ThrowawayPki) -> None:
    csr = make_csr(FileSigner.generate().private_key, common_name="x")
    der = bytearray(csr.public_bytes(Encoding.DER))
    der[-5] ^= 1
    broken = x509.load_der_x509_csr(bytes(der))
    with pytest.raises(MalformedInputError, match="signature"):
        pki.root.issue_from_csr(broken, profile=CertProfile.SEAL)
