"""Pkcs11Signer against a real SoftHSM2 token made in a temporary directory.

SoftHSM2 is required, not optional: ``./run test`` installs it (Debian package
``softhsm2``). Without it these tests fail rather than skip, so that a green run
always means the HSM path was exercised.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding

from trust.errors import KeyMaterialError
from trust.keys import KeyAlgorithm, PublicKey, Signer, generate_private_key, private_key_pem
from trust.pkcs11_signer import (
    SOFTHSM2_MODULE,
    Pkcs11Signer,
    _public_from_attributes,
    generate_keypair_on_token,
    unload_module,
)
from trust.pki import (
    CertificateAuthority,
    CertProfile,
    certificate_pem,
    public_key_matches,
    validate_chain,
)
from trust.seal import seal, verify_seal

pytestmark = pytest.mark.interop

PIN = "4711-user-pin"
SO_PIN = "0815-so-pin"
TOKEN = "sceau-test"
GENERATED = {alg: f"gen-{alg.value}" for alg in KeyAlgorithm}


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token directory with its configuration file."""

    root: Path
    conf: Path

    def util(self, *args: str) -> str:
        done = subprocess.run(
            ["softhsm2-util", *args],
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"softhsm2-util {args[0]} failed: {done.stderr}"
        return done.stdout

    def import_pem(self, pem: Path, label: str, key_id: str, *extra: str) -> None:
        self.util("--import", str(pem), "--token", TOKEN, "--label", label, "--id", key_id,
                  "--pin", PIN, *extra)  # fmt: skip

    def conf_with_mechanisms(self, mechanisms: str) -> Path:
        """A second configuration over the same tokens that offers only ``mechanisms``."""
        conf = self.root / f"softhsm2-{mechanisms.replace(',', '-')}.conf"
        conf.write_text(self.conf.read_text() + f"slots.mechanisms = {mechanisms}\n")
        return conf


def _activate(monkeypatch: pytest.MonkeyPatch, conf: Path) -> None:
    # SoftHSM2 reads its configuration and finds tokens only when initialised.
    unload_module(SOFTHSM2_MODULE)
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))


def _require_softhsm() -> None:
    assert shutil.which("softhsm2-util") and os.path.exists(SOFTHSM2_MODULE), (
        "SoftHSM2 is required for the PKCS#11 tests and is missing: "
        "./run test installs it (apt-get install softhsm2)"
    )


