"""Seals against the real openssl: it accepts ours, and ours accepts its CAdES seals.

OpenSSL 3.0 cannot verify (or make) Ed25519 SignedData at all (openssl issue
#11915, fixed in 4.0); for Ed25519 these tests check that limitation is the only
reason, then verify the signature with ``openssl pkeyutl`` and the digest with
``openssl dgst``, which is what an auditor can do by hand.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms as acms

from trust.keys import KeyAlgorithm, public_key_pem
from trust.seal import seal, verify_seal
from trust.throwaway_pki import ThrowawayPki

pytestmark = pytest.mark.interop

MANIFEST = b'{"attachments":[{"fileName":"acte.pdf","sha256":"ab12"}],"id":"F-42"}\n'


def _openssl_major(openssl: str) -> int:
    version = subprocess.run([openssl, "version"], capture_output=True, text=True, check=True)
    match = re.match(r"OpenSSL (\d+)\.", version.stdout)
    assert match, version.stdout
    return int(match.group(1))


def _files(tmp: Path, pki: ThrowawayPki, seal_der: bytes, content: bytes) -> dict[str, Path]:
    paths = pki.write_to(tmp / "pki")
    (tmp / "seal.p7s").write_bytes(seal_der)
    (tmp / "manifest.json").write_bytes(content)
    return {**paths, "seal": tmp / "seal.p7s", "manifest": tmp / "manifest.json"}


def _cms_verify(openssl: str, files: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    # No -purpose: the default (smimesign) accepts a certificate with
    # nonRepudiation + digitalSignature and no EKU.
    return subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(files["seal"]),
            "-content",
            str(files["manifest"]),
            "-CAfile",
            str(files["root-ca.pem"]),
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _our_seal(pki: ThrowawayPki, content: bytes = MANIFEST) -> bytes:
    return seal(
        content,
        signer=pki.seal.signer,
        certificate=pki.seal.certificate,
        signing_time=dt.datetime.now(dt.UTC),
    )


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    "algorithm", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_3072], ids=lambda a: a.value
)
def test_openssl_accepts_our_seal(openssl: str, tmp_path: Path, algorithm: KeyAlgorithm) -> None:
    pki = ThrowawayPki.create(algorithm)
    done = _cms_verify(openssl, _files(tmp_path, pki, _our_seal(pki), MANIFEST))
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr


@pytest.mark.parametrize(
    "algorithm", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_3072], ids=lambda a: a.value
)
def test_openssl_rejects_a_flipped_byte(
    openssl: str, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    pki = ThrowawayPki.create(algorithm)
    sealed = _our_seal(pki)
    content = _cms_verify(openssl, _files(tmp_path / "c", pki, sealed, _flip(MANIFEST, 5)))
    assert content.returncode != 0, content.stderr
    # CMS_SignerInfo_verify_content compares the message digest with the content.
    assert "CMS_SignerInfo_verify_content:verification failure" in content.stderr
    signature = bytes(acms.ContentInfo.load(sealed)["content"]["signer_infos"][0]["signature"])
    at = sealed.rindex(signature) + len(signature) - 1
    broken = _cms_verify(openssl, _files(tmp_path / "s", pki, _flip(sealed, at), MANIFEST))
    assert broken.returncode != 0, broken.stderr
    # CMS_SignerInfo_verify checks the signature over the signed attributes.
    assert "CMS_SignerInfo_verify:verification failure" in broken.stderr


def test_openssl_and_ed25519_seals(openssl: str, tmp_path: Path) -> None:
    pki = ThrowawayPki.create(KeyAlgorithm.ED25519)
    sealed = _our_seal(pki)
    files = _files(tmp_path, pki, sealed, MANIFEST)
    done = _cms_verify(openssl, files)
    if _openssl_major(openssl) >= 4:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0 and "invalid digest" in done.stderr
    # What an auditor can do with OpenSSL 3: check the two halves by hand.
    signer = acms.ContentInfo.load(sealed)["content"]["signer_infos"][0]
    attrs = signer["signed_attrs"].dump()
    (tmp_path / "attrs.der").write_bytes(b"\x31" + attrs[1:])
    (tmp_path / "sig.bin").write_bytes(bytes(signer["signature"]))
    (tmp_path / "seal-pub.pem").write_bytes(public_key_pem(pki.seal.certificate.public_key()))  # type: ignore[arg-type]
    pkeyutl = [
        openssl,
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(tmp_path / "seal-pub.pem"),
        "-rawin",
        "-in",
        str(tmp_path / "attrs.der"),
        "-sigfile",
        str(tmp_path / "sig.bin"),
    ]
    checked = subprocess.run(pkeyutl, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "Signature Verified Successfully" in checked.stdout
    md = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
    dgst = subprocess.run(
        [openssl, "dgst", "-sha512", "-r", str(files["manifest"])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert md["message_digest"].hex() == dgst.stdout.split()[0]
    (tmp_path / "attrs.der").write_bytes(_flip(b"\x31" + attrs[1:], 40))
    refused = subprocess.run(pkeyutl, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0


def _openssl_sign(openssl: str, files: dict[str, Path], tmp: Path, *extra: str) -> bytes:
    out = tmp / "openssl.p7s"
    subprocess.run(
        [
            openssl,
            "cms",
            "-sign",
            "-binary",
            "-in",
            str(files["manifest"]),
            "-signer",
            str(files["seal.pem"]),
            "-inkey",
            str(files["seal.key"]),
            "-outform",
            "DER",
            "-out",
            str(out),
            *extra,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out.read_bytes()


@pytest.mark.parametrize(
    "algorithm", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_3072], ids=lambda a: a.value
)
def test_openssl_cades_seals_verify_with_verify_seal(
    openssl: str, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    pki = ThrowawayPki.create(algorithm)
    files = _files(tmp_path, pki, b"", MANIFEST)
    anchors = [pki.root.certificate]
    for md in ("sha256", "sha384", "sha512"):
        theirs = _openssl_sign(openssl, files, tmp_path, "-cades", "-md", md)
        result = verify_seal(theirs, MANIFEST, anchors=anchors)
        assert result.ok, (md, result.reasons)
        assert result.signer_certificate == pki.seal.certificate
        assert result.signing_time is not None
        assert not verify_seal(theirs, _flip(MANIFEST, 3), anchors=anchors).ok


def test_openssl_seal_without_cades_or_detached_is_refused(openssl: str, tmp_path: Path) -> None:
    pki = ThrowawayPki.create()
    files = _files(tmp_path, pki, b"", MANIFEST)
    anchors = [pki.root.certificate]
    plain = verify_seal(_openssl_sign(openssl, files, tmp_path), MANIFEST, anchors=anchors)
    assert {c.name for c in plain.result.checks if not c.ok} == {"signing-certificate-v2"}
    attached = _openssl_sign(openssl, files, tmp_path, "-cades", "-nodetach")
    result = verify_seal(attached, MANIFEST, anchors=anchors)
    assert {c.name for c in result.result.checks if not c.ok} == {"detached id-data content"}


def test_openssl_reads_the_cades_attributes(openssl: str) -> None:
    pki = ThrowawayPki.create()
    printed = subprocess.run(
        [openssl, "cms", "-cmsout", "-print", "-inform", "DER"],
        input=_our_seal(pki),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for attribute in ("contentType", "messageDigest", "signingTime", "signingCertificateV2"):
        assert f"object: {attribute}" in printed or f"{attribute} (" in printed, attribute
    assert "eContent: <ABSENT>" in printed
    assert "ecdsa-with-SHA256" in printed
