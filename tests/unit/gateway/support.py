"""Gateways for tests: initialised, enrolled offline against a throwaway hub PKI, and a
small HubEE client for their LAN API."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography import x509
from multidict import CIMultiDict

from gateway.identity import init_data_dir
from gateway.lan import make_lan_app
from gateway.runtime import GatewayRuntime
from gateway.settings import Enrollment, GatewaySettings
from trust.checkpoint import SIG_TYPE_COSIGNATURE_V1, VerifierKey
from trust.keys import FileSigner, KeyAlgorithm
from trust.pki import CertProfile, certificate_pem, certificates_pem
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import InProcessTimeStamper

DGS = ("11000201100044", "DGS")
SAINT_DENIS = ("21930066200016", "93066")
CD93 = ("22930008201453", "93")
CNAF = ("18003502400014", "CNAF")
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "hubee" / "JDD"
CERTDC = [
    ("ER20190860001_20190517_1512_VA.pdf", "VA_CertificatdeDeces"),
    ("ER20190860001_20190517_1512_VA.xml", "VA_CertificatdeDeces"),
    ("ER20190860001_20190517_1512_DD.pdf", "DD_CertificatdeDeces"),
    ("ER20190860001_20190517_1512_DD.xml", "DD_CertificatdeDeces"),
]


@dataclass(frozen=True)
class HubPki:
    """The hub's CA, TSA and witness, as a test hub would have them."""

    pki: ThrowawayPki
    witness: FileSigner

    @classmethod
    def create(cls) -> HubPki:
        return cls(ThrowawayPki.create(), FileSigner.generate(KeyAlgorithm.ED25519))

    @property
    def ca(self) -> x509.Certificate:
        return self.pki.root.certificate

    @property
    def witness_key(self) -> VerifierKey:
        return VerifierKey.for_signer("hub-witness", self.witness, sig_type=SIG_TYPE_COSIGNATURE_V1)

    def timestamper(self) -> InProcessTimeStamper:
        tsa = TimeStampAuthority(self.pki.tsa.signer, self.pki.tsa.certificate, ())
        return InProcessTimeStamper(responder=tsa.respond, anchors=[self.ca])

    def issue(self, csr_pem: bytes, profile: CertProfile, org: str) -> x509.Certificate:
        csr = x509.load_pem_x509_csr(csr_pem)
        return self.pki.root.issue_from_csr(
            csr, profile=profile, organization=org, common_name=f"gateway {profile.value} {org}"
        )


def enroll_offline(
    root: Path, hub: HubPki, org: tuple[str, str], org_type: str, **settings: Any
) -> GatewaySettings:
    """``sceau gateway init`` then what ``enroll`` writes, without a network."""
    gateway = GatewaySettings(root, org[0], org[1], hub_url="https://127.0.0.1:1", **settings)
    init_data_dir(gateway)
    paths = gateway.paths
    o = f"{org[0]}:{org[1]}"
    tls = hub.issue(paths.tls_csr.read_bytes(), CertProfile.TLS_CLIENT, o)
    seal = hub.issue(paths.seal_csr.read_bytes(), CertProfile.SEAL, o)
    paths.hub_ca.write_bytes(certificate_pem(hub.ca))
    paths.seal_cert.write_bytes(certificates_pem([seal]))
    paths.witness_vkey.write_text(hub.witness_key.encode() + "\n")
    Enrollment(
        gateway_id=f"gw-{org[1]}",
        org_type=org_type,
        hub_url="https://127.0.0.1:1",
        tsa_url="https://127.0.0.1:1/tsa",
        witness_key=hub.witness_key.encode(),
        enrolled_at=datetime.now(UTC).isoformat(),
    ).save(paths)
    paths.tls_cert.write_bytes(certificates_pem([tls]))
    return gateway


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class Reply:
    status: int
    body: bytes
    headers: CIMultiDict[str]

    def json(self) -> Any:
        return json.loads(self.body)


class LanClient:
    """A HubEE client: only the HubEE API, a base URL and credentials."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.token = ""

    async def login(self, client_id: str, secret: str, scope: str) -> None:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        async with self.session.post(
            f"{self.base}/token",
            headers={"Authorization": f"Basic {basic}"},
            data={"grant_type": "client_credentials", "scope": scope},
        ) as r:
            assert r.status == 200, await r.text()
            self.token = (await r.json())["access_token"]

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        async with self.session.request(
            method, f"{self.base}{path}", json=json_body, data=data, headers=all_headers
        ) as r:
            return Reply(r.status, await r.read(), CIMultiDict(r.headers))


@asynccontextmanager
async def lan(runtime: GatewayRuntime) -> AsyncIterator[LanClient]:
    runner = web.AppRunner(make_lan_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            yield LanClient(session, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


def certdc_folder(
    recipient: tuple[str, str], external_id: str
) -> tuple[dict[str, Any], list[bytes]]:
    """The CERTDC sample: a folder body for one commune, and its four files."""
    case_ext = f"{external_id}-01"
    files = [(SAMPLES / "CERTDC" / name).read_bytes() for name, _ in CERTDC]
    body = {
        "processCode": "CERTDC",
        "externalId": external_id,
        "applicant": {"firstName": "Camille", "lastName": "Martin", "email": "c.martin@example.fr"},
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": recipient[0],
                    "branchCode": recipient[1],
                },
                "externalId": case_ext,
            }
        ],
        "attachments": [
            {
                "fileName": name,
                "type": kind,
                "size": len(data),
                "mimeType": "application/pdf" if name.endswith(".pdf") else "application/xml",
                "recipients": [case_ext],
            }
            for (name, kind), data in zip(CERTDC, files, strict=True)
        ],
    }
    return body, files


async def deposit(client: LanClient, body: dict[str, Any], files: list[bytes]) -> dict[str, Any]:
    created = await client.call("POST", "/teledossiers/v1/folders", json_body=body)
    assert created.status == 201, created.body
    folder = created.json()
    for meta, data in zip(folder["attachments"], files, strict=True):
        put = await client.call(
            "PUT",
            f"/teledossiers/v1/folders/{folder['id']}/attachments/{meta['id']}",
            data=data,
            headers={"Content-Type": "application/octet-stream", "digest": b64_sha256(data)},
        )
        assert put.status == 204, put.body
    done = await client.call(
        "PATCH",
        f"/teledossiers/v1/folders/{folder['id']}",
        json_body={"globalStatus": "HUBEE_COMPLETED"},
    )
    assert done.status == 204, done.body
    return folder  # type: ignore[no-any-return]
