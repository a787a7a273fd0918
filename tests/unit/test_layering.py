"""What import-linter cannot express: trust/ may use aiohttp's client, never its server."""

from __future__ import annotations

import ast
from pathlib import Path

TRUST = Path(__file__).resolve().parents[2] / "trust"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_trust_never_imports_aiohttp_web() -> None:
    offenders = {
        path.name: sorted(
            n for n in _imports(path) if n == "aiohttp.web" or n.startswith("aiohttp.web.")
        )
        for path in TRUST.glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_scan_sees_imports() -> None:
    assert "cryptography.x509" in _imports(TRUST / "pki.py")
