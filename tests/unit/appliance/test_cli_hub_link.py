"""``sceau hub init|enrollment-token|gateway|witness``, and the settings file."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from appliance.cli import main
from appliance.exit_codes import ExitCode
from hub.admin import HubAdmin
from hub.enrollment import EnrollmentRequest
from hub.link_tx import link_tx
from hub.runtime import HubRuntime
from hub.settings import HubConfig
from hubee.model import OrgRef, OrgType
from trust.checkpoint import VerifierKey
from trust.keys import FileSigner, KeyAlgorithm
from trust.pki import CertProfile, load_certificates_file, make_csr, validate_chain

COMMUNE = OrgRef(OrgType.SI, "21930066200016", "93066")


def sceau(*args: str) -> Result:
    return CliRunner().invoke(main, ["hub", *args])


def initialised(tmp_path: Path) -> Path:
    data = tmp_path / "hub"
    done = sceau(
        "init",
        "--data",
        str(data),
        "--name",
        "hub.test",
        "--host",
        "hub.test",
        "--host",
        "127.0.0.1",
    )
    assert done.exit_code == 0, done.output
    return data


def test_init_creates_private_keys_certificates_and_settings(tmp_path: Path) -> None:
    data = initialised(tmp_path)
    keys = data / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for stem in ("ca", "tls", "tsa", "witness", "journal"):
        assert stat.S_IMODE((keys / f"{stem}.key").stat().st_mode) == 0o600
    ca = load_certificates_file(keys / "ca.pem")[0]
    now = datetime.now(UTC)
    for stem, profile in (("tls", CertProfile.TLS_SERVER), ("tsa", CertProfile.TSA)):
        cert = load_certificates_file(keys / f"{stem}.pem")[0]
        assert validate_chain(cert, anchors=[ca], at_time=now, profile=profile).ok
    witness = VerifierKey.parse((keys / "witness.vkey").read_text().strip())
    assert witness.name == "hub.test-witness"
    settings = yaml.safe_load((data / "hub.yaml").read_text())
    assert settings["name"] == "hub.test"
    assert HubConfig.from_mapping(settings, data_dir=data).name == "hub.test"
    again = sceau("init", "--data", str(data))
    assert again.exit_code == ExitCode.CONFIGURATION and "refusing to replace" in again.output


def test_settings_refuse_unknown_keys_naming_them(tmp_path: Path) -> None:
    data = initialised(tmp_path)
    settings = yaml.safe_load((data / "hub.yaml").read_text())
    (data / "hub.yaml").write_text(yaml.safe_dump({**settings, "checkpoint_evry": 5}))
    done = sceau("enrollment-token", "--data", str(data), COMMUNE.key)
    assert done.exit_code == ExitCode.CONFIGURATION
    assert "hub.yaml:" in done.output and 'unknown key "checkpoint_evry"' in done.output


def _add_commune(data: Path) -> None:
    done = CliRunner().invoke(
        main,
        [
            "hub",
            "org",
            "add",
            "--data",
            str(data),
            "--type",
            "SI",
            "--siret",
            COMMUNE.company_register,
            "--branch",
            COMMUNE.branch_code,
            "--name",
            "Commune de Saint-Denis",
        ],
    )
    assert done.exit_code == 0, done.output


def test_tokens_are_printed_once_and_stored_hashed(tmp_path: Path) -> None:
    data = initialised(tmp_path)
    unknown = sceau("enrollment-token", "--data", str(data), COMMUNE.key)
    assert unknown.exit_code == ExitCode.USAGE and "no organization" in unknown.output
    _add_commune(data)
    done = CliRunner().invoke(
        main, ["hub", "enrollment-token", "--data", str(data), COMMUNE.key, "--ttl", "2"]
    )
    assert done.exit_code == 0, done.output
    token = done.stdout.strip().splitlines()[0]
    assert len(token) >= 40
    rows = (
        sqlite3.connect(data / "hub.db")
        .execute("SELECT token_hash, expires_at FROM link_enrollment_tokens")
        .fetchall()
    )
    assert rows and rows[0][0] == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in (data / "hub.db").read_bytes()


def test_gateways_are_listed_revoked_and_alerts_reported(tmp_path: Path) -> None:
    data = initialised(tmp_path)
    _add_commune(data)
    token = (
        CliRunner()
        .invoke(main, ["hub", "enrollment-token", "--data", str(data), COMMUNE.key])
        .stdout.split()[0]
    )

    async def enroll() -> str:
        config = HubConfig.from_mapping(
            yaml.safe_load((data / "hub.yaml").read_text()), data_dir=data
        )
        runtime = await HubRuntime.open(config)
        try:
            journal = FileSigner.generate(KeyAlgorithm.ED25519)
            request = EnrollmentRequest(
                token=token,
                tls_csr=make_csr(FileSigner.generate().private_key, common_name="gw"),
                seal_csr=make_csr(FileSigner.generate().private_key, common_name="seal"),
                journal_key=VerifierKey.for_signer("gw.test/journal", journal),
            )
            enrolled = await runtime.link.enrollment.enroll(request, now=datetime.now(UTC))
            return enrolled.gateway_id
        finally:
            await runtime.close()

    gateway_id = asyncio.run(enroll())
    listed = sceau("gateway", "list", "--data", str(data))
    assert listed.exit_code == 0 and gateway_id in listed.output and "active" in listed.output
    revoked = sceau("gateway", "revoke", "--data", str(data), gateway_id, "--reason", "stolen")
    assert revoked.exit_code == 0 and "stolen" in revoked.output
    assert "revoked" in sceau("gateway", "list", "--data", str(data)).output
    missing = sceau("gateway", "revoke", "--data", str(data), "no-such-gateway")
    assert missing.exit_code == ExitCode.USAGE and "no gateway" in missing.output

    quiet = sceau("witness", "alerts", "--data", str(data))
    assert quiet.exit_code == 0 and "no witness alerts" in quiet.output

    async def alert() -> None:
        config = HubConfig(data_dir=data)
        admin = await HubAdmin.open(config)
        try:
            await admin.deps.store.write(
                lambda tx: link_tx(tx).insert_alert(
                    gateway_id, at=datetime.now(UTC), reason="fork: size 6", note=b"n", from_size=6
                )
            )
        finally:
            await admin.close()

    asyncio.run(alert())
    loud = sceau("witness", "alerts", "--data", str(data))
    assert loud.exit_code == ExitCode.VERIFICATION_FAILED and "fork: size 6" in loud.output
