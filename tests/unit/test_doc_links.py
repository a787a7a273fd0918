"""Every relative link in the project's Markdown resolves: the file exists, and a
``#anchor`` names a heading of the target (GitHub's heading ids)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "packaging" / "README.md",
    ROOT / "samples" / "hubee" / "README.md",
    ROOT / "tests" / "vectors" / "README.md",
]

_FENCE = re.compile(r"^(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        lines.append("" if fenced else _INLINE_CODE.sub("", line))
    return lines


def _slug(heading: str) -> str:
    """GitHub's id for a heading: the text without markup, lower case, punctuation
    dropped (letters, digits, ``_`` and ``-`` stay), spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    kept = []
    for ch in text.lower():
        if ch in " -_" or unicodedata.category(ch)[0] in "LN":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in path.read_text("utf-8").splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            base = _slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def _broken(doc: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for number, line in enumerate(_prose_lines(doc.read_text("utf-8")), start=1):
        for target in _LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, …
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (doc.parent / path_part).resolve() if path_part else doc
            where = f"{doc.relative_to(root)}:{number}: {target}"
            if not resolved.exists():
                problems.append(f"{where}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                problems.append(f"{where}: no heading with id #{anchor}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    assert doc.exists()
    assert _broken(doc) == []


def test_slugs_follow_github() -> None:
    assert _slug("Performance (end to end)") == "performance-end-to-end"
    assert _slug("`gateway/`: the appliance service") == "gateway-the-appliance-service"
    assert _slug("Clés : rotation") == "clés--rotation"
    assert _slug("[LINK.md](LINK.md) contract") == "linkmd-contract"


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "# Title\n\n[ok](a.md#title) [bad](b.md) [gone](a.md#nope) `[code](c.md)`\n"
        "```\n[fenced](d.md)\n```\n"
    )
    assert _broken(tmp_path / "a.md", root=tmp_path) == [
        "a.md:3: b.md: no such file",
        "a.md:3: a.md#nope: no heading with id #nope",
    ]
