"""What the hub checks before it accepts a sealed manifest from a gateway.

1. The manifest is a ``sceau-manifest/1`` document in RFC 8785 canonical form.
2. The seal verifies over those exact bytes (:func:`trust.seal.verify_seal`): CAdES-B
   attributes, signature, and a chain to the hub's CA *at the signing time* with the
   seal profile. A signing time more than :data:`MAX_FUTURE` ahead of the hub's clock
   is refused.
3. The signer's certificate is a seal certificate this hub issued at enrollment (or at
   a key rotation), to a gateway of the calling organisation that is not revoked; a
   certificate retired by a rotation only for seals signed before its retirement.
4. The manifest describes what it is sent with (:mod:`hub.manifest_checks`).

Not checked: revocation beyond the hub's own registry (no CRL or OCSP), and that the
signing time is true (it is the gateway's claim; the gateway's time-stamped
checkpoints bound it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from hub.enrollment import certificate_fingerprint
from hub.errors import ForeignSeal, SealRefused
from hub.gateways import Gateways
from hub.link_model import LinkCaller
from hubee.errors import ValidationFailed
from trust.errors import MalformedInputError
from trust.manifest import Manifest
from trust.seal import verify_seal

MAX_FUTURE = timedelta(minutes=5)  # clock skew tolerated on a seal's signing time


@dataclass(frozen=True)
class CheckedSeal:
    """A manifest whose seal verified and belongs to the caller's organisation."""

    manifest: Manifest
    manifest_bytes: bytes
    seal: bytes
    sha256: str
    signer_fingerprint: str
    signer_subject: str


def parse_manifest(data: bytes, field: str = "manifest") -> Manifest:
    try:
        return Manifest.from_json(data)
    except MalformedInputError as exc:
        raise ValidationFailed(field, exc.message) from exc


class SealChecker:
    def __init__(self, gateways: Gateways, anchors: Sequence[x509.Certificate]) -> None:
        self._gateways = gateways
        self._anchors = tuple(anchors)

    async def check(
        self, caller: LinkCaller, manifest_bytes: bytes, seal: bytes, *, now: datetime, field: str
    ) -> CheckedSeal:
        """Steps 1 to 3 above; ``field`` names the manifest in error messages."""
        manifest = parse_manifest(manifest_bytes, field)
        found = verify_seal(seal, manifest_bytes, anchors=self._anchors)
        if not found.ok:
            raise SealRefused("seal", "does not verify: " + "; ".join(found.reasons))
        cert = found.signer_certificate
        assert cert is not None and found.signing_time is not None
        if found.signing_time > now + MAX_FUTURE:
            raise SealRefused(
                "seal",
                f"its signing time {found.signing_time:%Y-%m-%dT%H:%M:%SZ} is in the future",
            )
        fingerprint = certificate_fingerprint(cert)
        owner = await self._gateways.seal_owner(fingerprint, signed_at=found.signing_time, now=now)
        if owner is None:
            raise ForeignSeal(
                f"the seal's certificate ({found.subject}) is not a seal certificate this hub "
                "issued to a gateway"
            )
        gateway, org = owner
        if org.id != caller.org.id:
            raise ForeignSeal(
                f"the seal's certificate ({found.subject}) belongs to {org.ref.key}, not to the "
                f"calling organization {caller.org.ref.key}"
            )
        if gateway.revoked:
            raise ForeignSeal(
                f"the seal's certificate ({found.subject}) was revoked with gateway {gateway.id}"
            )
        return CheckedSeal(
            manifest=manifest,
            manifest_bytes=manifest_bytes,
            seal=seal,
            sha256=hashlib.sha256(manifest_bytes).hexdigest(),
            signer_fingerprint=fingerprint,
            signer_subject=found.subject,
        )
