"""An operator's gateway offline: the LAN HubEE API takes a CERTDC folder; completing it
seals the manifest, journals every step and queues the push; the dossier's bundle
verifies. The hub is not needed for any of this."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from gateway.errors import EvidenceNotReady
from gateway.evidence_export import export_bundle
from gateway.local_directory import add_client
from gateway.runtime import GatewayRuntime
from gateway.tables import GatewayTables
from hubee.model import Scope
from tests.unit.gateway.support import (
    DGS,
    SAINT_DENIS,
    HubPki,
    certdc_folder,
    deposit,
    enroll_offline,
    lan,
)
from trust.bundle_verify import TrustInputs, verify_bundle
from trust.manifest import Manifest


def _outbox(runtime: GatewayRuntime) -> list[tuple[str, str, str]]:
    async def read() -> list[tuple[str, str, str]]:
        return await runtime.store.read(
            lambda tx: (
                GatewayTables.of(tx)
                .conn.execute("SELECT kind, payload, state FROM gw_link_outbox ORDER BY id")
                .fetchall()
            )
        )

    return read  # type: ignore[return-value]


def test_an_operator_folder_is_sealed_journaled_queued_and_proven(tmp_path: Path) -> None:
    hub = HubPki.create()
    settings = enroll_offline(tmp_path / "dgs", hub, DGS, "OSL")

    async def main() -> None:
        runtime = await GatewayRuntime.open(settings)
        try:
            new = await add_client(
                runtime.services,
                runtime.store,
                name="logiciel-dgs",
                company_register=DGS[0],
                branch_code=DGS[1],
                process_code="CERTDC",
                scope=Scope.OSL,
            )
            drain = asyncio.create_task(runtime.drain.run())
            async with lan(runtime) as client:
                await client.login(new.client.client_id, new.secret, "OSL")
                body, files = certdc_folder(SAINT_DENIS, "ER20190860001")
                # A corrupt upload is refused and nothing of it is kept.
                created = await client.call("POST", "/teledossiers/v1/folders", json_body=body)
                folder_id = created.json()["id"]
                bad = await client.call(
                    "PUT",
                    f"/teledossiers/v1/folders/{folder_id}/attachments/"
                    f"{created.json()['attachments'][0]['id']}",
                    data=files[0],
                    headers={"digest": "AAAA" + hashlib.sha256(b"x").hexdigest()[:40] + "="},
                )
                assert bad.status == 400
                folder = await deposit(client, body, files)  # the same externalId: a retry
                assert folder["id"] == folder_id
                got = await client.call("GET", f"/teledossiers/v1/folders/{folder_id}")
                assert got.json()["globalStatus"] == "HUBEE_COMPLETED"
                assert [c["status"] for c in got.json()["cases"]] == ["HUBEE_RECEIVED"]
                # Not yet under a stamped checkpoint: evidence says so.
                await runtime.drain.wait_drained()
                waiting = await client.call("GET", f"/evidence/{folder_id}")
                assert waiting.status == 503 and waiting.headers["Retry-After"] == "5"
                assert "time-stamped checkpoint" in waiting.json()["errors"][0]["message"]
            await runtime.drain.wait_drained()
            stored = await runtime.store.read(lambda tx: GatewayTables.of(tx).manifest(folder_id))
            assert stored is not None and stored.direction == "out"
            manifest = Manifest.from_json(stored.manifest)
            assert manifest.sender == "11000201100044/DGS"
            assert manifest.recipients == ("21930066200016/93066",)
            assert [a.sha256 for a in manifest.attachments] == [
                hashlib.sha256(f).hexdigest() for f in files
            ]
            outbox = await _outbox(runtime)()  # type: ignore[operator]
            assert [(k, s) for k, _, s in outbox] == [("push_folder", "pending")]
            assert json.loads(outbox[0][1]) == {"folderId": folder_id}
            # Evidence needs a time-stamped checkpoint.
            with pytest.raises(EvidenceNotReady):
                await _export(runtime, hub, folder_id, tmp_path / "early.asice")
            await runtime.checkpoints.maybe_checkpoint(force=True)
            assert (await runtime.checkpoints.gap()).unstamped == 1
            await runtime.checkpoints.stamp_pending(hub.timestamper())
            gap = await runtime.checkpoints.gap()
            assert (gap.unstamped, gap.unwitnessed) == (0, 1)
            exported = await _export(runtime, hub, folder_id, tmp_path / "dossier.asice")
            report = verify_bundle(
                exported,
                trust=TrustInputs(anchors=(hub.ca,), journal_keys=(runtime.identity.journal_vkey,)),
            )
            assert report.ok, report.reasons
            kinds = [json.loads(line)["kind"] for line in _entries(exported)]
            assert kinds.count("received") == 5  # the folder and its four files
            assert "manifest.sealed" in kinds and "status" in kinds
            async with lan(runtime) as client:
                await client.login(new.client.client_id, new.secret, "OSL")
                served = await client.call("GET", f"/evidence/{folder_id}")
                assert served.status == 200, served.body
                assert served.headers["Content-Type"] == "application/vnd.etsi.asic-e+zip"
                (tmp_path / "served.asice").write_bytes(served.body)
                assert verify_bundle(
                    tmp_path / "served.asice", trust=TrustInputs(anchors=(hub.ca,))
                ).ok
                unknown = await client.call("GET", "/evidence/6f1c0f9e-8f7a-4d0e-9a53-0d5f1e2b7c11")
                assert unknown.status == 404
            assert list((settings.data_dir / "exports").iterdir()) == []
            drain.cancel()
        finally:
            await runtime.close()

    asyncio.run(main())


async def _export(runtime: GatewayRuntime, hub: HubPki, folder_id: str, out: Path) -> Path:
    identity = runtime.identity
    done = await export_bundle(
        folder_id,
        out,
        store=runtime.store,
        blobs=runtime.blobs,
        journal=runtime.journal,
        sealer=identity.seal,
        anchors=identity.hub_ca,
        journal_key=identity.journal_vkey,
        witness_key=identity.witness_vkey,
        now=runtime.deps.clock(),
    )
    return done.path


def _entries(bundle: Path) -> list[bytes]:
    from trust.bundle import ENTRIES, BundleReader

    with BundleReader(bundle) as reader:
        return reader.read(ENTRIES).split(b"\n")[:-1]


def test_a_full_disk_is_507_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    hub = HubPki.create()
    settings = enroll_offline(tmp_path / "dgs", hub, DGS, "OSL")
    real_write = os.write
    full = {"on": True}

    def write(fd: int, data: bytes) -> int:
        if full["on"] and "/blobs/tmp/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    async def main() -> None:
        runtime = await GatewayRuntime.open(settings)
        try:
            new = await add_client(
                runtime.services,
                runtime.store,
                name="dgs",
                company_register=DGS[0],
                branch_code=DGS[1],
                process_code="CERTDC",
                scope=Scope.OSL,
            )
            async with lan(runtime) as client:
                await client.login(new.client.client_id, new.secret, "OSL")
                body, files = certdc_folder(SAINT_DENIS, "ER-FULL")
                folder = (
                    await client.call("POST", "/teledossiers/v1/folders", json_body=body)
                ).json()
                path = f"/teledossiers/v1/folders/{folder['id']}/attachments/{folder['attachments'][0]['id']}"
                monkeypatch.setattr("hubee.blobs.os.write", write)
                refused = await client.call("PUT", path, data=files[0])
                assert refused.status == 507, refused.body
                assert "space" in refused.json()["errors"][0]["message"]
                assert list(runtime.blobs.tmp_dir.iterdir()) == []
                got = (await client.call("GET", f"/teledossiers/v1/folders/{folder['id']}")).json()
                assert got["attachments"][0]["status"] == "PENDING"
                full["on"] = False
                assert (await client.call("PUT", path, data=files[0])).status == 204
        finally:
            monkeypatch.undo()
            await runtime.close()

    asyncio.run(main())
