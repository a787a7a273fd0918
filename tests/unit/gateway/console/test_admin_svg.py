"""Server-drawn charts: accessible names, escaped text, a dash for a missing figure."""

from __future__ import annotations

from xml.etree import ElementTree

from gateway.console.admin_svg import Series, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_chart_is_an_image_named_and_described_with_every_text_escaped() -> None:
    chart = bar_chart(
        chart_id="c",
        title="Dossiers <reçus>",
        description="CERTDC 3 & RSA 1",
        categories=["2026-S47", "<script>"],
        series=[Series("CERTDC", (3.0, None)), Series("R&D", (1.5, 0.0))],
        unit=" h",
    )
    root = ElementTree.fromstring(str(chart))  # noqa: S314 - our own output; well-formed = escaped
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Dossiers <reçus>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "CERTDC 3 & RSA 1"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<script>" in texts and "R&D" in texts
    assert "3 h" in texts and "1,5 h" in texts and "—" in texts and "0 h" in texts
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    assert max(widths) > 0
