"""axe-core in the page under test: the vendored ``vendor/axe.min.js`` (see
``vendor/VERSION``, fetched by ``vendor/fetch-axe.sh``) injected into each page, run on
the whole document, its violations counted by impact.

The pages' CSP forbids inline scripts, so the browser context that audits them is made
with ``bypass_csp=True`` (Playwright's switch for test injection); the pages themselves
are unchanged.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page

VENDOR = Path(__file__).parent / "vendor"
AXE_JS = VENDOR / "axe.min.js"
IMPACTS = ("minor", "moderate", "serious", "critical")
BLOCKING = ("serious", "critical")
# RGAA 4.1 is built on WCAG 2.1 A and AA; "best-practice" rules are reported too.
RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations", "passes"],
}


@dataclass
class AxeReport:
    """Results per page: counts by impact, and the blocking violations in detail."""

    version: str = ""
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def audit(self, page: Page, name: str) -> dict[str, int]:
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE_JS))
        result = await page.evaluate("(opts) => axe.run(document, opts)", RUN_OPTIONS)
        self.version = str(result.get("testEngine", {}).get("version", ""))
        counts = Counter(str(v.get("impact") or "minor") for v in result["violations"])
        blocking = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"][:5]],
            }
            for v in result["violations"]
            if v.get("impact") in BLOCKING
        ]
        self.pages[name] = {
            "url": page.url,
            "violations": {impact: counts.get(impact, 0) for impact in IMPACTS},
            "rules_passed": len(result["passes"]),
            "blocking": blocking,
            "other": sorted({v["id"] for v in result["violations"]} - {b["id"] for b in blocking}),
        }
        return dict(counts)

    def blocking(self) -> dict[str, list[dict[str, Any]]]:
        return {name: p["blocking"] for name, p in self.pages.items() if p["blocking"]}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"axe_core": self.version, "pages": self.pages}
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
