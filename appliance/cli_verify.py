"""``sceau verify``: offline verification of bundles and journals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from appliance.exit_codes import ExitCode
from appliance.report import print_bundle_report, print_result
from appliance.trust_inputs import read_certificates, read_verifier_keys
from trust.bundle_verify import TrustInputs, verify_bundle
from trust.checkpoint import VerifierKey

_path = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.argument("bundles", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=_path,
    help="Trusted CA certificate (PEM/DER) for seals and time-stamps. Repeatable.",
)
@click.option(
    "--journal-key",
    "journal_keys",
    multiple=True,
    type=_path,
    help="Journal verifier key (.vkey). Repeatable.",
)
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    type=_path,
    help="Witness cosignature verifier key (.vkey). Repeatable.",
)
@click.option(
    "--require-witness",
    is_flag=True,
    help="Fail if the checkpoint carries no valid witness cosignature.",
)
@click.option(
    "--journal", "journal", type=_path, help="Verify a whole journal database instead of bundles."
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report.")
def verify(
    bundles: tuple[Path, ...],
    anchors: tuple[Path, ...],
    journal_keys: tuple[Path, ...],
    witness_keys: tuple[Path, ...],
    require_witness: bool,
    journal: Path | None,
    as_json: bool,
) -> None:
    """Verify evidence bundles (or a journal) offline. Exit 0 if valid, 1 if not."""
    if journal is not None:
        if bundles:
            raise click.UsageError("give either bundles or --journal, not both")
        _verify_journal(journal, read_verifier_keys(journal_keys), as_json)
        return
    if not bundles:
        raise click.UsageError("give at least one bundle, or --journal FILE")
    inputs = TrustInputs(
        anchors=tuple(read_certificates(anchors)),
        journal_keys=read_verifier_keys(journal_keys),
        witness_keys=read_verifier_keys(witness_keys),
        require_witness=require_witness,
    )
    console = Console(stderr=False, highlight=False)
    reports = [verify_bundle(b, trust=inputs) for b in bundles]
    if as_json:
        json.dump(
            [r.to_json() for r in reports] if len(reports) > 1 else reports[0].to_json(),
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for report in reports:
            print_bundle_report(report, console)
    if not all(r.ok for r in reports):
        raise click.exceptions.Exit(ExitCode.VERIFICATION_FAILED)


def _verify_journal(path: Path, keys: tuple[VerifierKey, ...], as_json: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from trust.journal_verify import verify_journal

    if not keys:
        raise click.UsageError(
            "--journal needs --journal-key (the journal's .vkey) to check checkpoint signatures"
        )
    console = Console(stderr=True)
    with Progress(
        "verifying journal",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=as_json or not console.is_terminal,
    ) as progress:
        task = progress.add_task("entries", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = verify_journal(path, journal_keys=keys, progress=tick)
    if as_json:
        json.dump(
            {
                "journal": str(path),
                "valid": result.ok,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        out = Console(highlight=False)
        out.print(("[bold green]VALID[/]" if result.ok else "[bold red]INVALID[/]") + f"  {path}")
        print_result(result, out)
    if not result.ok:
        raise click.exceptions.Exit(ExitCode.VERIFICATION_FAILED)
