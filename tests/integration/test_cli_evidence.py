"""`sceau evidence seal` and `sceau verify` as a user runs them: real subprocesses,
keys and certificates made by plain openssl, a TSA over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appliance.background_server import BackgroundServer
from hub.tsa_endpoint import make_tsa_app
from trust.keys import FileSigner
from trust.pki import load_certificates_file
from trust.tsa import TimeStampAuthority

SCEAU = [sys.executable, "-m", "appliance"]
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "hubee" / "JDD" / "CERTDC"


def sceau(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCEAU, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def _openssl(openssl: str, cwd: Path, *args: str) -> None:
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True)


def _openssl_pki(openssl: str, d: Path, kind: str) -> None:
    """A CA, a seal certificate and a TSA certificate, made by openssl alone."""
    genkey = {
        "ec": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "rsa": ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
    }[kind]
    for name in ("ca", "seal", "tsa"):
        _openssl(openssl, d, *genkey, "-out", f"{name}.key")
        os.chmod(d / f"{name}.key", 0o600)
    _openssl(
        openssl,
        d,
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=Test CA/O=Commune",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "ca.pem",
    )
    exts = {
        "seal": "keyUsage=critical,digitalSignature,nonRepudiation\n",
        "tsa": "keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
    }
    for name, ext in exts.items():
        (d / f"{name}.ext").write_text(ext)
        _openssl(
            openssl,
            d,
            "req",
            "-new",
            "-key",
            f"{name}.key",
            "-subj",
            f"/CN={name}/O=Commune",
            "-out",
            f"{name}.csr",
        )
        _openssl(
            openssl,
            d,
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
        )


@pytest.fixture(scope="module", params=["ec", "rsa"])
def _made_by_openssl(
    request: pytest.FixtureRequest, openssl: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    # RSA-3072 generation by openssl is slow: one PKI per key type per module.
    folder = tmp_path_factory.mktemp(f"openssl-{request.param}")
    _openssl_pki(openssl, folder, request.param)
    return folder


@pytest.fixture
def openssl_pki(_made_by_openssl: Path, tmp_path: Path) -> Path:
    for f in [*_made_by_openssl.iterdir(), *SAMPLES.iterdir()]:
        (tmp_path / f.name).write_bytes(f.read_bytes())
        os.chmod(tmp_path / f.name, f.stat().st_mode & 0o777)
    return tmp_path


def _seal_args(d: Path) -> list[str]:
    files = sorted(p.name for p in d.iterdir() if p.name.startswith("ER"))
    return [
        "evidence",
        "seal",
        *files,
        "--key",
        "seal.key",
        "--cert",
        "seal.pem",
        "--chain",
        "ca.pem",
        "--journal",
        "journal.db",
        "-o",
        "dossier.asice",
    ]


def test_seal_and_verify_with_openssl_made_keys_and_an_http_tsa(
    openssl_pki: Path, openssl: str
) -> None:
    d = openssl_pki
    tsa = TimeStampAuthority(
        FileSigner.load(d / "tsa.key"), load_certificates_file(d / "tsa.pem")[0]
    )
    with BackgroundServer(make_tsa_app(tsa)) as server:
        done = sceau(*_seal_args(d), "--tsa", f"{server.url}/tsa", "--tsa-anchor", "ca.pem", cwd=d)
    assert done.returncode == 0, done.stderr
    assert "sealed 4 file(s)" in done.stdout
    checked = sceau(
        "verify", "dossier.asice", "--anchor", "ca.pem", "--journal-key", "journal.db.vkey", cwd=d
    )
    assert checked.returncode == 0, checked.stdout
    assert "VALID" in checked.stdout and "O=Commune,CN=seal" in checked.stdout
    # The auditor's openssl route of docs/EVIDENCE.md, on the unpacked bundle.
    assert sceau("evidence", "extract", "dossier.asice", "-o", "x", cwd=d).returncode == 0
    x = d / "x"
    _openssl(
        openssl,
        x,
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "META-INF/signature001.p7s",
        "-content",
        "META-INF/ASiCManifest001.xml",
        "-CAfile",
        "../ca.pem",
        "-out",
        "/dev/null",
    )
    (x / "body").write_bytes(
        b"".join((x / "META-INF/sceau/checkpoint.note").read_bytes().splitlines(True)[:3])
    )
    _openssl(
        openssl,
        x,
        "ts",
        "-verify",
        "-data",
        "body",
        "-in",
        "META-INF/sceau/checkpoint.tsr",
        "-CAfile",
        "../ca.pem",
    )


def test_json_report_and_tamper_exit_code(openssl_pki: Path) -> None:
    d = openssl_pki
    done = sceau(
        *_seal_args(d),
        "--local-tsa-key",
        "tsa.key",
        "--local-tsa-cert",
        "tsa.pem",
        "--tsa-anchor",
        "ca.pem",
        cwd=d,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(
        sceau("verify", "dossier.asice", "--anchor", "ca.pem", "--json", cwd=d).stdout
    )
    assert report["valid"] is True
    assert {s["name"] for s in report["sections"]} >= {
        "seal",
        "journal",
        "checkpoint",
        "time-stamp",
        "files",
    }
    with zipfile.ZipFile(d / "dossier.asice") as src, zipfile.ZipFile(d / "bad.asice", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(
                info,
                data.replace(b"LA ROCHELLE", b"LA ROCHELLF")
                if info.filename.endswith("DD.xml")
                else data,
            )
    bad = sceau("verify", "bad.asice", "--anchor", "ca.pem", cwd=d)
    assert bad.returncode == 1
    assert "INVALID" in bad.stdout and "altered" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_a_journal_verifies_and_a_tampered_one_does_not(openssl_pki: Path) -> None:
    d = openssl_pki
    args = ["--local-tsa-key", "tsa.key", "--local-tsa-cert", "tsa.pem", "--tsa-anchor", "ca.pem"]
    assert sceau(*_seal_args(d), *args, cwd=d).returncode == 0
    ok = sceau("verify", "--journal", "journal.db", "--journal-key", "journal.db.vkey", cwd=d)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    import sqlite3

    conn = sqlite3.connect(d / "journal.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "entries" in tables
    # An attacker with file access drops the append-only trigger first.
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute(
        "UPDATE entries SET entry = replace(entry, 'file.sealed', 'file.sealeD') WHERE rowid = 1"
    )
    conn.commit()
    conn.close()
    bad = sceau("verify", "--journal", "journal.db", "--journal-key", "journal.db.vkey", cwd=d)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "INVALID" in bad.stdout


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ("no-tsa", 2, "no time-stamping authority configured"),
        ("lax-key", 3, "chmod 600"),
        ("wrong-cert", 3, "is not the certificate of"),
        ("tsa-down", 4, "cannot reach the TSA"),
    ],
)
def test_seal_failures_say_what_to_do(
    openssl_pki: Path, change: str, code: int, message: str
) -> None:
    d = openssl_pki
    args = _seal_args(d)
    if change == "no-tsa":
        extra: list[str] = []
    elif change == "lax-key":
        os.chmod(d / "seal.key", 0o644)
        extra = [
            "--local-tsa-key",
            "tsa.key",
            "--local-tsa-cert",
            "tsa.pem",
            "--tsa-anchor",
            "ca.pem",
        ]
    elif change == "wrong-cert":
        args[args.index("seal.pem")] = "tsa.pem"
        extra = [
            "--local-tsa-key",
            "tsa.key",
            "--local-tsa-cert",
            "tsa.pem",
            "--tsa-anchor",
            "ca.pem",
        ]
    else:
        extra = ["--tsa", "http://127.0.0.1:9/tsa", "--tsa-anchor", "ca.pem"]
    done = sceau(*args, *extra, cwd=d)
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (d / "dossier.asice").exists()


def test_verify_of_garbage_and_missing_files_is_a_clean_invalid(tmp_path: Path) -> None:
    (tmp_path / "junk.asice").write_bytes(b"not a zip at all")
    for name in ("junk.asice", "missing.asice"):
        done = sceau("verify", name, cwd=tmp_path)
        assert done.returncode == 1
        assert "INVALID" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr


def test_extract_refuses_path_traversal(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "evil.asice", "w") as zf:
        info = zipfile.ZipInfo("mimetype")
        zf.writestr(info, b"application/vnd.etsi.asic-e+zip")
        zf.writestr("../../escaped.txt", b"gotcha")
    done = sceau("evidence", "extract", "evil.asice", "-o", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert "safe relative path" in done.stderr or "'..'" in done.stderr
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert sceau("verify", cwd=tmp_path).returncode == 2
    assert sceau("nonsense", cwd=tmp_path).returncode == 2
