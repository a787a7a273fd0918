"""``sceau gateway enroll``: trade the CSRs and a one-time token for certificates.

``POST /link/v1/enroll`` (docs/LINK.md, "Enrollment") is the only link call made
without a client certificate. The hub's server certificate is checked against
``--hub-ca`` when given, else against the system's trust store. The answer is checked
before anything is kept: each certificate holds our key, chains to the hub CA now,
and names our organisation; the witness key is a cosignature key. Then the hub CA is
pinned (``certs/hub-ca.pem``) for every later link call.
"""

from __future__ import annotations

import ssl
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.x509.oid import NameOID

from gateway.errors import GatewayConfigError, HubRefused, HubUnreachable
from gateway.settings import Enrollment, GatewaySettings
from trust.checkpoint import SIG_TYPE_COSIGNATURE_V1, VerifierKey
from trust.errors import MalformedInputError
from trust.keys import FileSigner
from trust.pki import (
    CertProfile,
    certificates_pem,
    load_certificates_pem,
    public_key_matches,
    validate_chain,
)

ENROLL_PATH = "/link/v1/enroll"


async def enroll(
    settings: GatewaySettings,
    *,
    hub_url: str,
    token: str,
    hub_ca: Path | None,
    now: datetime,
) -> Enrollment:
    """Enroll with the hub at ``hub_url``; writes certs/, enrollment.json, gateway.yaml."""
    paths = settings.paths
    if paths.tls_cert.exists():
        raise GatewayConfigError(
            f"{paths.root} is already enrolled", hint="Use a fresh data directory to re-enroll."
        )
    settings = replace(settings, hub_url=hub_url)  # validates the URL
    if not hub_url.startswith("https://"):
        raise GatewayConfigError("the hub link is HTTPS only (docs/LINK.md)")
    try:
        body = {
            "token": token,
            "tlsCsr": paths.tls_csr.read_text("ascii"),
            "sealCsr": paths.seal_csr.read_text("ascii"),
            "journalKey": paths.journal_vkey.read_text("utf-8").strip(),
        }
    except OSError as exc:
        raise GatewayConfigError(f"cannot read the CSRs: {exc}") from exc
    context = ssl.create_default_context(cafile=str(hub_ca) if hub_ca else None)
    answer = await _post(hub_url + ENROLL_PATH, body, context)
    enrollment = _accept(settings, answer, hub_url=hub_url, hub_ca=hub_ca, now=now)
    settings.save()
    return enrollment


async def _post(url: str, body: dict[str, Any], context: ssl.SSLContext) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=body, ssl=context) as response,
        ):
            payload = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise HubUnreachable(f"enrollment at {url} failed: {exc}") from exc
    if status != 201 or not isinstance(payload, dict):
        message = _error_message(payload) or f"HTTP {status}"
        raise HubRefused(f"the hub refused the enrollment: {message}", status=status)
    return payload


def _error_message(payload: object) -> str | None:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message"))
    return None


def _certs(answer: dict[str, Any], key: str) -> list[x509.Certificate]:
    value = answer.get(key)
    raw = value if isinstance(value, list) else [value]
    texts = [t for t in raw if isinstance(t, str)]
    if not texts or len(texts) != len(raw):
        raise GatewayConfigError(f"the hub's answer lacks {key}")
    try:
        return [c for t in texts for c in load_certificates_pem(t.encode(), source=key)]
    except MalformedInputError as exc:
        raise GatewayConfigError(f"the hub's {key} is not PEM: {exc.message}") from exc


def _accept(
    settings: GatewaySettings,
    answer: dict[str, Any],
    *,
    hub_url: str,
    hub_ca: Path | None,
    now: datetime,
) -> Enrollment:
    paths = settings.paths
    chain = _certs(answer, "chain")
    roots = [c for c in chain if c.issuer == c.subject]
    if hub_ca is not None:
        pinned = load_certificates_pem(hub_ca.read_bytes(), source=str(hub_ca))
        if not any(r in pinned for r in roots):
            raise GatewayConfigError("the hub's CA is not the one given with --hub-ca")
    if not roots:
        raise GatewayConfigError("the hub's chain has no root CA certificate")
    intermediates = [c for c in chain if c not in roots]
    org = f"{settings.company_register}:{settings.branch_code}"
    issued = {}
    for key_name, key_path, profile in (
        ("tlsCertificate", paths.tls_key, CertProfile.TLS_CLIENT),
        ("sealCertificate", paths.seal_key, CertProfile.SEAL),
    ):
        certs = _certs(answer, key_name)
        leaf = certs[0]
        if not public_key_matches(leaf, FileSigner.load(key_path).public_key()):
            raise GatewayConfigError(f"the hub's {key_name} is not for this gateway's key")
        result = validate_chain(
            leaf,
            anchors=roots,
            intermediates=[*certs[1:], *intermediates],
            at_time=now,
            profile=profile,
        )
        if not result.ok:
            raise GatewayConfigError(
                f"the hub's {key_name} does not validate: {'; '.join(result.reasons)}"
            )
        names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if org not in names:
            raise GatewayConfigError(f"the hub's {key_name} names {names}, not {org}")
        issued[key_name] = [leaf, *certs[1:], *intermediates]
    organization = answer.get("organization")
    org_type = organization.get("type") if isinstance(organization, dict) else None
    try:
        witness = VerifierKey.parse(str(answer.get("witnessKey", "")))
    except MalformedInputError as exc:
        raise GatewayConfigError(f"the hub's witness key: {exc.message}") from exc
    if witness.sig_type != SIG_TYPE_COSIGNATURE_V1:
        raise GatewayConfigError("the hub's witness key is not a cosignature (v1) key")
    enrollment = Enrollment(
        gateway_id=str(answer.get("gatewayId", "")),
        org_type=str(org_type),
        hub_url=hub_url,
        tsa_url=str(answer.get("tsaUrl") or hub_url + "/tsa"),
        witness_key=witness.encode(),
        enrolled_at=now.isoformat(),
    )
    paths.hub_ca.write_bytes(certificates_pem(chain))
    paths.seal_cert.write_bytes(certificates_pem(issued["sealCertificate"]))
    paths.witness_vkey.write_text(witness.encode() + "\n", "utf-8")
    enrollment.save(paths)
    paths.tls_cert.write_bytes(certificates_pem(issued["tlsCertificate"]))  # last: "enrolled"
    return enrollment
