"""Readable terminal reports for verification results."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from trust.bundle_verify import BundleReport
from trust.results import VerificationResult


def print_bundle_report(report: BundleReport, console: Console) -> None:
    verdict = "[bold green]VALID[/]" if report.ok else "[bold red]INVALID[/]"
    console.print(f"{verdict}  {escape(report.path)}")
    for key, value in report.facts.items():
        console.print(f"  {escape(key):<22} {escape(value)}")
    for section in report.sections:
        print_result(section, console)
    for warning in report.warnings:
        console.print(f"  [yellow]warning:[/] {escape(warning)}")
    if not report.ok:
        console.print("  [red]why it failed:[/]")
        for reason in report.reasons:
            console.print(f"    - {escape(reason)}")


def print_result(result: VerificationResult, console: Console, *, indent: str = "  ") -> None:
    mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
    console.print(f"{indent}{mark} [bold]{escape(result.subject)}[/]")
    for check in result.checks:
        sign = "[green]✓[/]" if check.ok else "[red]✗[/]"
        detail = f": {escape(check.detail)}" if check.detail else ""
        console.print(f"{indent}    {sign} {escape(check.name)}{detail}")
