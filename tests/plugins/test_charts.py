"""Server-rendered SVG charts: valid SVG, escaped labels, no style attributes, gaps for no data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from plugins.charts import Point, bar_chart, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(html: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg.*</svg>", html, re.S).group(0))


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.7, 1), (3, 5), (17, 20), (240, 250), (999, 1000)]
)
def test_the_axis_ends_on_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_a_bar_chart_draws_one_bar_per_day_with_data():
    points = [Point("12-01", 3), Point("12-02", 0), Point("12-03", None), Point("12-04", 12)]
    html = str(bar_chart(points, title="Calls per day"))
    svg = svg_of(html)
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 2
    assert [b.find(f"{SVG}title").text for b in bars] == ["12-01: 3", "12-04: 12"]
    assert svg.get("aria-label") == "Calls per day"
    assert "style=" not in html
    assert "<caption>Calls per day</caption>" in html  # the numbers, for screen readers


def test_labels_are_escaped():
    html = str(bar_chart([Point("<script>x</script>", 1)], title='"><img src=x>'))
    assert "<script>x" not in html
    assert "<img src=x>" not in html
    svg_of(html)  # still well-formed


def test_a_line_chart_breaks_at_missing_days():
    p50 = [Point("a", 10), Point("b", None), Point("c", 30), Point("d", 35)]
    p95 = [Point("a", 50), Point("b", 60), Point("c", 90), Point("d", 95)]
    svg = svg_of(str(line_chart([("p50", p50), ("p95", p95)], title="Latency", unit=" ms")))
    lines = svg.findall(f"{SVG}polyline")
    assert len(lines) == 3  # p50 in two pieces, p95 in one
    assert {t.text for t in svg.findall(f"{SVG}text")} >= {"p50", "p95", "100 ms"}


def test_an_empty_chart_says_so():
    html = str(bar_chart([], title="Calls per day"))
    assert "no data" in html
    svg_of(html)
