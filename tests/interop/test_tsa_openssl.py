"""RFC 3161 against the real openssl, both ways and over real HTTP.

- ``openssl ts -verify`` accepts our TSA's tokens (P-256, RSA), by data and by query;
- our TSA answers queries made by ``openssl ts -query``, and openssl reads our refusals;
- our client accepts tokens from ``openssl ts -reply`` running behind a loopback HTTP
  server, with ESSCertIDv2 (SHA-256) or ESSCertID (SHA-1), and understands its refusals.

Ed25519: ``openssl ts -verify`` in OpenSSL 3.0 cannot check Ed25519 tokens at all
(its PKCS#7 code asks EVP for a digest-then-sign operation that pure EdDSA does not
offer: "operation not supported for this keytype"). The test pins that down as the
only failure, then does what an auditor can do by hand: ``openssl pkeyutl -rawin``
for the signature over the signed attributes and ``openssl dgst -sha512`` for the
message-digest attribute, beside our verifier and pyHanko, which accept the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from tests.loopback_http import serve, tsa_handler
from trust.errors import TimestampAuthorityError
from trust.keys import KeyAlgorithm, public_key_pem
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import AiohttpTimeStamper, HttpTimeStamper, TimestampToken
from trust.tsp_parse import parse_response
from trust.tsp_request import TimestampRequest
from trust.tsp_verify import verify_timestamp_response

pytestmark = pytest.mark.interop

BODY = b"sceau.example/gateway/42\n1024\nq2mHnO4zXXw0lFP8TzK0iDPGzrLkF3eU8JU6JdQ2C4w=\n"
FOREIGN_POLICY = "1.2.3.4.1"
SIGN_ALGORITHMS = [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_3072]


def _run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=check)


def _openssl_major(openssl: str) -> int:
    match = re.match(r"OpenSSL (\d+)\.", _run(openssl, "version", check=True).stdout)
    assert match
    return int(match.group(1))


@pytest.fixture(scope="module", params=SIGN_ALGORITHMS, ids=[a.value for a in SIGN_ALGORITHMS])
def signing_pki(request: pytest.FixtureRequest) -> ThrowawayPki:
    """P-256 and RSA: what ``openssl ts`` 3.0 can sign and verify (RSA keys are slow: once)."""
    return ThrowawayPki.create(request.param)


def _write(tmp: Path, pki: ThrowawayPki, **blobs: bytes) -> dict[str, Path]:
    paths = pki.write_to(tmp / "pki")
    for name, data in blobs.items():
        (tmp / name).write_bytes(data)
        paths[name] = tmp / name
    return paths


def _ts_verify(
    openssl: str, files: dict[str, Path], *extra: str
) -> subprocess.CompletedProcess[str]:
    return _run(
        openssl,
        "ts",
        "-verify",
        "-in",
        str(files["tsr"]),
        "-CAfile",
        str(files["root-ca.pem"]),
        *extra,
    )


# --- openssl checks our tokens --------------------------------------------------------


def test_openssl_verifies_our_tokens(
    openssl: str, signing_pki: ThrowawayPki, tmp_path: Path
) -> None:
    tsa = TimeStampAuthority(signer=signing_pki.tsa.signer, certificate=signing_pki.tsa.certificate)
    request = TimestampRequest.for_data(BODY)
    files = _write(tmp_path, signing_pki, body=BODY, tsr=tsa.respond(request.der), tsq=request.der)

    by_data = _ts_verify(openssl, files, "-data", str(files["body"]))
    assert by_data.returncode == 0 and "Verification: OK" in by_data.stdout, by_data.stderr
    by_query = _ts_verify(openssl, files, "-queryfile", str(files["tsq"]))  # nonce too
    assert by_query.returncode == 0 and "Verification: OK" in by_query.stdout, by_query.stderr

    (tmp_path / "other").write_bytes(BODY + b"x")
    wrong = _ts_verify(openssl, files, "-data", str(tmp_path / "other"))
    assert wrong.returncode != 0 and "message imprint mismatch" in wrong.stderr


def test_openssl_with_cert_req_false(openssl: str, pki: ThrowawayPki, tmp_path: Path) -> None:
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    tsr = tsa.respond(TimestampRequest.for_data(BODY, cert_req=False).der)
    files = _write(tmp_path, pki, body=BODY, tsr=tsr)
    alone = _ts_verify(openssl, files, "-data", str(files["body"]))
    assert alone.returncode != 0  # the token does not carry the TSA certificate
    given = _ts_verify(
        openssl, files, "-data", str(files["body"]), "-untrusted", str(files["tsa.pem"])
    )
    assert given.returncode == 0 and "Verification: OK" in given.stdout, given.stderr


def test_openssl_sees_a_damaged_token(openssl: str, pki: ThrowawayPki, tmp_path: Path) -> None:
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    tsr = bytearray(tsa.respond(TimestampRequest.for_data(BODY).der))
    tst = parse_response(bytes(tsr)).token
    assert tst is not None
    at = bytes(tsr).index(tst.tst_info_der) + len(tst.tst_info_der) - 30
    tsr[at] ^= 1
    files = _write(tmp_path, pki, body=BODY, tsr=bytes(tsr))
    broken = _ts_verify(openssl, files, "-data", str(files["body"]))
    assert broken.returncode != 0 and "Verification: FAILED" in broken.stdout


@pytest.mark.parametrize(
    "query_args", [["-sha256", "-cert"], ["-sha512", "-cert", "-no_nonce"], ["-sha384"]]
)
def test_our_tsa_answers_openssl_queries(
    openssl: str, pki: ThrowawayPki, tmp_path: Path, query_args: list[str]
) -> None:
    files = _write(tmp_path, pki, body=BODY)
    query = tmp_path / "q.tsq"
    _run(
        openssl,
        "ts",
        "-query",
        "-data",
        str(files["body"]),
        *query_args,
        "-out",
        str(query),
        check=True,
    )
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    (tmp_path / "tsr").write_bytes(tsa.respond(query.read_bytes()))
    files["tsr"] = tmp_path / "tsr"
    extra = [] if "-cert" in query_args else ["-untrusted", str(files["tsa.pem"])]
    done = _ts_verify(openssl, files, "-queryfile", str(query), *extra)
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr


def test_openssl_reads_our_refusals(openssl: str, pki: ThrowawayPki, tmp_path: Path) -> None:
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    sha1_query = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha1"},
                "hashed_message": hashlib.sha1(BODY, usedforsecurity=False).digest(),
            },
        }
    ).dump()
    (tmp_path / "r.tsr").write_bytes(tsa.respond(sha1_query))
    text = _run(openssl, "ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text", check=True).stdout
    assert "Status: Rejected." in text
    assert "Failure info: unrecognized or unsupported algorithm identifier" in text
    assert "use SHA-256, SHA-384 or SHA-512" in text


def test_ed25519_tokens_and_openssl_3(openssl: str, make_pki: Any, tmp_path: Path) -> None:
    pki: ThrowawayPki = make_pki(KeyAlgorithm.ED25519)
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    tsr = tsa.respond(TimestampRequest.for_data(BODY).der)
    files = _write(tmp_path, pki, body=BODY, tsr=tsr)
    done = _ts_verify(openssl, files, "-data", str(files["body"]))
    if _openssl_major(openssl) >= 4:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0
        assert "operation not supported for this keytype" in done.stderr
        assert "TS_RESP_verify_signature:signature failure" in done.stderr
    # Ours accepts it; the two halves of the signature check, by hand with openssl:
    assert verify_timestamp_response(tsr, data=BODY, anchors=[pki.root.certificate]).ok
    token = parse_response(tsr).token
    assert token is not None
    signer = cms.ContentInfo.load(token.token_der)["content"]["signer_infos"][0]
    (tmp_path / "attrs.der").write_bytes(b"\x31" + signer["signed_attrs"].dump()[1:])
    (tmp_path / "sig.bin").write_bytes(bytes(signer["signature"]))
    (tmp_path / "tsa-pub.pem").write_bytes(public_key_pem(pki.tsa.certificate.public_key()))  # type: ignore[arg-type]
    (tmp_path / "tst.der").write_bytes(token.tst_info_der)
    checked = _run(
        openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "tsa-pub.pem"),
        "-rawin", "-in", str(tmp_path / "attrs.der"), "-sigfile", str(tmp_path / "sig.bin"),
    )  # fmt: skip
    assert checked.returncode == 0 and "Signature Verified Successfully" in checked.stdout
    digest = _run(openssl, "dgst", "-sha512", "-r", str(tmp_path / "tst.der"), check=True)
    attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
    assert attrs["message_digest"].hex() == digest.stdout.split()[0]


def _pyhanko(pki: ThrowawayPki, token: bytes) -> dict[str, Any]:
    root = asn1_x509.Certificate.load(pki.root.certificate.public_bytes(Encoding.DER))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    signed_data = cms.ContentInfo.load(token)["content"]
    status: dict[str, Any] = asyncio.run(
        validate_tst_signed_data(signed_data, context, lambda alg: hashlib.new(alg, BODY).digest())
    )
    return status


# --- our client against openssl's TSA -------------------------------------------------


def _openssl_tsa_config(tmp: Path, *, ess_alg: str, digests: str) -> Path:
    (tmp / "serial").write_text("00\n")  # openssl increments before use
    config = tmp / "tsa.cnf"
    config.write_text(
        "[ tsa ]\n"
        "default_tsa = tsa_config1\n"
        "[ tsa_config1 ]\n"
        f"serial = {tmp / 'serial'}\n"
        "signer_digest = sha256\n"
        f"default_policy = {FOREIGN_POLICY}\n"
        f"digests = {digests}\n"
        "accuracy = secs:1, millisecs:500\n"
        "ordering = no\n"
        "tsa_name = yes\n"
        "ess_cert_id_chain = no\n"
        f"ess_cert_id_alg = {ess_alg}\n"
    )
    return config


def _openssl_responder(openssl: str, tmp: Path, files: dict[str, Path], config: Path) -> Any:
    lock = asyncio.Lock()  # one serial file, one query file: one request at a time

    async def respond(query: bytes) -> bytes:
        async with lock:
            (tmp / "q.tsq").write_bytes(query)
            process = await asyncio.create_subprocess_exec(
                openssl, "ts", "-reply", "-config", str(config), "-queryfile", str(tmp / "q.tsq"),
                "-signer", str(files["tsa.pem"]), "-inkey", str(files["tsa.key"]),
                "-chain", str(files["root-ca.pem"]), "-out", str(tmp / "r.tsr"),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            return (tmp / "r.tsr").read_bytes()

    return respond


def _against_openssl_tsa(
    openssl: str, pki: ThrowawayPki, tmp: Path, *, ess_alg: str = "sha256", digests: str = "sha256"
) -> list[TimestampToken]:
    files = _write(tmp, pki)
    config = _openssl_tsa_config(tmp, ess_alg=ess_alg, digests=digests)
    anchors = [pki.root.certificate]

    async def scenario() -> list[TimestampToken]:
        handler = tsa_handler(_openssl_responder(openssl, tmp, files, config))
        async with serve("/tsa", handler) as url:
            sync = HttpTimeStamper(url=url, anchors=anchors, policy=FOREIGN_POLICY)
            first = await asyncio.to_thread(sync.timestamp, BODY)
            second = await AiohttpTimeStamper(url=url, anchors=anchors).async_timestamp(BODY)
            return [first, second]

    return asyncio.run(scenario())


@pytest.mark.parametrize("ess_alg", ["sha256", "sha1"])
def test_client_accepts_openssl_tsa(
    openssl: str, signing_pki: ThrowawayPki, tmp_path: Path, ess_alg: str
) -> None:
    tokens = _against_openssl_tsa(openssl, signing_pki, tmp_path, ess_alg=ess_alg)
    assert [t.serial_number for t in tokens] == [1, 2]  # openssl's serial file
    for token in tokens:
        assert token.policy == FOREIGN_POLICY
        assert token.tsa_name == signing_pki.tsa.certificate.subject.rfc4514_string()
        assert token.accuracy is not None and token.accuracy.total_seconds() == 1.5
        signed = cms.ContentInfo.load(token.token_der)["content"]["signer_infos"][0]
        kinds = {a["type"].native for a in signed["signed_attrs"]}
        wanted = "signing_certificate_v2" if ess_alg == "sha256" else "signing_certificate"
        assert wanted in kinds
        offline = verify_timestamp_response(
            token.response_der, data=BODY, anchors=[signing_pki.root.certificate]
        )
        assert offline.ok, offline.reasons
        assert not verify_timestamp_response(
            token.response_der, data=b"other", anchors=[signing_pki.root.certificate]
        ).ok
        status = _pyhanko(signing_pki, token.token_der)
        assert status["intact"] and status["valid"] and status["trust_problem_indic"] is None


def test_client_understands_openssl_refusals(
    openssl: str, pki: ThrowawayPki, tmp_path: Path
) -> None:
    with pytest.raises(TimestampAuthorityError) as caught:
        _against_openssl_tsa(openssl, pki, tmp_path, digests="sha384")
    text = caught.value.diagnostics()
    assert "refused the request: rejection: failInfo bad_alg" in text
    assert "does not accept SHA-256" in text
