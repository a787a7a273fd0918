"""Enrollment over real TLS: certificates that work for mTLS, and every refusal."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from datetime import timedelta

import aiohttp
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    Gateway,
    LinkHub,
    client_context,
)
from trust.checkpoint import VerifierKey
from trust.pki import CertProfile, certificate_pem, load_certificates_pem, validate_chain
from trust.throwaway_pki import ThrowawayPki

LinkRun = Callable[..., None]


def test_enrollment_issues_working_mtls_and_seal_certificates(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(SAINT_DENIS)
        answer = gateway.enrolled
        assert answer["organization"] == {
            "type": "SI",
            "companyRegister": SAINT_DENIS.company_register,
            "branchCode": SAINT_DENIS.branch_code,
        }
        ca = load_certificates_pem(answer["chain"][-1].encode())[0]
        assert ca == hub.runtime.identity.ca_certificate
        now = hub.clock()
        for cert, profile in (
            (gateway.tls_certificate, CertProfile.TLS_CLIENT),
            (gateway.seal_certificate, CertProfile.SEAL),
        ):
            assert validate_chain(cert, anchors=[ca], at_time=now, profile=profile).ok
            org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
            assert org == "21930066200016:93066"
        assert (
            gateway.tls_certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            == answer["gatewayId"]
        )
        usage = gateway.seal_certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.content_commitment
        eku = gateway.tls_certificate.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage
        ).value
        assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert VerifierKey.parse(answer["witnessKey"]) == hub.runtime.identity.witness_key
        assert answer["tsaUrl"] == f"{hub.url}/tsa"
        # The TLS certificate opens the link: the feed answers for this organisation.
        feed = await gateway.call("GET", "/link/v1/notifications", params=[("wait", "0")])
        assert feed.status == 200 and feed.json() == {"items": [], "cursor": 0}

    link_run(scenario)


def test_a_token_works_once_and_refusals_say_why(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        token = await hub.token(DGS)
        first = await asyncio.to_thread(Gateway.generate, hub, DGS, "first")
        second = await asyncio.to_thread(Gateway.generate, hub, DGS, "second")
        async with hub.anonymous() as session:
            assert (await first.enroll(session, token)).status == 201
            used = await second.enroll(session, token)
            assert used.status == 401 and "already used" in used.message
            unknown = await second.enroll(session, "not-a-token")
            assert unknown.status == 401 and "unknown enrollment token" in unknown.message
            late = await hub.token(DGS)
            hub.clock.advance(hours=24, seconds=1)
            expired = await second.enroll(session, late)
            assert expired.status == 401 and "expired" in expired.message
            hub.clock.advance(hours=-24, seconds=-1)
            body = second.enroll_body(await hub.token(DGS))
            body["sealCsr"] = body["tlsCsr"]
            same_key = await hub.request(session, "POST", "/link/v1/enroll", json_body=body)
            assert same_key.status == 400 and "sealCsr" in same_key.message
            body = second.enroll_body(await hub.token(DGS))
            body["journalKey"] = "garbage"
            bad_key = await hub.request(session, "POST", "/link/v1/enroll", json_body=body)
            assert bad_key.status == 400 and "journalKey" in bad_key.message
        # Nothing was registered by the refusals.
        records = await hub.runtime.link.gateways.listing()
        assert [r.gateway.id for r in records] == [first.enrolled["gatewayId"]]

    link_run(scenario)


def test_a_client_that_pins_another_ca_refuses_the_hub(
    link_run: LinkRun, make_pki: Callable[..., ThrowawayPki]
) -> None:
    async def scenario(hub: LinkHub) -> None:
        other = await asyncio.to_thread(make_pki)
        other_ca = hub.folder / "other-ca.pem"
        other_ca.write_bytes(certificate_pem(other.root.certificate))
        connector = aiohttp.TCPConnector(ssl=client_context(other_ca))
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"{hub.url}/healthz")

    link_run(scenario)


def test_link_calls_need_a_registered_unrevoked_certificate(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        async with hub.anonymous() as session:
            bare = await hub.request(session, "GET", "/link/v1/notifications")
            assert bare.status == 401 and "client certificate" in bare.message
        gateway = await hub.gateway(SAINT_DENIS)
        assert (await gateway.call("GET", "/link/v1/notifications")).status == 200
        await hub.runtime.link.gateways.revoke(
            gateway.enrolled["gatewayId"], reason="stolen laptop", now=hub.clock()
        )
        # The same keep-alive connection: refused on the very next request.
        revoked = await gateway.call("GET", "/link/v1/notifications")
        assert revoked.status == 403 and "revoked" in revoked.message
        assert "stolen laptop" in revoked.message

    link_run(scenario)


def test_a_certificate_from_another_ca_gets_no_connection(
    link_run: LinkRun, make_pki: Callable[..., ThrowawayPki]
) -> None:
    async def scenario(hub: LinkHub) -> None:
        foreign = await asyncio.to_thread(make_pki)
        cert = hub.folder / "foreign.pem"
        key = hub.folder / "foreign.key"
        cert.write_bytes(certificate_pem(foreign.tls_client.certificate))
        foreign.tls_client.signer.save(key)
        context = client_context(hub.ca_pem, cert, key)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
            with pytest.raises(
                (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError, ssl.SSLError)
            ):
                async with session.get(f"{hub.url}/link/v1/notifications") as response:
                    await response.read()

    link_run(scenario)


def test_tokens_expire_after_the_configured_time(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        _, _, expires = await hub.runtime.link.enrollment.new_token(
            DGS.company_register, DGS.branch_code, now=hub.clock(), ttl=timedelta(minutes=10)
        )
        assert expires == hub.clock() + timedelta(minutes=10)

    link_run(scenario)