@pytest.fixture(scope="module")
def softhsm(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[SoftHsm]:
    """One token with a generated key per algorithm and openssl-made keys imported."""
    _require_softhsm()
    openssl: str = request.getfixturevalue("openssl")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    hsm = SoftHsm(root, conf)
    hsm.util("--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN)
    for name, args in {
        "ossl-ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ossl-rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "ossl-p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    }.items():
        subprocess.run([openssl, "genpkey", *args, "-out", str(root / f"{name}.pem")], check=True)
    hsm.import_pem(root / "ossl-ec.pem", "ossl-ec", "a1")
    hsm.import_pem(root / "ossl-rsa.pem", "ossl-rsa-nopub", "a2", "--no-public-key")
    hsm.import_pem(root / "ossl-ec.pem", "ossl-ec-nopub", "a3", "--no-public-key")
    hsm.import_pem(root / "ossl-p384.pem", "ossl-p384", "a4")
    # Two key pairs where one's public key object carries the other's id.
    other = root / "other.pem"
    other.write_bytes(private_key_pem(generate_private_key()))
    hsm.import_pem(root / "ossl-ec.pem", "mixed", "b1", "--no-public-key")
    hsm.import_pem(other, "other", "b1", "--force")
    with pytest.MonkeyPatch.context() as mp:
        _activate(mp, conf)
        for alg, label in GENERATED.items():
            generate_keypair_on_token(
                SOFTHSM2_MODULE, token_label=TOKEN, pin=PIN, key_label=label, algorithm=alg
            )
        unload_module(SOFTHSM2_MODULE)
    yield hsm


@pytest.fixture
def hsm(softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHsm]:
    """The module's token, made visible to the PKCS#11 module for one test."""
    _activate(monkeypatch, softhsm.conf)
    yield softhsm
    unload_module(SOFTHSM2_MODULE)


def _open(label: str, **kw: object) -> Pkcs11Signer:
    args: dict[str, object] = {"token_label": TOKEN, "pin": PIN, "key_label": label, **kw}
    return Pkcs11Signer.open(SOFTHSM2_MODULE, **args)  # type: ignore[arg-type]


def _verify(public_key: PublicKey, signature: bytes, data: bytes) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    else:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def _spki(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def test_signatures_verify_with_the_public_key(hsm: SoftHsm, algorithm: KeyAlgorithm) -> None:
    with _open(GENERATED[algorithm]) as signer:
        assert isinstance(signer, Signer)
        assert signer.algorithm is algorithm
        for data in (b"", b"manifest bytes", os.urandom(100_000)):
            signature = signer.sign(data)
            _verify(signer.public_key(), signature, data)
        with pytest.raises(InvalidSignature):
            _verify(signer.public_key(), signer.sign(b"one"), b"two")


def test_ecdsa_signatures_are_der_and_randomised(hsm: SoftHsm) -> None:
    with _open(GENERATED[KeyAlgorithm.EC_P256]) as signer:
        first, second = signer.sign(b"same"), signer.sign(b"same")
    assert first != second
    assert first[0] == 0x30 and first[1] == len(first) - 2


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def test_public_key_is_the_one_on_the_token(hsm: SoftHsm, algorithm: KeyAlgorithm) -> None:
    with _open(GENERATED[algorithm]) as signer:
        derived = signer.public_key()
    lib = pkcs11.lib(os.path.realpath(SOFTHSM2_MODULE))
    with lib.get_token(token_label=TOKEN).open(user_pin=PIN) as session:
        obj = session.get_key(pkcs11.ObjectClass.PUBLIC_KEY, label=GENERATED[algorithm])
        if algorithm is KeyAlgorithm.RSA_3072:
            numbers = derived.public_numbers()  # type: ignore[union-attr]
            assert int.from_bytes(obj[pkcs11.Attribute.MODULUS], "big") == numbers.n
            assert numbers.n.bit_length() == 3072
        else:
            point = derived.public_bytes(
                serialization.Encoding.X962
                if algorithm is KeyAlgorithm.EC_P256
                else serialization.Encoding.Raw,
                serialization.PublicFormat.UncompressedPoint
                if algorithm is KeyAlgorithm.EC_P256
                else serialization.PublicFormat.Raw,
            )
            assert obj[pkcs11.Attribute.EC_POINT][2:] == point


def test_generate_returns_the_public_key_and_refuses_a_used_label(hsm: SoftHsm) -> None:
    public = generate_keypair_on_token(
        SOFTHSM2_MODULE, token_label=TOKEN, pin=PIN, key_label="fresh", key_id=b"\xf0\x01"
    )
    with _open("fresh") as by_label, _open(None, key_id=b"\xf0\x01") as by_id:
        assert _spki(by_label.public_key()) == _spki(public) == _spki(by_id.public_key())
    with pytest.raises(KeyMaterialError, match="already holds a private key labelled 'fresh'"):
        generate_keypair_on_token(SOFTHSM2_MODULE, token_label=TOKEN, pin=PIN, key_label="fresh")


def test_openssl_made_key_signs_what_openssl_verifies(hsm: SoftHsm, openssl: str) -> None:
    pem = hsm.root / "ossl-ec.pem"
    public = serialization.load_pem_private_key(pem.read_bytes(), None).public_key()
    data = hsm.root / "data.bin"
    data.write_bytes(b"sealed by a token, checked by openssl")
    with _open("ossl-ec") as signer:
        assert _spki(signer.public_key()) == _spki(public)  # type: ignore[arg-type]
        (hsm.root / "data.sig").write_bytes(signer.sign(data.read_bytes()))
    subprocess.run([openssl, "pkey", "-in", str(pem), "-pubout", "-out", str(hsm.root / "pub.pem")],
                   check=True)  # fmt: skip
    done = subprocess.run(
        [openssl, "dgst", "-sha256", "-verify", str(hsm.root / "pub.pem"),
         "-signature", str(hsm.root / "data.sig"), str(data)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_rsa_key_without_public_object_uses_the_modulus(hsm: SoftHsm) -> None:
    with _open("ossl-rsa-nopub") as signer:
        assert signer.algorithm is KeyAlgorithm.RSA_3072  # any RSA of 2048 bits or more
        _verify(signer.public_key(), signer.sign(b"x"), b"x")


def test_ec_key_without_public_object_is_refused_with_a_hint(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="no public key object") as info:
        _open("ossl-ec-nopub")
    assert "--no-public-key" in info.value.diagnostics()


def test_a_public_key_object_of_another_key_is_caught(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="does not match"):
        _open("mixed")


def test_other_curves_are_refused(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="unsupported curve"):
        _open("ossl-p384")


def test_wrong_pin_is_refused_without_showing_it(hsm: SoftHsm) -> None:
    wrong = "wrong-pin-31337"
    with pytest.raises(KeyMaterialError, match="rejected the PIN") as info:
        _open(GENERATED[KeyAlgorithm.EC_P256], pin=wrong)
    error = info.value
    assert error.__cause__ is None and error.__suppress_context__
    for text in (str(error), error.diagnostics(), repr(error)):
        assert wrong not in text and PIN not in text
    with _open(GENERATED[KeyAlgorithm.EC_P256]) as signer:  # the token is not locked
        assert signer.sign(b"ok")


def test_missing_key_names_what_is_there_and_how_to_import(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="no private key labelled 'absent'") as info:
        _open("absent")
    text = info.value.diagnostics()
    assert "'gen-ec-p256'" in text
    assert f"softhsm2-util --import key.pem --token {TOKEN} --label absent" in text
    assert PIN not in text


def test_unknown_token_says_how_to_create_it(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="no PKCS#11 token labelled 'nope'") as info:
        _open("k", token_label="nope")
    assert "softhsm2-util --init-token --free --label nope" in info.value.diagnostics()
    assert f"'{TOKEN}'" in str(info.value)
    with pytest.raises(KeyMaterialError, match="in slot 999"):
        _open("k", token_label=None, slot_id=999)


def test_token_by_slot_id(hsm: SoftHsm) -> None:
    slot_id = (
        pkcs11.lib(os.path.realpath(SOFTHSM2_MODULE)).get_token(token_label=TOKEN).slot.slot_id
    )
    with _open(GENERATED[KeyAlgorithm.ED25519], token_label=None, slot_id=slot_id) as signer:
        assert signer.algorithm is KeyAlgorithm.ED25519


def test_token_label_and_slot_must_agree(hsm: SoftHsm, tmp_path: Path) -> None:
    slot_id = (
        pkcs11.lib(os.path.realpath(SOFTHSM2_MODULE)).get_token(token_label=TOKEN).slot.slot_id
    )
    with pytest.raises(KeyMaterialError, match=f"labelled 'other' in slot {slot_id}"):
        _open("k", token_label="other", slot_id=slot_id)


def test_twin_token_labels_need_a_slot_id(
    softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "tokens").mkdir()
    twins = SoftHsm(tmp_path, tmp_path / "softhsm2.conf")
    twins.conf.write_text(softhsm.conf.read_text().replace(str(softhsm.root), str(tmp_path)))
    for _ in range(2):
        twins.util("--init-token", "--free", "--label", "twin", "--pin", PIN, "--so-pin", SO_PIN)
    _activate(monkeypatch, twins.conf)
    try:
        with pytest.raises(KeyMaterialError, match="several PKCS#11 tokens") as info:
            _open("k", token_label="twin")
        assert "slot-id" in info.value.diagnostics()
    finally:
        unload_module(SOFTHSM2_MODULE)


def test_several_matching_keys_are_refused(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="2 private keys match") as info:
        _open(None, key_id=bytes.fromhex("b1"))
    assert "Name the key by id" in info.value.diagnostics()


def test_a_failing_token_gives_key_material_errors(
    hsm: SoftHsm, caplog: pytest.LogCaptureFixture
) -> None:
    signer = _open(GENERATED[KeyAlgorithm.EC_P256])
    signer._login.session.close()  # as if the token went away under the signer
    with pytest.raises(KeyMaterialError, match="failed to sign") as info:
        signer.sign(b"x")
    assert "reopen the signer" in info.value.diagnostics()
    signer.close()
    assert "closing the session" in caplog.text


def test_generation_needs_the_mechanisms(hsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> None:
    _activate(monkeypatch, hsm.conf_with_mechanisms("CKM_ECDSA,CKM_SHA256_RSA_PKCS"))
    with pytest.raises(KeyMaterialError, match=r"does not offer EC_KEY_PAIR_GEN \(CKM_"):
        generate_keypair_on_token(SOFTHSM2_MODULE, token_label=TOKEN, pin=PIN, key_label="nogen")


def test_missing_or_foreign_module(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="does not exist") as info:
        Pkcs11Signer.open(tmp_path / "absent.so", token_label=TOKEN, pin=PIN, key_label="k")
    assert "apt-get install softhsm2" in info.value.diagnostics()
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not a shared library")
    with pytest.raises(KeyMaterialError, match="cannot load PKCS#11 module"):
        Pkcs11Signer.open(junk, token_label=TOKEN, pin=PIN, key_label="k")


@pytest.mark.parametrize(
    ("algorithm", "offered", "missing"),
    [
        (KeyAlgorithm.ED25519, "CKM_ECDSA,CKM_SHA256_RSA_PKCS", "EDDSA"),
        (KeyAlgorithm.EC_P256, "CKM_EDDSA,CKM_SHA256_RSA_PKCS", "ECDSA"),
    ],
)
def test_a_mechanism_the_token_lacks_is_refused_when_opening(
    hsm: SoftHsm,
    monkeypatch: pytest.MonkeyPatch,
    algorithm: KeyAlgorithm,
    offered: str,
    missing: str,
) -> None:
    _activate(monkeypatch, hsm.conf_with_mechanisms(offered))
    with pytest.raises(KeyMaterialError, match=f"does not offer {missing} \\(CKM_{missing}\\)"):
        _open(GENERATED[algorithm])


def test_signers_on_one_token_share_its_login(hsm: SoftHsm) -> None:
    first = _open(GENERATED[KeyAlgorithm.EC_P256])
    second = _open(GENERATED[KeyAlgorithm.ED25519])
    with pytest.raises(KeyMaterialError, match="PIN differs") as info:
        _open(GENERATED[KeyAlgorithm.RSA_3072], pin="another-pin-2718")
    assert "another-pin-2718" not in info.value.diagnostics()
    with pytest.raises(KeyMaterialError, match="still in use"):
        unload_module(SOFTHSM2_MODULE)
    first.close()
    first.close()  # idempotent
    _verify(second.public_key(), second.sign(b"still logged in"), b"still logged in")
    second.close()
    assert second.closed and "closed" in repr(second)
    with pytest.raises(KeyMaterialError, match="is closed"):
        second.sign(b"x")


def test_one_signer_serves_many_threads(hsm: SoftHsm) -> None:
    failures: list[BaseException] = []
    with _open(GENERATED[KeyAlgorithm.EC_P256]) as ecdsa, _open(GENERATED[KeyAlgorithm.ED25519]) as eddsa:  # fmt: skip

        def work(n: int) -> None:
            try:
                for i in range(50):
                    data = f"{n}-{i}".encode()
                    signer = ecdsa if i % 2 else eddsa
                    _verify(signer.public_key(), signer.sign(data), data)
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures


def test_from_uri_with_a_pin_file(hsm: SoftHsm, tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)
    uri = (
        f"pkcs11:token={TOKEN};object=ossl-ec;type=private"
        f"?module-path={SOFTHSM2_MODULE}&pin-source=file:{pin_file}"
    )
    with Pkcs11Signer.from_uri(uri) as signer:
        assert signer.algorithm is KeyAlgorithm.EC_P256
    with Pkcs11Signer.from_uri(
        f"pkcs11:token={TOKEN};id=%a1", module_path=SOFTHSM2_MODULE, pin=PIN
    ) as by_id:
        assert by_id.algorithm is KeyAlgorithm.EC_P256


def test_from_uri_needs_a_module_and_a_pin(hsm: SoftHsm) -> None:
    with pytest.raises(KeyMaterialError, match="no PKCS#11 module") as info:
        Pkcs11Signer.from_uri(f"pkcs11:token={TOKEN};object=ossl-ec?pin-value={PIN}")
    assert "module-path=" in info.value.diagnostics()
    with pytest.raises(KeyMaterialError, match="no PIN") as info:
        Pkcs11Signer.from_uri(f"pkcs11:token={TOKEN};object=ossl-ec", module_path=SOFTHSM2_MODULE)
    assert "pin-source=" in info.value.diagnostics()
    with pytest.raises(KeyMaterialError, match="no key was named"):
        Pkcs11Signer.from_uri(f"pkcs11:token={TOKEN}?pin-value={PIN}", module_path=SOFTHSM2_MODULE)
    with pytest.raises(KeyMaterialError, match="no PKCS#11 token was named"):
        Pkcs11Signer.from_uri(f"pkcs11:object=k?pin-value={PIN}", module_path=SOFTHSM2_MODULE)


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def test_certificate_for_the_token_key_validates_its_signatures(
    hsm: SoftHsm, algorithm: KeyAlgorithm
) -> None:
    ca = CertificateAuthority.create_root("Sceau test root")
    now = dt.datetime.now(dt.UTC)
    with _open(GENERATED[algorithm]) as signer:
        cert = ca.issue(
            signer.public_key(), common_name="gateway seal", profile=CertProfile.SEAL, now=now
        )
        data = b"a manifest sealed on the token"
        signature = signer.sign(data)
    assert public_key_matches(cert, signer.public_key())
    result = validate_chain(cert, anchors=[ca.certificate], at_time=now, profile=CertProfile.SEAL)
    assert result.ok, result.reasons
    _verify(cert.public_key(), signature, data)  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def test_seal_made_on_the_token_verifies(
    hsm: SoftHsm, algorithm: KeyAlgorithm, openssl: str, tmp_path: Path
) -> None:
    ca = CertificateAuthority.create_root("Sceau test root")
    now = dt.datetime.now(dt.UTC)
    manifest = b'{"folder":"f-1","attachments":[]}'
    with _open(GENERATED[algorithm]) as signer:
        cert = ca.issue(
            signer.public_key(), common_name="gateway seal", profile=CertProfile.SEAL, now=now
        )
        sealed = seal(manifest, signer=signer, certificate=cert, signing_time=now)
    verdict = verify_seal(sealed, manifest, anchors=[ca.certificate], at_time=now)
    assert verdict.ok, verdict.reasons
    assert not verify_seal(sealed, manifest + b" ", anchors=[ca.certificate], at_time=now).ok
    if algorithm is KeyAlgorithm.ED25519:
        return  # OpenSSL 3.0 cannot verify Ed25519 SignedData (see trust.seal)
    (tmp_path / "seal.p7s").write_bytes(sealed)
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "root.pem").write_bytes(certificate_pem(ca.certificate))
    done = subprocess.run(
        [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", "seal.p7s",
         "-content", "manifest.json", "-CAfile", "root.pem", "-out", os.devnull],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("wrapped", [True, False], ids=["der-octet-string", "bare-point"])
@pytest.mark.parametrize(
    "algorithm", [KeyAlgorithm.EC_P256, KeyAlgorithm.ED25519], ids=["p256", "ed25519"]
)
def test_ec_points_in_either_encoding(algorithm: KeyAlgorithm, wrapped: bool) -> None:
    # Tokens differ: CKA_EC_POINT should be a DER OCTET STRING, some store the bare point.
    public = generate_private_key(algorithm).public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        params = bytes.fromhex("06082a8648ce3d030107")
        point = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        key_type = pkcs11.KeyType.EC
    else:
        params = b"\x13\x0cedwards25519"  # PKCS#11 v3.0 allows the curve's printable name
        point = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key_type = pkcs11.KeyType.EC_EDWARDS
    if wrapped:
        point = bytes([0x04, len(point)]) + point
    attrs = {pkcs11.Attribute.EC_PARAMS: params, pkcs11.Attribute.EC_POINT: point}
    assert _spki(_public_from_attributes(key_type, attrs, "test key")) == _spki(public)
    with pytest.raises(KeyMaterialError, match="unexpected length"):
        attrs[pkcs11.Attribute.EC_POINT] = point[:-1]
        _public_from_attributes(key_type, attrs, "test key")


def test_evidence_seal_cli_with_a_pkcs11_uri(hsm: SoftHsm, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from appliance.cli import main
    from trust.bundle_verify import TrustInputs, verify_bundle
    from trust.pki import certificate_pem
    from trust.throwaway_pki import ThrowawayPki

    pki = ThrowawayPki.create()
    paths = pki.write_to(tmp_path / "pki")
    with _open(GENERATED[KeyAlgorithm.EC_P256]) as signer:
        cert = pki.root.issue(signer.public_key(), common_name="HSM seal", profile=CertProfile.SEAL)
    (tmp_path / "hsm-seal.pem").write_bytes(certificate_pem(cert))
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN)
    pin_file.chmod(0o600)
    (tmp_path / "acte.pdf").write_bytes(b"%PDF-1.4 sealed on a token")
    uri = (
        f"pkcs11:token={TOKEN};object={GENERATED[KeyAlgorithm.EC_P256]};type=private"
        f"?module-path={SOFTHSM2_MODULE}&pin-source=file:{pin_file}"
    )
    args = ["evidence", "seal", str(tmp_path / "acte.pdf"), "--key", uri,
            "--cert", str(tmp_path / "hsm-seal.pem"), "--local-tsa-key", str(paths["tsa.key"]),
            "--local-tsa-cert", str(paths["tsa.pem"]), "--tsa-anchor", str(paths["root-ca.pem"]),
            "--journal", str(tmp_path / "j.db"), "-o", str(tmp_path / "out.asice")]  # fmt: skip
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert PIN not in done.output
    report = verify_bundle(
        tmp_path / "out.asice", trust=TrustInputs(anchors=(pki.root.certificate,))
    )
    assert report.ok, report.reasons
    assert report.facts["sealed by"] == "CN=HSM seal"
