"""Accessible bar charts as inline SVG, drawn on the server: no chart library, no script.

Each chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` that say what it shows
in words; the page puts the same figures in a data table next to it (RGAA 1.3 and 4.1:
a text alternative for a graphic carrying information). Bars carry their value as text
too, so colour is never the only signal. The palette is DSFR's ``blue-france`` and
``orange-terre-battue``, both above 3:1 against white (WCAG 1.4.11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#000091", "#b34000", "#18753c", "#6e445a")


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]  # None: no figure (shown as a dash)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    width: int = 720,
    bar_height: int = 18,
) -> Markup:
    """Horizontal grouped bars, one group per category, one bar per series."""
    label_w, value_w, gap = 150, 70, 10
    group_h = bar_height * len(series) + gap
    legend_h = 24
    height = legend_h + max(1, len(categories)) * group_h + gap
    top = max([v for s in series for v in s.values if v is not None] + [0.0]) or 1.0
    span = width - label_w - value_w
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sceau-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    x = label_w
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="4" width="14" height="14" fill="{colour}"/>')
        out.append(
            f'<text x="{x + 20}" y="16" font-size="13" fill="#161616">{escape(s.label)}</text>'
        )
        x += 40 + 8 * len(s.label)
    for row, category in enumerate(categories):
        y0 = legend_h + row * group_h
        out.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2}" font-size="13" fill="#161616" '
            f'text-anchor="end" dominant-baseline="middle">{escape(category)}</text>'
        )
        for i, s in enumerate(series):
            value = s.values[row] if row < len(s.values) else None
            w = max(1.0, span * value / top) if value else 0.0
            text = "—" if value is None else f"{_number(value)}{escape(unit)}"
            y = y0 + i * bar_height
            colour = PALETTE[i % len(PALETTE)]
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height - 3}" '
                f'fill="{colour}"/>'
            )
            out.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height / 2}" font-size="12" '
                f'fill="#161616" dominant-baseline="middle">{text}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text above is escaped


def _number(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")
