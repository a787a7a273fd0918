"""``sceau gateway doctor`` against a real hub on loopback (mTLS, its TSA's genTime)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.doctor import Severity, diagnose, exit_code
from tests.integration.gateway.world import SAINT_DENIS, close_hub, enrolled_settings, open_hub


def test_doctor_finds_a_healthy_gateway_then_a_key_left_readable(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS)
            findings = await diagnose(settings.data_dir)
            by = {f.check: f for f in findings}
            assert set(by) == {
                "permissions",
                "certificates",
                "rotation",
                "disk",
                "journal",
                "hub",
                "clock",
            }
            assert by["rotation"].severity is Severity.OK, by["rotation"]
            assert by["hub"].severity is Severity.OK, by["hub"]
            assert by["clock"].severity is Severity.OK and "genTime" in by["clock"].detail
            assert by["certificates"].severity is Severity.OK, by["certificates"]
            if by["disk"].severity is Severity.OK:
                assert exit_code(findings) == 0
            settings.paths.seal_key.chmod(0o644)
            findings = await diagnose(settings.data_dir)
            bad = [f for f in findings if f.severity is Severity.FAIL]
            assert [f.check for f in bad][:1] == ["permissions"]
            assert "chmod 600" in bad[0].fix and exit_code(findings) == 3
            settings.paths.seal_key.chmod(0o600)
        finally:
            await close_hub(hub)
        # The hub gone: unreachable (exit 4), each with its fix.
        findings = await diagnose(settings.data_dir)
        by = {f.check: f for f in findings}
        assert by["hub"].severity is Severity.FAIL and by["hub"].fix
        assert by["clock"].severity is Severity.FAIL
        assert exit_code(findings) in (1, 4) and exit_code(findings) != 0

    asyncio.run(main())
