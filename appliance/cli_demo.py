"""``sceau demo``: the exchange end to end (:mod:`appliance.demo_exchange`), or with
``--trust-only`` the trust layer alone, on the public HubEE sample dossiers.

The trust-only demo runs an RFC 3161 TSA over real HTTP on loopback, seals each sample dossier into
an ASiC-E evidence bundle (journal entries, a signed and time-stamped checkpoint, a
CAdES seal), then verifies every bundle with Sceau's verifier and with openssl, shows
that a tampered bundle is caught, and verifies the whole journal.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from appliance.background_server import BackgroundServer
from appliance.exit_codes import ExitCode
from hub.tsa_endpoint import make_tsa_app
from trust.bundle import BundleReader
from trust.bundle_verify import TrustInputs, verify_bundle
from trust.checkpoint import VerifierKey
from trust.errors import PolicyError
from trust.evidence import SealingIdentity, anchors_for_bundle, seal_files
from trust.journal import Journal
from trust.journal_verify import verify_journal
from trust.pki import certificate_pem
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import HttpTimeStamper

ORIGIN = "demo.sceau.local/evidence"
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "hubee" / "JDD"


@dataclass
class Row:
    process: str
    files: int
    size: int
    seal_ms: float = 0.0
    verified: bool = False
    openssl_cms: bool | None = None
    openssl_ts: bool | None = None
    detail: str = ""


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the PKI, journal and bundles here (default: a temporary folder).",
)
@click.option(
    "--samples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SAMPLES,
    show_default=True,
    help="One folder per démarche, as in HubEE's JDD (--trust-only).",
)
@click.option(
    "--trust-only",
    is_flag=True,
    help="Only seal, time-stamp, journal and verify the samples (no hub, no gateways).",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Leave the hub and gateways running; print URLs, credentials, folders; Ctrl-C stops.",
)
def demo(out: Path | None, samples: Path, trust_only: bool, keep: bool) -> None:
    """A hub and four gateways exchanging the HubEE sample dossiers, every bundle verified.

    With --trust-only: seal, time-stamp, journal and verify the samples, without network
    parties.
    """
    if not trust_only:
        from appliance.demo_exchange import run_exchange_demo

        if not run_exchange_demo(keep=keep, out=out):
            raise click.exceptions.Exit(ExitCode.VERIFICATION_FAILED)
        return
    console = Console(highlight=False)
    folders = sorted(
        p for p in samples.iterdir() if p.is_dir() and any(f.is_file() for f in p.iterdir())
    )
    if not folders:
        raise PolicyError(
            f"no sample dossiers under {samples}",
            hint="Give --samples DIR with one folder per démarche.",
        )
    work = out or Path(tempfile.mkdtemp(prefix="sceau-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ok = _run(console, folders, work)
    finally:
        if out is None:
            shutil.rmtree(work, ignore_errors=True)
    if out is not None:
        console.print(f"Artifacts kept in [bold]{out}[/]: pki/, journal.db, bundles/*.asice")
    if not ok:
        raise click.exceptions.Exit(ExitCode.VERIFICATION_FAILED)


def _run(console: Console, folders: list[Path], work: Path) -> bool:
    started = time.perf_counter()
    console.print(
        "[bold]Sceau demo[/]: seal, time-stamp, journal and verify the HubEE sample dossiers"
    )
    pki = ThrowawayPki.create(organization="Sceau demo")
    pki.write_to(work / "pki")
    vkey = VerifierKey.for_signer(ORIGIN, pki.journal)
    (work / "pki" / "journal.vkey").write_text(vkey.encode() + "\n")
    console.print(f"  PKI: root CA, seal, TSA and journal keys in {work / 'pki'}")
    authority = TimeStampAuthority(pki.tsa.signer, pki.tsa.certificate)
    openssl = shutil.which("openssl")
    rows: list[Row] = []
    with BackgroundServer(make_tsa_app(authority)) as server:
        tsa_url = f"{server.url}/tsa"
        console.print(f"  TSA: RFC 3161 over HTTP at {tsa_url}")
        stamper = HttpTimeStamper(url=tsa_url, anchors=[pki.root.certificate])
        anchors = anchors_for_bundle(
            certificates={"ca": [pki.root.certificate]},
            keys={"journal.vkey": (vkey.encode() + "\n").encode()},
        )
        sealer = SealingIdentity(pki.seal.signer, pki.seal.certificate)
        bundles = work / "bundles"
        bundles.mkdir(exist_ok=True)
        progress = Progress(
            TextColumn("  {task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        )
        with progress, Journal.open(work / "journal.db") as journal:
            task = progress.add_task("sealing dossiers", total=len(folders))
            for folder in folders:
                files = sorted(f for f in folder.iterdir() if f.is_file())
                row = Row(folder.name, len(files), sum(f.stat().st_size for f in files))
                t0 = time.perf_counter()
                seal_files(
                    files,
                    out=bundles / f"{folder.name}.asice",
                    sealer=sealer,
                    journal=journal,
                    journal_signer=pki.journal,
                    origin=ORIGIN,
                    timestamper=stamper,
                    anchors=anchors,
                    now=dt.datetime.now(dt.UTC),
                )
                row.seal_ms = (time.perf_counter() - t0) * 1000
                rows.append(row)
                progress.advance(task)
            task = progress.add_task("verifying bundles", total=len(rows))
            trust = TrustInputs(anchors=(pki.root.certificate,), journal_keys=(vkey,))
            for row in rows:
                bundle = bundles / f"{row.process}.asice"
                report = verify_bundle(bundle, trust=trust)
                row.verified = report.ok
                row.detail = "; ".join(report.reasons[:2])
                if openssl:
                    row.openssl_cms, row.openssl_ts = _openssl_checks(
                        openssl, bundle, work / "pki" / "root-ca.pem"
                    )
                progress.advance(task)
    table = Table(
        title="Evidence bundles: sceau verify, openssl cms -verify, openssl ts -verify",
        title_justify="left",
    )
    table.add_column("démarche", no_wrap=True)
    for col in ("files", "bytes", "sealed in"):
        table.add_column(col, justify="right", no_wrap=True)
    for col in ("sceau", "cms", "ts"):
        table.add_column(col, no_wrap=True)
    mark = {True: "[green]✓[/]", False: "[red]✗ INVALID[/]", None: "[yellow]– no openssl[/]"}
    for row in rows:
        table.add_row(
            row.process,
            str(row.files),
            f"{row.size:,}",
            f"{row.seal_ms:.0f} ms",
            mark[row.verified],
            mark[row.openssl_cms],
            mark[row.openssl_ts],
        )
    console.print(table)
    for row in rows:
        if not row.verified:
            console.print(f"  [red]{row.process}[/]: {row.detail}")
    tamper_caught = _tamper_check(rows[0].process, work / "bundles", trust)
    console.print(
        ("  [green]✓[/]" if tamper_caught else "  [red]✗[/]")
        + f" tamper check: one flipped byte in {rows[0].process}'s first attachment "
        + ("is caught (INVALID, as it must be)" if tamper_caught else "was NOT caught")
    )
    journal_result = verify_journal(work / "journal.db", journal_keys=[vkey])
    console.print(
        ("  [green]✓[/]" if journal_result.ok else "  [red]✗[/]")
        + f" journal: {sum(r.files + 1 for r in rows)} entries, every checkpoint signed and consistent"
        if journal_result.ok
        else "  [red]✗[/] journal: " + "; ".join(journal_result.reasons)
    )
    everything = (
        all(r.verified and r.openssl_cms is not False and r.openssl_ts is not False for r in rows)
        and tamper_caught
        and journal_result.ok
    )
    elapsed = time.perf_counter() - started
    verdict = (
        "[bold green]all evidence verified[/]"
        if everything
        else "[bold red]verification failures[/]"
    )
    console.print(
        f"{verdict}: {len(rows)} dossiers, {sum(r.files for r in rows)} files, in {elapsed:.1f} s"
    )
    return everything


def _openssl_checks(openssl: str, bundle: Path, ca: Path) -> tuple[bool, bool]:
    with tempfile.TemporaryDirectory() as tmp, BundleReader(bundle) as reader:
        reader.extract_to(tmp)
        d = Path(tmp)
        cms = subprocess.run(
            [
                openssl,
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "META-INF/signature001.p7s",
                "-content",
                "META-INF/ASiCManifest001.xml",
                "-CAfile",
                str(ca),
                "-out",
                "/dev/null",
            ],
            cwd=d,
            capture_output=True,
            check=False,
        )
        note = (d / "META-INF/sceau/checkpoint.note").read_bytes()
        (d / "body").write_bytes(b"".join(note.splitlines(keepends=True)[:3]))
        ts = subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-data",
                "body",
                "-in",
                "META-INF/sceau/checkpoint.tsr",
                "-CAfile",
                str(ca),
            ],
            cwd=d,
            capture_output=True,
            check=False,
        )
        return cms.returncode == 0, ts.returncode == 0


def _tamper_check(process: str, bundles: Path, trust: TrustInputs) -> bool:
    good = bundles / f"{process}.asice"
    bad = bundles.parent / "tampered.asice"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        victim = next(
            i.filename
            for i in src.infolist()
            if i.filename not in ("mimetype", "manifest.json")
            and not i.filename.startswith("META-INF/")
        )
        for info in src.infolist():
            data = src.read(info)
            if info.filename == victim:
                data = bytes([data[0] ^ 1]) + data[1:]
            dst.writestr(info, data)
    caught = not verify_bundle(bad, trust=trust).ok
    bad.unlink()
    return caught


_ = certificate_pem  # re-exported for users poking at the PKI from a REPL
