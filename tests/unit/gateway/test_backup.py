"""Backup and restore: an encrypted, consistent archive; a restored gateway verifies its
journal and opens; a wrong passphrase or a damaged archive is refused cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import main as cli
from gateway.backup import BackupCorrupt, WrongPassphrase, create_backup, restore_backup
from gateway.local_directory import add_client
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from hubee.model import Scope
from hubee.sqlite_store import sqlite_connection
from tests.unit.gateway.support import (
    DGS,
    SAINT_DENIS,
    HubPki,
    certdc_folder,
    deposit,
    enroll_offline,
    lan,
)
from trust.checkpoint import VerifierKey
from trust.journal_verify import verify_journal

PASS = "correct horse battery staple"


def _journal_ok(settings: GatewaySettings) -> bool:
    key = VerifierKey.parse(settings.paths.journal_vkey.read_text().strip())
    return verify_journal(settings.paths.journal, journal_keys=[key]).ok


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A backup made while the gateway runs, with one sealed dossier and a checkpoint."""
    root = tmp_path_factory.mktemp("bk")
    settings = enroll_offline(root / "dgs", HubPki.create(), DGS, "OSL")

    async def main() -> int:
        runtime = await GatewayRuntime.open(settings)
        drain = asyncio.create_task(runtime.drain.run())
        try:
            new = await add_client(
                runtime.services,
                runtime.store,
                name="l",
                company_register=DGS[0],
                branch_code=DGS[1],
                process_code="CERTDC",
                scope=Scope.OSL,
            )
            async with lan(runtime) as client:
                await client.login(new.client.client_id, new.secret, "OSL")
                await deposit(client, *certdc_folder(SAINT_DENIS, "ER1"))
            while await runtime.drain.pending():
                await asyncio.sleep(0.05)
            await runtime.checkpoints.maybe_checkpoint(force=True)
            # Taken while the runtime is open: the online path.
            await asyncio.to_thread(
                create_backup, settings.data_dir, root / "gw.bk", passphrase=PASS
            )
            return await runtime.journal.size()
        finally:
            drain.cancel()
            await runtime.close()

    size = asyncio.run(main())
    assert oct((root / "gw.bk").stat().st_mode & 0o777) == "0o600"
    return root / "gw.bk", size


def test_a_restored_gateway_verifies_its_journal_and_opens(
    archive: tuple[Path, int], tmp_path: Path
) -> None:
    path, _ = archive
    target = tmp_path / "restored"
    assert restore_backup(path, target, passphrase=PASS) > 5
    settings = GatewaySettings.load(target)
    assert _journal_ok(settings)
    assert oct(settings.paths.seal_key.stat().st_mode & 0o777) == "0o600"
    assert any((target / "blobs").rglob("*"))

    async def reopen() -> int:
        runtime = await GatewayRuntime.open(settings)
        try:
            return await runtime.store.read(
                lambda tx: (
                    sqlite_connection(tx).execute("SELECT count(*) FROM folders").fetchone()[0]
                )
            )
        finally:
            await runtime.close()

    assert asyncio.run(reopen()) == 1


def test_wrong_passphrase_and_damage_are_refused(archive: tuple[Path, int], tmp_path: Path) -> None:
    path, _ = archive
    with pytest.raises(WrongPassphrase):
        restore_backup(path, tmp_path / "a", passphrase="nope")
    data = bytearray(path.read_bytes())
    for where in (len(data) // 2, len(data) - 3, 60):
        damaged = tmp_path / f"d{where}.bk"
        flipped = bytearray(data)
        flipped[where] ^= 1
        damaged.write_bytes(bytes(flipped))
        with pytest.raises(BackupCorrupt):
            restore_backup(damaged, tmp_path / f"r{where}", passphrase=PASS)
        assert not (tmp_path / f"r{where}").exists()
    truncated = tmp_path / "t.bk"
    truncated.write_bytes(bytes(data[: len(data) - 1000]))
    with pytest.raises(BackupCorrupt):
        restore_backup(truncated, tmp_path / "t", passphrase=PASS)
    with pytest.raises(BackupCorrupt):
        restore_backup(_write(tmp_path / "junk", b"hello"), tmp_path / "j", passphrase=PASS)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_cli_exit_codes_and_no_traceback(archive: tuple[Path, int], tmp_path: Path) -> None:
    path, _ = archive
    runner = CliRunner()
    wrong = runner.invoke(
        cli,
        ["gateway", "restore", str(path), "--data", str(tmp_path / "x")],
        env={"SCEAU_BACKUP_PASSPHRASE": "nope"},
    )
    assert wrong.exit_code == 3, wrong.output
    assert "passphrase" in wrong.output and "Traceback" not in wrong.output
    junk = _write(tmp_path / "junk.bk", b"SCEAUBK1" + b"\0" * 60)
    bad = runner.invoke(
        cli,
        ["gateway", "restore", str(junk), "--data", str(tmp_path / "y")],
        env={"SCEAU_BACKUP_PASSPHRASE": PASS},
    )
    assert bad.exit_code == 1, bad.output
    assert "Traceback" not in bad.output
    good = runner.invoke(
        cli,
        ["gateway", "restore", str(path), "--data", str(tmp_path / "z")],
        env={"SCEAU_BACKUP_PASSPHRASE": PASS},
    )
    assert good.exit_code == 0, good.output
    assert "verified" in good.output
