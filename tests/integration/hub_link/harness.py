"""A real hub over TLS on loopback, and gateways that enroll and talk to it over mTLS.

The hub runs in the test's event loop (a debug loop that fails on blocked callbacks);
gateways are aiohttp clients with real keys, CSRs, certificates from the hub's CA,
and seals made with ``trust``. Every link answer is checked against the hub's OpenAPI
document.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from multidict import CIMultiDict

from hub.app import serve_hub
from hub.identity import create_identity
from hub.runtime import HubRuntime
from hub.settings import HubConfig
from hubee.model import Organization, OrgRef, OrgType, Process
from tests.integration.hub.harness import FakeClock
from tests.integration.hub_link.conformance import LinkConformance
from trust.checkpoint import VerifierKey
from trust.keys import FileSigner, KeyAlgorithm, write_private_key
from trust.manifest import AttachmentDigest, Manifest
from trust.pki import certificate_pem, load_certificates_pem, make_csr
from trust.seal import seal

DGS = OrgRef(OrgType.OSL, "11000201100044", "DGS")
SAINT_DENIS = OrgRef(OrgType.SI, "21930066200016", "93066")
MONTREUIL = OrgRef(OrgType.SI, "21930048000016", "93048")
CNAF = OrgRef(OrgType.OSL, "18003502400014", "CNAF")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sha256_digest_header(data: bytes) -> str:
    return "sha-256=" + b64(hashlib.sha256(data).digest())


@dataclass
class Reply:
    status: int
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return str(self.json()["errors"][0]["message"])


def client_context(
    ca_pem: Path, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_pem))
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


@dataclass
class LinkHub:
    url: str
    runtime: HubRuntime
    clock: FakeClock
    folder: Path
    conformance: LinkConformance
    ca_pem: Path
    orgs: dict[str, Organization] = field(default_factory=dict)
    gateways: list[Gateway] = field(default_factory=list)

    async def request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: list[tuple[str, str]] | None = None,
        check: bool = True,
    ) -> Reply:
        sent = dict(headers or {})
        body = data
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        # Large bodies go as a stream, so that the client does not hold the loop.
        payload = io.BytesIO(body) if body is not None and len(body) > 1024 * 1024 else body
        async with session.request(
            method, self.url + path, data=payload, headers=sent, params=params or []
        ) as response:
            raw = await response.read()
            reply = Reply(response.status, CIMultiDict(response.headers), raw)
        if check:
            self.conformance.check(
                method=method,
                path=path,
                query=params or [],
                request_headers=sent,
                request_body=body,
                status=reply.status,
                response_headers=reply.headers,
                body=raw,
            )
        return reply

    def anonymous(self) -> aiohttp.ClientSession:
        """A session that trusts the hub's CA and presents no certificate."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=client_context(self.ca_pem))
        )

    async def token(self, ref: OrgRef) -> str:
        token, _, _ = await self.runtime.link.enrollment.new_token(
            ref.company_register,
            ref.branch_code,
            now=self.clock(),
            ttl=self.runtime.config.enrollment_token_ttl,
        )
        return token

    async def gateway(self, ref: OrgRef, name: str | None = None) -> Gateway:
        """A gateway of ``ref``'s organisation, enrolled and connected over mTLS."""
        # Key generation and key files are blocking work: off the loop the hub runs on.
        gateway = await asyncio.to_thread(
            Gateway.generate, self, ref, name or f"gw-{len(self.gateways)}"
        )
        self.gateways.append(gateway)
        async with self.anonymous() as session:
            reply = await gateway.enroll(session, await self.token(ref))
        assert reply.status == 201, reply.body
        await gateway.connect()
        return gateway


