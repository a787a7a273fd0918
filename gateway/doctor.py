"""``sceau gateway doctor``: what is wrong with this gateway, and how to fix each thing.

Checks, each giving a :class:`Finding` (never raising for what it finds):

- the data folder's permissions (folders 0700, key files 0600, owned by us);
- our TLS and seal certificates: a chain to the pinned hub CA now, and days left;
- free disk on the data volume;
- the journal: verified offline from its entry bytes with our journal key;
- the hub reachable over mTLS (a non-waiting read of the feed, which needs our client
  certificate, so a TLS or enrollment problem shows here);
- the clock against the TSA: the ``genTime`` of a real RFC 3161 time-stamp (verified
  against the pinned hub CA), compared with our clock around the request;
- a key rotation waiting to be finished (:mod:`gateway.rotation_state`).

Not checked: revocation of our certificates (the hub refuses a revoked gateway: the
hub check shows it), or whether the LAN port is free (``run`` says so at start).
"""

from __future__ import annotations

import asyncio
import enum
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.identity import link_ssl_context
from gateway.link_client import LinkClient
from gateway.rotation_state import pending_rotation
from gateway.settings import Enrollment, GatewaySettings
from trust.checkpoint import VerifierKey
from trust.journal_verify import verify_journal
from trust.pki import CertProfile, load_certificates_file, validate_chain
from trust.tsp import AiohttpTimeStamper

CERT_WARN_DAYS = 30
MAX_SKEW = timedelta(seconds=5)  # well inside RFC 3161 accuracy of common TSAs (1 s)
MIN_FREE_BYTES = 1 << 30
MIN_FREE_RATIO = 0.05


