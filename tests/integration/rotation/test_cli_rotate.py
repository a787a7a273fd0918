"""``sceau gateway rotate-keys`` as an operator runs it: a real subprocess against a real
hub over mTLS; exit codes from ``appliance.exit_codes``."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from appliance.exit_codes import ExitCode
from gateway.enrollment import enroll
from gateway.identity import init_data_dir
from gateway.key_switch import RotationPaths
from gateway.settings import Enrollment, GatewaySettings
from hubee.model import OrgRef
from tests.integration.gateway.world import DGS, SAINT_DENIS, Hub, close_hub, open_hub
from trust.pki import load_certificates_file

SCEAU = [sys.executable, "-m", "appliance"]


async def _sceau(*args: str | Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *SCEAU,
        *(str(a) for a in args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _enrolled(hub: Hub, folder: Path, ref: OrgRef) -> GatewaySettings:
    settings = GatewaySettings(folder, ref.company_register, ref.branch_code)
    await asyncio.to_thread(init_data_dir, settings)
    await enroll(
        settings,
        hub_url=hub.url,
        token=await hub.token(ref),
        hub_ca=hub.ca_pem,
        now=datetime.now(UTC),
    )
    return GatewaySettings.load(folder)


def test_rotate_keys_command_rotates_then_refuses_a_revoked_gateway(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await _enrolled(hub, tmp_path / "dgs", DGS)
            paths = settings.paths
            old = load_certificates_file(paths.tls_cert)[0]
            code, out, err = await _sceau("gateway", "rotate-keys", "--data", paths.root)
            assert code == ExitCode.OK, err
            new = load_certificates_file(paths.tls_cert)[0]
            assert new.serial_number != old.serial_number
            assert "rotation completed" in out and format(new.serial_number, "x") in out
            assert format(old.serial_number, "x") in out  # listed as retired
            assert not RotationPaths(paths).next_keys.exists()
            # Once the gateway is revoked, the command says so: exit 3, nothing staged
            # is switched, the certificate in place is untouched.
            other = await _enrolled(hub, tmp_path / "saint-denis", SAINT_DENIS)
            gateway_id = Enrollment.load(other.paths).gateway_id
            await hub.runtime.link.gateways.revoke(
                gateway_id, reason="stolen laptop", now=datetime.now(UTC)
            )
            before = other.paths.tls_cert.read_bytes()
            code, out, err = await _sceau("gateway", "rotate-keys", "--data", other.paths.root)
            assert code == ExitCode.CONFIGURATION, (out, err)
            assert "revoked" in err and "enroll" in err and "Traceback" not in err
            assert other.paths.tls_cert.read_bytes() == before
        finally:
            await close_hub(hub)

    asyncio.run(main())


async def _started(settings: GatewaySettings) -> asyncio.subprocess.Process:
    """``sceau gateway run`` in its own process, once it says it listens."""
    process = await asyncio.create_subprocess_exec(
        *SCEAU,
        "gateway",
        "run",
        "--data",
        str(settings.paths.root),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
    if b"listening on" not in line:
        process.kill()
        _, err = await process.communicate()
        raise AssertionError(f"gateway run did not start: {line!r} {err.decode()}")
    return process


async def _stopped(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode


def test_rotate_keys_refuses_to_switch_beside_a_running_service(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await _enrolled(hub, tmp_path / "dgs", DGS)
            paths = settings.paths
            old = paths.tls_cert.read_bytes()
            service = await _started(settings)
            try:
                code, out, err = await _sceau("gateway", "rotate-keys", "--data", paths.root)
            finally:
                assert await _stopped(service) == 0
            assert code == ExitCode.CONFIGURATION, (out, err)
            assert "running gateway service" in err and "Stop the service" in err
            assert paths.tls_cert.read_bytes() == old
            assert not RotationPaths(paths).next_keys.exists()
            # Stopped: the rotation goes through, and the service starts on the new keys.
            code, out, err = await _sceau("gateway", "rotate-keys", "--data", paths.root)
            assert code == ExitCode.OK, err
            assert paths.tls_cert.read_bytes() != old
            service = await _started(settings)
            assert await _stopped(service) == 0
        finally:
            await close_hub(hub)

    asyncio.run(main())


def test_rotate_keys_on_a_gateway_that_is_not_enrolled_exits_3(tmp_path: Path) -> None:
    async def main() -> None:
        settings = GatewaySettings(tmp_path / "gw", DGS.company_register, DGS.branch_code)
        await asyncio.to_thread(init_data_dir, settings)
        code, out, err = await _sceau("gateway", "rotate-keys", "--data", settings.paths.root)
        assert code == ExitCode.CONFIGURATION, (out, err)
        assert "not enrolled" in err and "sceau gateway enroll" in err
        assert "Traceback" not in err

    asyncio.run(main())
