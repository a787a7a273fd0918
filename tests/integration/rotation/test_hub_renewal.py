"""The hub's side of key rotation over real mTLS: both pairs valid until the gateway
completes with its new certificate, then the old TLS certificate refused and the old
seal certificate only for seals signed before; every answer checked against the link
OpenAPI document; the hub's evidence journal records the renewal."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from hub.app import make_hub_app
from hub.errors import HubConfigError
from hub.settings import HubConfig
from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    Gateway,
    LinkHub,
    client_context,
    push_body,
    sealed_folder,
)
from trust.journal import Journal
from trust.keys import FileSigner, write_private_key
from trust.pki import load_certificates_pem, make_csr
from trust.seal import seal

LinkRun = Callable[..., None]


def _org(gateway: Gateway) -> str:
    return f"{gateway.ref.company_register}:{gateway.ref.branch_code}"


def _csr(signer: FileSigner, organization: str) -> str:
    return (
        make_csr(signer.private_key, common_name="rotated", organization=organization)
        .public_bytes(Encoding.PEM)
        .decode()
    )


def _new_pair(
    gateway: Gateway, organization: str | None = None
) -> tuple[FileSigner, FileSigner, dict[str, str]]:
    tls, seal_key = FileSigner.generate(), FileSigner.generate()
    org = organization or _org(gateway)
    return tls, seal_key, {"tlsCsr": _csr(tls, org), "sealCsr": _csr(seal_key, org)}


def _context(hub: LinkHub, name: str, certificate_pem: str, key: FileSigner) -> ssl.SSLContext:
    cert = hub.folder / f"{name}.pem"
    path = hub.folder / f"{name}.key"
    cert.write_text(certificate_pem, "ascii")
    write_private_key(path, key.private_key, overwrite=True)
    return client_context(hub.ca_pem, cert, path)


async def _session(hub: LinkHub, name: str, pem: str, key: FileSigner) -> aiohttp.ClientSession:
    context = await asyncio.to_thread(_context, hub, name, pem, key)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


def _journal_kinds(hub: LinkHub) -> list[dict[str, Any]]:
    with Journal.open(hub.runtime.config.journal_path) as journal:
        return [json.loads(journal.entry(i)) for i in range(journal.size)]


def test_both_pairs_work_until_completion_then_the_old_tls_certificate_is_refused(
    link_run: LinkRun,
) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(DGS)
        old_tls = gateway.tls_certificate
        tls, _, body = await asyncio.to_thread(_new_pair, gateway)
        renewed = await gateway.call("POST", "/link/v1/gateway/renewal", json_body=body)
        assert renewed.status == 201, renewed.body
        answer = renewed.json()
        assert answer["gatewayId"] == gateway.enrolled["gatewayId"]
        new_tls = load_certificates_pem(answer["tlsCertificate"].encode())[0]
        new_seal = load_certificates_pem(answer["sealCertificate"].encode())[0]
        # Same identity as at enrollment: CN = gateway id (TLS), O = the organisation.
        assert new_tls.subject == old_tls.subject
        assert new_seal.subject == gateway.seal_certificate.subject
        assert new_tls.serial_number != old_tls.serial_number
        new = await _session(hub, "new-tls", answer["tlsCertificate"], tls)
        try:
            # Before the switch: both certificates open the link API.
            assert (await gateway.call("GET", "/link/v1/notifications")).status == 200
            assert (await hub.request(new, "GET", "/link/v1/notifications")).status == 200
            # Completing with the old certificate proves nothing: refused.
            early = await gateway.call("POST", "/link/v1/gateway/renewal/complete")
            assert early.status == 409 and "new certificate" in early.message
            done = await hub.request(new, "POST", "/link/v1/gateway/renewal/complete")
            assert done.status == 200, done.body
            retired = done.json()["retiredSerials"]
            assert sorted(retired) == sorted(
                format(c.serial_number, "x") for c in (old_tls, gateway.seal_certificate)
            )
            # After: the old TLS certificate is refused, the new one works.
            refused = await gateway.call("GET", "/link/v1/notifications")
            assert refused.status == 401 and "key rotation" in refused.message
            assert (await hub.request(new, "GET", "/link/v1/notifications")).status == 200
            # Completing again (a lost answer) answers the same.
            again = await hub.request(new, "POST", "/link/v1/gateway/renewal/complete")
            assert again.status == 200 and again.json() == done.json()
        finally:
            await new.close()
        await hub.runtime.evidence.drain()
        entries = await asyncio.to_thread(_journal_kinds, hub)
        requested = [e for e in entries if e["kind"] == "gateway.renewal.requested"]
        completed = [e for e in entries if e["kind"] == "gateway.renewal.completed"]
        assert len(requested) == 1 and len(completed) == 1
        assert requested[0]["data"]["fact"]["tlsSerial"] == format(new_tls.serial_number, "x")
        assert requested[0]["data"]["fact"]["sealSerial"] == format(new_seal.serial_number, "x")
        assert sorted(completed[0]["data"]["fact"]["retiredSerials"]) == sorted(retired)
        listing = await hub.runtime.link.gateways.listing()
        assert {c.serial for c in listing[0].certificates} >= {
            format(new_tls.serial_number, "x"),
            *retired,
        }

    link_run(scenario)


def test_a_retired_seal_certificate_answers_only_for_seals_signed_before(
    link_run: LinkRun,
) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(DGS)
        await hub.gateway(SAINT_DENIS)
        tls, _, body = await asyncio.to_thread(_new_pair, gateway)
        answer = (await gateway.call("POST", "/link/v1/gateway/renewal", json_body=body)).json()
        before = hub.clock() - timedelta(seconds=30)
        queued = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": b"%PDF queued"})
        old_seal = await asyncio.to_thread(
            seal,
            queued.manifest_bytes,
            signer=gateway.seal_key,
            certificate=gateway.seal_certificate,
            signing_time=before,
        )
        new = await _session(hub, "new-tls", answer["tlsCertificate"], tls)
        try:
            done = await hub.request(new, "POST", "/link/v1/gateway/renewal/complete")
            assert done.status == 200, done.body
            hub.clock.advance(seconds=1)
            # Sealed before the switch (a queued dossier): still accepted.
            pushed = await hub.request(
                new,
                "PUT",
                f"/link/v1/folders/{queued.folder_id}",
                json_body=push_body(gateway, queued, seal_bytes=old_seal),
            )
            assert pushed.status == 201, pushed.body
            # Sealed with the old key after the switch: refused.
            late = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": b"%PDF late"})
            late_seal = await asyncio.to_thread(
                seal,
                late.manifest_bytes,
                signer=gateway.seal_key,
                certificate=gateway.seal_certificate,
                signing_time=hub.clock(),
            )
            refused = await hub.request(
                new,
                "PUT",
                f"/link/v1/folders/{late.folder_id}",
                json_body=push_body(gateway, late, seal_bytes=late_seal),
            )
            assert refused.status == 403 and "key rotation" in refused.message
        finally:
            await new.close()

    link_run(scenario)


def test_renewal_refuses_another_organisation_and_a_revoked_gateway(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(SAINT_DENIS)
        _, _, foreign = await asyncio.to_thread(_new_pair, gateway, _org_of_dgs())
        wrong = await gateway.call("POST", "/link/v1/gateway/renewal", json_body=foreign)
        assert wrong.status == 400 and "tlsCsr" in wrong.message
        _, _, body = await asyncio.to_thread(_new_pair, gateway)
        async with hub.anonymous() as session:
            bare = await hub.request(session, "POST", "/link/v1/gateway/renewal", json_body=body)
        assert bare.status == 401
        await hub.runtime.link.gateways.revoke(
            gateway.enrolled["gatewayId"], reason="stolen laptop", now=hub.clock()
        )
        revoked = await gateway.call("POST", "/link/v1/gateway/renewal", json_body=body)
        assert revoked.status == 403 and "revoked" in revoked.message

    link_run(scenario)


def _org_of_dgs() -> str:
    return f"{DGS.company_register}:{DGS.branch_code}"


def test_every_link_route_is_in_the_link_openapi_document(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        app = make_hub_app(hub.runtime)
        served = {
            (route.method.lower(), route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith("/link/v1/")
            and route.method != "HEAD"
        }
        paths = hub.conformance.document["paths"]
        described = {(m, p) for p, ops in paths.items() for m in ops if m != "parameters"}
        assert ("post", "/link/v1/gateway/renewal") in served
        assert ("post", "/link/v1/gateway/renewal/complete") in served
        assert served <= described, sorted(served - described)

    link_run(scenario)


def test_a_retired_seal_certificate_answers_only_within_its_grace(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(DGS)
        await hub.gateway(SAINT_DENIS)
        tls, _, body = await asyncio.to_thread(_new_pair, gateway)
        answer = (await gateway.call("POST", "/link/v1/gateway/renewal", json_body=body)).json()
        before = hub.clock() - timedelta(seconds=30)
        queued = [
            sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": f"%PDF queued {n}".encode()})
            for n in range(2)
        ]
        seals = [
            await asyncio.to_thread(
                seal,
                folder.manifest_bytes,
                signer=gateway.seal_key,
                certificate=gateway.seal_certificate,
                signing_time=before,
            )
            for folder in queued
        ]
        new = await _session(hub, "new-tls", answer["tlsCertificate"], tls)
        try:
            done = await hub.request(new, "POST", "/link/v1/gateway/renewal/complete")
            assert done.status == 200, done.body
            hub.clock.advance(days=6, hours=23)  # within the default 7 days
            pushed = await hub.request(
                new,
                "PUT",
                f"/link/v1/folders/{queued[0].folder_id}",
                json_body=push_body(gateway, queued[0], seal_bytes=seals[0]),
            )
            assert pushed.status == 201, pushed.body
            hub.clock.advance(hours=1, seconds=1)  # 7 days and a second after the switch
            refused = await hub.request(
                new,
                "PUT",
                f"/link/v1/folders/{queued[1].folder_id}",
                json_body=push_body(gateway, queued[1], seal_bytes=seals[1]),
            )
            assert refused.status == 403, refused.body
            assert "grace" in refused.message and "retired_seal_grace_days" in refused.message
            assert "seal the dossier again with the new seal key" in refused.message
        finally:
            await new.close()

    link_run(scenario)


def test_the_retired_seal_grace_is_a_positive_number_of_days(tmp_path: Path) -> None:
    config = HubConfig.from_mapping({"retired_seal_grace_days": 2.5}, data_dir=tmp_path)
    assert config.retired_seal_grace == timedelta(days=2.5)
    assert HubConfig(data_dir=tmp_path).retired_seal_grace == timedelta(days=7)
    assert config.to_mapping()["retired_seal_grace_days"] == 2.5
    with pytest.raises(HubConfigError, match="retired_seal_grace"):
        HubConfig.from_mapping({"retired_seal_grace_days": 0}, data_dir=tmp_path)
