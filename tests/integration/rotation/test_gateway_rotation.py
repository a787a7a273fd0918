"""``rotate-keys`` on a real gateway: a hub and two gateways on loopback over real mTLS.

A dossier goes out before the rotation and one after the restart; both are delivered,
receipted and exported as witnessed bundles that verify (the old one after the
rotation too), the new one sealed with the new key (openssl agrees). The old TLS
certificate is refused once the rotation completes; a running service blocks the
switch; a hub that does not answer, or a kill at each step, leaves a gateway that works
and a command that resumes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from gateway.errors import HubUnreachable, NotEnrolled
from gateway.identity import GatewayIdentity, init_data_dir, link_ssl_context
from gateway.key_switch import RotationPaths, archive_current, decide_switch
from gateway.link_client import LinkClient
from gateway.rotation import RotationStep, _certify, _stage, rotate_keys
from gateway.service_lock import ServiceRunning
from gateway.settings import GatewaySettings
from hub.app import serve_hub
from hubee.model import Scope
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    close_hub,
    enrolled_settings,
    open_hub,
    start_gateway,
)
from tests.integration.hub_link.harness import client_context
from tests.integration.rotation.support import (
    client,
    openssl_verifies,
    receipt_at_sender,
    send_certdc,
    sender_seal,
    trust_of,
    verified,
    witnessed_bundle,
)
from trust.pki import load_certificates_file, load_certificates_pem

SCEAU = [sys.executable, "-m", "appliance"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _status_with(ca: Path, cert: Path, key: Path, url: str) -> int:
    context = await asyncio.to_thread(client_context, ca, cert, key)
    connector = aiohttp.TCPConnector(ssl=context)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url + "/link/v1/notifications") as reply,
    ):
        return reply.status


def test_rotation_between_two_dossiers_keeps_old_evidence_verifiable(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        services = []
        try:
            dgs_settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
            sd_settings = await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS)
            osl = await start_gateway(dgs_settings, "dgs")
            services.append(osl.service)
            si = await start_gateway(sd_settings, "saint-denis")
            services.append(si.service)
            paths = dgs_settings.paths
            async with aiohttp.ClientSession() as session:
                dgs = await client(osl, session, "logiciel-dgs", Scope.OSL)
                commune = await client(si, session, "etat-civil", Scope.SI)
                before, _ = await send_certdc(dgs, commune, "ER2026ROT0001")
                await receipt_at_sender(dgs, before)
                old_bundle = await witnessed_bundle(osl, before["id"], tmp_path / "before.asice")
                old_seal = osl.runtime.identity.seal.certificate
                old_tls = load_certificates_file(paths.tls_cert)[0]

                # The service runs: the switch is refused and nothing is staged.
                with pytest.raises(ServiceRunning):
                    await rotate_keys(dgs_settings, now=datetime.now(UTC))
                assert not RotationPaths(paths).next_keys.exists()

                await osl.service.close()
                services.remove(osl.service)
                report = await rotate_keys(dgs_settings, now=datetime.now(UTC))
                assert report.steps == (
                    RotationStep.CERTIFIED,
                    RotationStep.SWITCHED,
                    RotationStep.COMPLETED,
                )
                assert sorted(report.retired_serials) == sorted(
                    format(c.serial_number, "x") for c in (old_tls, old_seal)
                )
                # The old pair is archived, 0600; the new one is in place, 0600.
                assert report.archive is not None
                archived = report.archive
                assert (archived / "tls.pem").read_bytes().startswith(b"-----BEGIN CERT")
                assert load_certificates_file(archived / "tls.pem")[0] == old_tls
                for name in ("tls.key", "seal.key", "tls.pem", "seal.pem"):
                    assert _mode(archived / name) == 0o600, name
                for key in (paths.tls_key, paths.seal_key):
                    assert _mode(key) == 0o600
                assert not RotationPaths(paths).complete.exists()
                new_tls = load_certificates_file(paths.tls_cert)[0]
                assert new_tls.serial_number == int(report.tls_serial, 16) != old_tls.serial_number
                # The hub refuses the old TLS certificate, accepts the new one.
                old_status = await _status_with(
                    hub.ca_pem, archived / "tls.pem", archived / "tls.key", hub.url
                )
                new_status = await _status_with(hub.ca_pem, paths.tls_cert, paths.tls_key, hub.url)
                assert (old_status, new_status) == (401, 200)

                # The restarted service seals with the new key; the dossier is delivered.
                osl = await start_gateway(dgs_settings, "dgs")
                services.append(osl.service)
                assert osl.runtime.identity.seal.certificate.serial_number == int(
                    report.seal_serial, 16
                )
                dgs = await client(osl, session, "logiciel-dgs-2", Scope.OSL)
                after, _ = await send_certdc(dgs, commune, "ER2026ROT0002")
                await receipt_at_sender(dgs, after)
                new_bundle = await witnessed_bundle(osl, after["id"], tmp_path / "after.asice")
                trust = trust_of(osl)
                for bundle in (old_bundle, new_bundle):
                    found = await asyncio.to_thread(verified, bundle, trust)
                    assert found.ok, found.reasons
                # `sceau verify`, as an auditor runs it, after the rotation.
                certs = paths.certs
                checked = await asyncio.to_thread(
                    subprocess.run,
                    [
                        *SCEAU,
                        "verify",
                        str(old_bundle),
                        str(new_bundle),
                        "--anchor",
                        str(hub.ca_pem),
                        "--journal-key",
                        str(certs / "journal.vkey"),
                        "--witness-key",
                        str(certs / "witness.vkey"),
                        "--require-witness",
                    ],
                    capture_output=True,
                    text=True,
                )
                assert checked.returncode == 0, checked.stdout + checked.stderr
                # openssl: the new dossier's seal is by the new certificate, the old one's
                # by the old certificate, both chaining to the hub's CA.
                for bundle, expected in ((new_bundle, report.seal_serial), (old_bundle, None)):
                    seal, content = sender_seal(bundle, tmp_path / bundle.stem)
                    signer = tmp_path / f"{bundle.stem}-signer.pem"
                    await asyncio.to_thread(openssl_verifies, seal, content, hub.ca_pem, signer)
                    serial = load_certificates_file(signer)[0].serial_number
                    wanted = old_seal.serial_number if expected is None else int(expected, 16)
                    assert serial == wanted
        finally:
            for service in services:
                await service.close()
            await close_hub(hub)

    asyncio.run(main())


def test_a_kill_at_each_step_leaves_a_working_gateway_and_rotate_keys_resumes(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
            paths, rotation = settings.paths, RotationPaths(settings.paths)
            old_tls = paths.tls_cert.read_bytes()
            # Killed after staging and certification, before the switch: old pair in use,
            # and both certificates open the link API.
            await asyncio.to_thread(_stage, settings, rotation)
            await _certify(settings, rotation, now=datetime.now(UTC))
            assert paths.tls_cert.read_bytes() == old_tls
            identity = await asyncio.to_thread(GatewayIdentity.load, settings)
            assert identity.seal.certificate == load_certificates_file(paths.seal_cert)[0]
            for cert, key in (
                (paths.tls_cert, paths.tls_key),
                (rotation.tls_cert, rotation.tls_key),
            ):
                assert await _status_with(hub.ca_pem, cert, key, hub.url) == 200
            # Killed right after the switch was decided, one file renamed: the next load
            # finishes the switch (the new pair, consistent).
            staged_seal = rotation.seal_cert.read_bytes()
            await asyncio.to_thread(archive_current, rotation, "tls-killed")
            await asyncio.to_thread(decide_switch, rotation, {"test": "kill"})
            os.replace(rotation.seal_cert, paths.seal_cert)
            identity = await asyncio.to_thread(GatewayIdentity.load, settings)
            assert paths.seal_cert.read_bytes() == staged_seal
            assert not rotation.switch.exists() and rotation.complete.exists()
            assert await _status_with(hub.ca_pem, paths.tls_cert, paths.tls_key, hub.url) == 200
            # Rerun: only the completion with the hub is left.
            report = await rotate_keys(settings, now=datetime.now(UTC))
            assert report.steps == (RotationStep.COMPLETED,)
            assert len(report.retired_serials) == 2
            assert not rotation.complete.exists()
            archived = rotation.archive / "tls-killed"
            assert (
                await _status_with(hub.ca_pem, archived / "tls.pem", archived / "tls.key", hub.url)
                == 401
            )
        finally:
            await close_hub(hub)

    asyncio.run(main())


def test_an_unreachable_hub_switches_nothing_and_a_retry_finishes(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
            paths = settings.paths
            before = {p: p.read_bytes() for p in (paths.tls_cert, paths.tls_key, paths.seal_key)}
            await hub.runner.cleanup()  # the hub stops listening
            with pytest.raises(HubUnreachable) as caught:
                await rotate_keys(settings, now=datetime.now(UTC))
            assert "Nothing was switched" in caught.value.diagnostics()
            assert {p: p.read_bytes() for p in before} == before
            hub.runner, port = await serve_hub(hub.runtime, host="127.0.0.1", port=0)
            moved = GatewaySettings.load(paths.root)
            moved = replace(moved, hub_url=f"https://127.0.0.1:{port}")
            report = await rotate_keys(moved, now=datetime.now(UTC))
            assert report.steps[-1] is RotationStep.COMPLETED
            assert paths.tls_key.read_bytes() != before[paths.tls_key]
        finally:
            await close_hub(hub)

    asyncio.run(main())


def test_a_gateway_that_is_not_enrolled_has_nothing_to_rotate(tmp_path: Path) -> None:
    settings = GatewaySettings(tmp_path / "gw", DGS.company_register, DGS.branch_code)
    init_data_dir(settings)
    with pytest.raises(NotEnrolled):
        asyncio.run(rotate_keys(settings, now=datetime.now(UTC)))
    assert not RotationPaths(settings.paths).next_keys.exists()


def test_a_lost_renewal_answer_is_superseded_by_the_next_run(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
            paths, rotation = settings.paths, RotationPaths(settings.paths)
            # The hub certified the staged keys, but the gateway was killed before it kept
            # the answer: nothing in certs/next/.
            await asyncio.to_thread(_stage, settings, rotation)
            context = await asyncio.to_thread(link_ssl_context, paths)
            link = LinkClient(hub.url, context)
            try:
                lost = await link.request_renewal(
                    rotation.tls_csr.read_text("ascii"), rotation.seal_csr.read_text("ascii")
                )
            finally:
                await link.close()
            report = await rotate_keys(settings, now=datetime.now(UTC))
            assert report.steps == (
                RotationStep.CERTIFIED,
                RotationStep.SWITCHED,
                RotationStep.COMPLETED,
            )
            lost_tls = load_certificates_pem(lost["tlsCertificate"].encode())[0]
            assert format(lost_tls.serial_number, "x") in report.retired_serials
            assert len(report.retired_serials) == 4  # old pair and the lost pair

            def states() -> list[str]:
                with sqlite3.connect(hub.runtime.config.engine.db_path) as db:
                    rows = db.execute("SELECT state FROM link_renewals ORDER BY requested_at")
                    return [str(r[0]) for r in rows]

            assert await asyncio.to_thread(states) == ["superseded", "completed"]
        finally:
            await close_hub(hub)

    asyncio.run(main())
