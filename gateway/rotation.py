"""``sceau gateway rotate-keys``: a new TLS and seal key, certified by the hub, switched.

Steps (docs/KEYS.md), each resumable, so that running the command again after a
failure or a kill finishes the job:

1. **Stage**: new ECDSA P-256 keys in ``keys/next/`` (0600) and their CSRs in
   ``certs/next/`` (kept if already there).
2. **Certify**: ``POST /link/v1/gateway/renewal`` over mutual TLS with the *current*
   certificate; the answer is checked as at enrollment (our keys, the pinned hub CA,
   our organisation) and kept in ``certs/next/``. The hub now accepts both pairs.
3. **Switch** (the service must be stopped: :class:`gateway.service_lock.ServiceLock`):
   the current files are copied to ``keys/archive/<old TLS serial>/``, the switch is
   decided, and the staged files are renamed over the current ones
   (:mod:`gateway.key_switch`).
4. **Complete**: ``POST /link/v1/gateway/renewal/complete`` with the *new*
   certificate; the hub retires the old TLS certificate, and the old seal certificate
   for seals signed from then on.

Before step 3 nothing the running gateway uses has changed; after it, the new pair is
in place even if the hub is not yet told (it accepts both until step 4).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from gateway.errors import GatewayConfigError, HubRefused, HubUnreachable, NotEnrolled
from gateway.identity import link_ssl_context
from gateway.key_switch import (
    RotationPaths,
    archive_current,
    decide_switch,
    finish_switch,
    write_private,
)
from gateway.link_client import LinkClient
from gateway.service_lock import ServiceLock
from gateway.settings import Enrollment, GatewaySettings
from trust.errors import KeyMaterialError, MalformedInputError
from trust.keys import FileSigner, KeyAlgorithm, private_key_pem
from trust.pki import (
    CertProfile,
    certificates_pem,
    load_certificates_file,
    load_certificates_pem,
    make_csr,
    public_key_matches,
    validate_chain,
)


class RotationStep(enum.Enum):
    CERTIFIED = "certified"  # the hub certified the staged keys (step 2 ran now)
    SWITCHED = "switched"  # the staged keys replaced the current ones (step 3 ran now)
    COMPLETED = "completed"  # the hub retired the old certificates (step 4)


@dataclass(frozen=True)
class RotationReport:
    steps: tuple[RotationStep, ...]
    tls_serial: str  # hex, the certificates in use after the command
    seal_serial: str
    retired_serials: tuple[str, ...]
    archive: Path | None  # where the replaced keys went (None when resuming step 4)


def _serial(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def _org(settings: GatewaySettings) -> str:
    return f"{settings.company_register}:{settings.branch_code}"


def _stage(settings: GatewaySettings, rotation: RotationPaths) -> None:
    """Step 1: the new keys and CSRs (an earlier run's are kept)."""
    for folder in (rotation.next_keys, rotation.next_certs):
        folder.mkdir(mode=0o700, exist_ok=True)
    org = _org(settings)
    for name, key_path, csr_path in (
        ("TLS", rotation.tls_key, rotation.tls_csr),
        ("seal", rotation.seal_key, rotation.seal_csr),
    ):
        if key_path.exists():
            signer = FileSigner.load(key_path)
        else:
            signer = FileSigner.generate(KeyAlgorithm.EC_P256)
            write_private(key_path, private_key_pem(signer.private_key))
        if not csr_path.exists():
            csr = make_csr(
                signer.private_key, common_name=f"sceau gateway {name} {org}", organization=org
            )
            write_private(csr_path, csr.public_bytes(serialization.Encoding.PEM))


def _certified(settings: GatewaySettings, rotation: RotationPaths, *, now: datetime) -> bool:
    """Whether ``certs/next/`` holds valid certificates of the staged keys."""
    if not (rotation.tls_cert.exists() and rotation.seal_cert.exists()):
        return False
    try:
        _check_issued(
            settings,
            {
                "tlsCertificate": rotation.tls_cert.read_text("ascii"),
                "sealCertificate": rotation.seal_cert.read_text("ascii"),
            },
            rotation,
            now=now,
        )
    except GatewayConfigError:
        return False
    return True


def _check_issued(
    settings: GatewaySettings,
    answer: dict[str, Any],
    rotation: RotationPaths,
    *,
    now: datetime,
) -> dict[str, list[x509.Certificate]]:
    """The hub's certificates: our staged keys, the pinned CA, our organisation."""
    paths = settings.paths
    anchors = load_certificates_file(paths.hub_ca)
    roots = [c for c in anchors if c.issuer == c.subject]
    issued = {}
    for field, key_path, profile in (
        ("tlsCertificate", rotation.tls_key, CertProfile.TLS_CLIENT),
        ("sealCertificate", rotation.seal_key, CertProfile.SEAL),
    ):
        text = answer.get(field)
        if not isinstance(text, str):
            raise GatewayConfigError(f"the hub's renewal answer lacks {field}")
        try:
            certs = load_certificates_pem(text.encode(), source=field)
        except MalformedInputError as exc:
            raise GatewayConfigError(f"the hub's {field} is not PEM: {exc.message}") from exc
        leaf = certs[0]
        if not public_key_matches(leaf, FileSigner.load(key_path).public_key()):
            raise GatewayConfigError(f"the hub's {field} is not for the staged key {key_path}")
        result = validate_chain(
            leaf, anchors=roots, intermediates=certs[1:], at_time=now, profile=profile
        )
        if not result.ok:
            raise GatewayConfigError(
                f"the hub's {field} does not chain to the pinned hub CA: "
                + "; ".join(result.reasons)
            )
        names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if _org(settings) not in names:
            raise GatewayConfigError(f"the hub's {field} names {names}, not {_org(settings)}")
        issued[field] = [leaf, *certs[1:], *[c for c in anchors if c not in certs]]
    return issued


def _refusal(exc: HubRefused, *, switched: bool) -> GatewayConfigError | HubRefused:
    if exc.status == 403:
        return GatewayConfigError(
            f"the hub refuses this gateway: {exc.message}",
            hint="The gateway was revoked: ask the hub operator for a token and enroll a "
            "fresh data folder (sceau gateway init, enroll).",
        )
    if switched:
        return exc
    return HubRefused(
        exc.message,
        status=exc.status,
        hint="Nothing was switched: the current keys stay in use. Fix what the hub says "
        "and run `sceau gateway rotate-keys` again.",
    )


async def _call(
    settings: GatewaySettings,
    work: Callable[[LinkClient], Awaitable[dict[str, Any]]],
    *,
    switched: bool,
) -> dict[str, Any]:
    """One link call over the certificate in place, its failures worded for rotation."""
    enrollment = Enrollment.load(settings.paths)
    context = await asyncio.to_thread(link_ssl_context, settings.paths)
    client = LinkClient(settings.hub_url or enrollment.hub_url, context)
    try:
        return await work(client)
    except HubUnreachable as exc:
        if switched:
            hint = (
                "The new keys are in use here; the hub still accepts the old ones too. "
                "Run `sceau gateway rotate-keys` again when the hub answers, to complete."
            )
        else:
            hint = (
                "Nothing was switched: the current keys stay in use. Run `sceau gateway "
                "rotate-keys` again when the hub answers (it resumes)."
            )
        raise HubUnreachable(exc.message, hint=hint) from exc
    except HubRefused as exc:
        raise _refusal(exc, switched=switched) from exc
    finally:
        await client.close()


async def _certify(settings: GatewaySettings, rotation: RotationPaths, *, now: datetime) -> None:
    """Step 2: the hub certifies the staged keys; kept in ``certs/next/``."""
    tls_csr = rotation.tls_csr.read_text("ascii")
    seal_csr = rotation.seal_csr.read_text("ascii")
    answer = await _call(
        settings, lambda client: client.request_renewal(tls_csr, seal_csr), switched=False
    )
    issued = await asyncio.to_thread(_check_issued, settings, answer, rotation, now=now)
    write_private(rotation.seal_cert, certificates_pem(issued["sealCertificate"]))
    write_private(rotation.tls_cert, certificates_pem(issued["tlsCertificate"]))


def _switch(settings: GatewaySettings, rotation: RotationPaths) -> Path:
    """Step 3: archive the current pair, decide, roll forward (service stopped)."""
    paths = settings.paths
    old_tls = load_certificates_file(paths.tls_cert)[0]
    new_tls = load_certificates_file(rotation.tls_cert)[0]
    archive = archive_current(rotation, f"tls-{_serial(old_tls)}")
    decide_switch(
        rotation,
        {
            "oldTlsSerial": _serial(old_tls),
            "newTlsSerial": _serial(new_tls),
            "archive": str(archive.relative_to(paths.root)),
        },
    )
    finish_switch(paths)
    return archive


async def _complete(settings: GatewaySettings, rotation: RotationPaths) -> tuple[str, ...]:
    """Step 4: tell the hub, with the new certificate, that the switch is done."""
    answer = await _call(settings, lambda client: client.complete_renewal(), switched=True)
    rotation.complete.unlink(missing_ok=True)
    retired = answer.get("retiredSerials")
    return tuple(str(s) for s in retired) if isinstance(retired, list) else ()


async def rotate_keys(settings: GatewaySettings, *, now: datetime) -> RotationReport:
    """Run (or resume) the rotation; see the module's docstring."""
    paths = settings.paths
    rotation = RotationPaths(paths)
    if not paths.tls_cert.exists() and not rotation.switch.exists():
        raise NotEnrolled(f"{paths.root} is not enrolled with a hub: nothing to rotate")
    Enrollment.load(paths)
    steps: list[RotationStep] = []
    archive = None
    lock = ServiceLock(paths)
    try:
        await asyncio.to_thread(finish_switch, paths)
        if not rotation.complete.exists():
            # The switch changes the files a running service loaded: stop it first.
            await asyncio.to_thread(lock.acquire, purpose="rotate its keys")
            await asyncio.to_thread(_stage, settings, rotation)
            if not await asyncio.to_thread(_certified, settings, rotation, now=now):
                await _certify(settings, rotation, now=now)
                steps.append(RotationStep.CERTIFIED)
            archive = await asyncio.to_thread(_switch, settings, rotation)
            steps.append(RotationStep.SWITCHED)
    except (KeyMaterialError, MalformedInputError) as exc:
        raise GatewayConfigError(exc.message) from exc
    except OSError as exc:
        raise GatewayConfigError(
            f"key rotation in {paths.root}: {exc}",
            hint="Fix the named file (permissions, disk), then run `sceau gateway "
            "rotate-keys` again: it resumes where it stopped.",
        ) from exc
    finally:
        lock.release()
    retired = await _complete(settings, rotation)
    steps.append(RotationStep.COMPLETED)
    tls = load_certificates_file(paths.tls_cert)[0]
    seal = load_certificates_file(paths.seal_cert)[0]
    return RotationReport(tuple(steps), _serial(tls), _serial(seal), retired, archive)