class Severity(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class Area(enum.Enum):
    """Decides the exit code: configuration (3), reachability (4), anything else (1)."""

    CONFIG = 3
    REACH = 4
    HOST = 1


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    detail: str
    fix: str = ""
    area: Area = Area.HOST


def exit_code(findings: list[Finding]) -> int:
    failed = [f.area for f in findings if f.severity is Severity.FAIL]
    for area in (Area.CONFIG, Area.REACH, Area.HOST):
        if area in failed:
            return int(area.value)
    return 0


def check_permissions(settings: GatewaySettings) -> Finding:
    paths = settings.paths
    bad: list[str] = []
    for folder in (paths.root, paths.keys):
        if not folder.is_dir():
            bad.append(f"{folder} is missing")
        elif stat.S_IMODE(folder.stat().st_mode) & 0o077:
            bad.append(f"{folder} is {oct(stat.S_IMODE(folder.stat().st_mode))}")
    if paths.keys.is_dir():
        for key in sorted(paths.keys.iterdir()):
            st = key.stat()
            if stat.S_IMODE(st.st_mode) & 0o077:
                bad.append(f"{key} is {oct(stat.S_IMODE(st.st_mode))}")
            if st.st_uid != os.geteuid():
                bad.append(f"{key} belongs to uid {st.st_uid}, not to us ({os.geteuid()})")
    if bad:
        return Finding(
            "permissions",
            Severity.FAIL,
            "; ".join(bad),
            f"chmod 700 {paths.root} {paths.keys}; chmod 600 {paths.keys}/*; "
            "chown the data folder to the service user",
            Area.CONFIG,
        )
    return Finding("permissions", Severity.OK, "data folder 0700, keys 0600, ours")


def check_certificates(settings: GatewaySettings, *, now: datetime) -> Finding:
    paths = settings.paths
    enroll = f"sceau gateway enroll --hub URL --token TOKEN --data {paths.root}"
    try:
        anchors = load_certificates_file(paths.hub_ca)
        chains = {
            "tls": (load_certificates_file(paths.tls_cert), CertProfile.TLS_CLIENT),
            "seal": (load_certificates_file(paths.seal_cert), CertProfile.SEAL),
        }
    except Exception as exc:  # noqa: BLE001 - reported as a finding
        return Finding("certificates", Severity.FAIL, f"cannot read: {exc}", enroll, Area.CONFIG)
    notes, worst = [], Severity.OK
    for name, (chain, profile) in chains.items():
        result = validate_chain(
            chain[0], anchors=anchors, intermediates=chain[1:], at_time=now, profile=profile
        )
        left = (chain[0].not_valid_after_utc - now).days
        if not result.ok:
            worst = Severity.FAIL
            notes.append(f"{name}: " + "; ".join(result.reasons))
        elif left < CERT_WARN_DAYS:
            worst = Severity.WARN if worst is Severity.OK else worst
            notes.append(f"{name} expires in {left} days")
        else:
            notes.append(f"{name} valid, {left} days left")
    fix = "" if worst is Severity.OK else f"ask the hub operator for a token, then {enroll}"
    return Finding("certificates", worst, "; ".join(notes), fix, Area.CONFIG)


def check_rotation(settings: GatewaySettings) -> Finding:
    """A warning while a ``rotate-keys`` run waits to be finished (both pairs work)."""
    pending = pending_rotation(settings.paths)
    if pending is None:
        return Finding("rotation", Severity.OK, "no key rotation pending")
    since = pending.since.strftime("%Y-%m-%d %H:%M")
    detail = f"{pending.summary} (since {since} UTC)"
    return Finding("rotation", Severity.WARN, detail, pending.fix, Area.CONFIG)


def check_disk(settings: GatewaySettings) -> Finding:
    usage = shutil.disk_usage(settings.data_dir)
    detail = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB"
    if usage.free < MIN_FREE_BYTES or usage.free < usage.total * MIN_FREE_RATIO:
        return Finding(
            "disk",
            Severity.FAIL,
            detail + " (the LAN API answers 507 when full)",
            "free space or grow the data volume; purge old exports/ and blobs/resume/",
        )
    return Finding("disk", Severity.OK, detail)


def check_journal(settings: GatewaySettings) -> Finding:
    paths = settings.paths
    try:
        vkey = VerifierKey.parse(paths.journal_vkey.read_text("utf-8").strip())
        witness = [VerifierKey.parse(paths.witness_vkey.read_text("utf-8").strip())]
    except Exception as exc:  # noqa: BLE001 - reported as a finding
        return Finding(
            "journal", Severity.FAIL, f"no verifier key: {exc}", "restore certs/", Area.CONFIG
        )
    if not paths.journal.exists():
        return Finding("journal", Severity.OK, "empty (the gateway has not run yet)")
    result = verify_journal(paths.journal, journal_keys=[vkey], witness_keys=witness)
    if not result.ok:
        return Finding(
            "journal",
            Severity.FAIL,
            "; ".join(result.reasons),
            "stop the gateway; restore the last backup (sceau gateway restore) and keep "
            "the damaged folder for the audit",
            Area.CONFIG,
        )
    return Finding("journal", Severity.OK, "verified from the entry bytes, checkpoints signed")


async def check_hub_and_clock(
    settings: GatewaySettings, *, clock: Callable[[], datetime]
) -> list[Finding]:
    """The hub over mTLS, then the clock against the TSA's genTime."""
    paths = settings.paths
    try:
        enrollment = await asyncio.to_thread(Enrollment.load, paths)
        context = await asyncio.to_thread(link_ssl_context, paths)
        anchors = await asyncio.to_thread(load_certificates_file, paths.hub_ca)
    except Exception as exc:  # noqa: BLE001 - reported as findings
        fix = f"sceau gateway enroll --hub URL --token TOKEN --data {paths.root}"
        return [Finding("hub", Severity.FAIL, f"not enrolled: {exc}", fix, Area.CONFIG)]
    hub_url = settings.hub_url or enrollment.hub_url
    link = LinkClient(hub_url, context)
    findings = []
    try:
        try:
            await link.feed(after=0, wait=0, limit=1)
            findings.append(Finding("hub", Severity.OK, f"{hub_url} answers over mTLS"))
        except Exception as exc:  # noqa: BLE001 - reported as a finding
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            findings.append(
                Finding(
                    "hub",
                    Severity.FAIL,
                    f"{hub_url}: {message}",
                    "check the route and firewall to the hub (outbound HTTPS), the hub's "
                    "status, and that this gateway is not revoked (sceau hub gateway list)",
                    Area.REACH,
                )
            )
        tsa_url = settings.tsa_url or enrollment.tsa_url
        stamper = AiohttpTimeStamper(url=tsa_url, anchors=anchors, session=link.session)
        try:
            before = clock()
            t0 = time.monotonic()
            token = await stamper.async_timestamp(b"sceau gateway doctor")
            after = before + timedelta(seconds=time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - reported as a finding
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            findings.append(
                Finding(
                    "clock",
                    Severity.FAIL,
                    f"no time-stamp from {tsa_url}: {message}",
                    "check the TSA URL (--tsa at init, or the hub's) and the route to it",
                    Area.REACH,
                )
            )
        else:
            findings.append(clock_finding(token.gen_time, before=before, after=after))
    finally:
        await link.close()
    return findings


def clock_finding(gen_time: datetime, *, before: datetime, after: datetime) -> Finding:
    """Skew: how far genTime falls outside [before, after] of our clock (0 if inside)."""
    gen = gen_time.astimezone(UTC)
    skew = (gen - after) if gen > after else (gen - before) if gen < before else timedelta(0)
    detail = f"TSA genTime {gen.isoformat()}, our clock off by {skew.total_seconds():+.1f} s"
    if abs(skew) > MAX_SKEW:
        return Finding(
            "clock",
            Severity.FAIL,
            detail,
            "synchronise the clock (systemd-timesyncd or chrony, NTP reachable); "
            "checkpoints and exports carry this clock's times",
        )
    return Finding("clock", Severity.OK, detail)


async def diagnose(
    data_dir: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> list[Finding]:
    settings = await asyncio.to_thread(GatewaySettings.load, data_dir)
    now = clock()
    findings = [
        await asyncio.to_thread(check_permissions, settings),
        await asyncio.to_thread(check_certificates, settings, now=now),
        await asyncio.to_thread(check_rotation, settings),
        await asyncio.to_thread(check_disk, settings),
        await asyncio.to_thread(check_journal, settings),
    ]
    return findings + await check_hub_and_clock(settings, clock=clock)