@dataclass
class Gateway:
    hub: LinkHub
    ref: OrgRef
    folder: Path
    tls: FileSigner
    seal_key: FileSigner
    journal: FileSigner
    journal_key: VerifierKey
    enrolled: dict[str, Any] = field(default_factory=dict)
    session: aiohttp.ClientSession | None = None

    @classmethod
    def generate(cls, hub: LinkHub, ref: OrgRef, name: str) -> Gateway:
        folder = hub.folder / name
        folder.mkdir(parents=True, exist_ok=True)
        journal = FileSigner.generate(KeyAlgorithm.ED25519)
        return cls(
            hub,
            ref,
            folder,
            FileSigner.generate(),
            FileSigner.generate(),
            journal,
            VerifierKey.for_signer(f"{name}.example/journal", journal),
        )

    @property
    def org_key(self) -> str:
        return self.ref.key

    def enroll_body(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "tlsCsr": make_csr(self.tls.private_key, common_name="gateway")
            .public_bytes(Encoding.PEM)
            .decode(),
            "sealCsr": make_csr(self.seal_key.private_key, common_name="seal")
            .public_bytes(Encoding.PEM)
            .decode(),
            "journalKey": self.journal_key.encode(),
        }

    async def enroll(self, session: aiohttp.ClientSession, token: str) -> Reply:
        reply = await self.hub.request(
            session, "POST", "/link/v1/enroll", json_body=self.enroll_body(token)
        )
        if reply.status == 201:
            self.enrolled = reply.json()
        return reply

    @property
    def seal_certificate(self) -> x509.Certificate:
        return load_certificates_pem(self.enrolled["sealCertificate"].encode())[0]

    @property
    def tls_certificate(self) -> x509.Certificate:
        return load_certificates_pem(self.enrolled["tlsCertificate"].encode())[0]

    def tls_context(self) -> ssl.SSLContext:
        """Write the TLS certificate and key (blocking) and build the client context."""
        cert = self.folder / "tls.pem"
        key = self.folder / "tls.key"
        cert.write_bytes(self.enrolled["tlsCertificate"].encode())
        write_private_key(key, self.tls.private_key, overwrite=True)
        return client_context(self.hub.ca_pem, cert, key)

    async def connect(self) -> None:
        context = await asyncio.to_thread(self.tls_context)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))

    async def call(self, method: str, path: str, **kw: Any) -> Reply:
        assert self.session is not None
        return await self.hub.request(self.session, method, path, **kw)

    def seal(self, content: bytes, *, signer: FileSigner | None = None) -> bytes:
        return seal(
            content,
            signer=signer or self.seal_key,
            certificate=self.seal_certificate,
            signing_time=datetime.now(UTC),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


@dataclass(frozen=True)
class SealedFolder:
    folder_id: str
    body: dict[str, Any]
    manifest: Manifest
    files: dict[str, bytes]

    @property
    def manifest_bytes(self) -> bytes:
        return self.manifest.to_json()


def sealed_folder(
    sender: OrgRef,
    recipients: list[OrgRef],
    files: dict[str, bytes],
    *,
    process: str = "CERTDC",
    external_id: str | None = None,
    folder_id: str | None = None,
) -> SealedFolder:
    """A HubEE folder body and the manifest that describes it."""
    folder_id = folder_id or str(uuid.uuid4())
    external_id = external_id or folder_id[:20]
    cases = [
        {
            "recipient": {
                "type": r.type.value,
                "companyRegister": r.company_register,
                "branchCode": r.branch_code,
            },
            "externalId": f"{external_id}-{i}",
        }
        for i, r in enumerate(recipients)
    ]
    body = {
        "processCode": process,
        "externalId": external_id,
        "applicant": {"firstName": "Camille", "lastName": "Martin"},
        "cases": cases,
        "attachments": [
            {
                "fileName": name,
                "type": "PJ",
                "size": len(data),
                "mimeType": "application/pdf",
                "recipients": [c["externalId"] for c in cases],
            }
            for name, data in files.items()
        ],
    }
    manifest = Manifest(
        id=folder_id,
        kind="folder",
        created=datetime.now(UTC),
        attachments=tuple(
            AttachmentDigest(name, "application/pdf", len(data), hashlib.sha256(data).hexdigest())
            for name, data in files.items()
        ),
        process_code=process,
        external_id=external_id,
        sender=sender.key,
        recipients=tuple(r.key for r in recipients),
    )
    return SealedFolder(folder_id, body, manifest, files)


def push_body(
    gateway: Gateway, folder: SealedFolder, *, seal_bytes: bytes | None = None
) -> dict[str, Any]:
    manifest = folder.manifest_bytes
    return {
        "folder": folder.body,
        "manifest": b64(manifest),
        "seal": b64(seal_bytes if seal_bytes is not None else gateway.seal(manifest)),
    }


async def send_folder(
    gateway: Gateway, folder: SealedFolder, *, complete: bool = True
) -> dict[str, Any]:
    """Push, upload every file, complete; returns the HubEE folder."""
    pushed = await gateway.call(
        "PUT", f"/link/v1/folders/{folder.folder_id}", json_body=push_body(gateway, folder)
    )
    assert pushed.status == 201, pushed.body
    answer: dict[str, Any] = pushed.json()["folder"]
    for meta in answer["attachments"]:
        data = folder.files[meta["fileName"]]
        put = await gateway.call(
            "PUT",
            f"/link/v1/folders/{folder.folder_id}/attachments/{meta['id']}",
            data=data,
            headers={
                "Content-Type": "application/octet-stream",
                "digest": sha256_digest_header(data),
            },
        )
        assert put.status == 204, put.body
    if complete:
        done = await gateway.call("POST", f"/link/v1/folders/{folder.folder_id}/complete")
        assert done.status == 200, done.body
        answer = done.json()["folder"]
    return answer


@asynccontextmanager
async def running_link_hub(
    folder: Path, conformance: LinkConformance, **settings: Any
) -> AsyncIterator[LinkHub]:
    config = HubConfig(data_dir=folder / "hub", **settings)
    await asyncio.to_thread(create_identity, config, hosts=("localhost", "127.0.0.1"))
    clock = FakeClock(datetime.now(UTC))
    runtime = await HubRuntime.open(config, clock=clock)
    runner, port = await serve_hub(runtime, host="127.0.0.1", port=0)
    ca_pem = folder / "hub-ca.pem"
    await asyncio.to_thread(ca_pem.write_bytes, certificate_pem(runtime.identity.ca_certificate))
    hub = LinkHub(f"https://127.0.0.1:{port}", runtime, clock, folder, conformance, ca_pem)
    directory = runtime.services.directory
    try:
        for ref, name in (
            (DGS, "Direction générale de la santé"),
            (CNAF, "Caisse nationale des allocations familiales"),
            (SAINT_DENIS, "Commune de Saint-Denis"),
            (MONTREUIL, "Commune de Montreuil"),
        ):
            hub.orgs[ref.key] = await directory.add_org(ref, name)
        await directory.add_process(Process("CERTDC", "Certificat de décès"), osl=DGS)
        for ref in (SAINT_DENIS, MONTREUIL):
            await directory.subscribe(
                process_code="CERTDC",
                subscriber=ref,
                activate=True,
                local_admin_email="admin@example.fr",
            )
        yield hub
    finally:
        for gateway in hub.gateways:
            await gateway.close()
        await runner.cleanup()
        await runtime.close()


Scenario = Callable[[LinkHub], Awaitable[None]]
