"""The hub refuses a folder whose seal or manifest does not hold, and says why."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    LinkHub,
    b64,
    push_body,
    sealed_folder,
    sha256_digest_header,
)
from trust.manifest import Manifest

LinkRun = Callable[..., None]
ACTE = b"%PDF-1.4 " + b"x" * 5000


def test_a_mis_signed_seal_is_refused_with_the_failed_check(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        path = f"/link/v1/folders/{folder.folder_id}"
        # Sealed over other bytes than the manifest sent.
        other = folder.manifest_bytes.replace(b"Camille", b"Camilla") + b" "
        altered = await dgs.call(
            "PUT", path, json_body=push_body(dgs, folder, seal_bytes=dgs.seal(other))
        )
        assert altered.status == 400
        assert "@seal" in altered.message and "message-digest" in altered.message
        # A signature that does not verify (its last byte, in ECDSA's s, flipped).
        good = dgs.seal(folder.manifest_bytes)
        forged = good[:-1] + bytes([good[-1] ^ 0x01])
        wrong_key = await dgs.call("PUT", path, json_body=push_body(dgs, folder, seal_bytes=forged))
        assert wrong_key.status == 400 and "signature" in wrong_key.message
        # Garbage.
        junk = await dgs.call("PUT", path, json_body=push_body(dgs, folder, seal_bytes=b"\x30\x03"))
        assert junk.status == 400 and "@seal" in junk.message
        # Nothing was created by the refusals.
        assert await hub.runtime.store.read(lambda tx: tx.folder(folder.folder_id)) is None

    link_run(scenario)


def test_a_seal_of_another_organisation_is_refused(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        saint_denis = await hub.gateway(SAINT_DENIS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        foreign = saint_denis.seal(folder.manifest_bytes)  # valid, but Saint-Denis's
        refused = await dgs.call(
            "PUT",
            f"/link/v1/folders/{folder.folder_id}",
            json_body=push_body(dgs, folder, seal_bytes=foreign),
        )
        assert refused.status == 403
        assert "21930066200016/93066" in refused.message and "11000201100044/DGS" in refused.message

    link_run(scenario)


def test_a_manifest_must_describe_the_folder_it_comes_with(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        lying = Manifest(
            **{**folder.manifest.__dict__, "external_id": "OTHER", "attachments": ()}
        ).to_json()
        body = {
            "folder": folder.body,
            "manifest": b64(lying),
            "seal": b64(dgs.seal(lying)),
        }
        refused = await dgs.call("PUT", f"/link/v1/folders/{folder.folder_id}", json_body=body)
        assert refused.status == 400
        assert "externalId is 'OTHER'" in refused.message
        assert "'acte.pdf'" in refused.message and "not in the manifest" in refused.message
        # Not canonical JSON: refused before any seal check.
        loose = folder.manifest_bytes.replace(b",", b", ", 1)
        body = {"folder": folder.body, "manifest": b64(loose), "seal": b64(dgs.seal(loose))}
        loose_reply = await dgs.call("PUT", f"/link/v1/folders/{folder.folder_id}", json_body=body)
        assert loose_reply.status == 400 and "canonical" in loose_reply.message

    link_run(scenario)


def test_uploads_must_carry_the_sealed_digest(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": ACTE})
        pushed = await dgs.call(
            "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(dgs, folder)
        )
        attachment = pushed.json()["folder"]["attachments"][0]["id"]
        url = f"/link/v1/folders/{folder.folder_id}/attachments/{attachment}"
        headers = {"Content-Type": "application/octet-stream"}
        missing = await dgs.call("PUT", url, data=ACTE, headers=headers)
        assert missing.status == 400 and "@digest" in missing.message
        other = await dgs.call(
            "PUT", url, data=ACTE, headers=headers | {"digest": sha256_digest_header(b"other")}
        )
        assert other.status == 400 and "sealed manifest" in other.message
        # The right digest, the wrong bytes: the engine's check refuses, nothing is kept.
        tampered = ACTE[:-1] + b"y"
        wrong = await dgs.call(
            "PUT", url, data=tampered, headers=headers | {"digest": sha256_digest_header(ACTE)}
        )
        assert wrong.status == 400 and "does not match" in wrong.message
        offset = await dgs.call("HEAD", url)
        assert offset.headers["Upload-Offset"] == "0"
        early = await dgs.call("POST", f"/link/v1/folders/{folder.folder_id}/complete")
        assert early.status == 400 and "attachments-first" in early.message

    link_run(scenario)
