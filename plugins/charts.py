"""Server-rendered SVG charts: no JavaScript, no charting library, nothing the CSP must allow.

`bar_chart` and `line_chart` take one value per labelled point (a day, usually) and return
markup to embed in a page. Labels are escaped; colours come from presentation attributes (never
a style attribute), so the strict Content-Security-Policy holds. Each chart carries a <title>
and <desc> and a visually hidden table of its numbers for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 28
ACCENT, GRID, TEXT, ALERT = "#4338ca", "#dde2ea", "#586474", "#b42318"


@dataclass(frozen=True)
class Point:
    label: str  # e.g. "12-01"
    value: float | None  # None: no data (drawn as a gap)


def nice_ceiling(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _format(value: float, unit: str) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k{unit}"
    if value >= 1000:
        return f"{value / 1000:.1f}k{unit}"
    return f"{value:.3g}{unit}"


def _frame(points: Sequence[Point], top: float, unit: str) -> list[str]:
    parts = []
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + inner_h - inner_h * i / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="{}">{}</text>',
                PAD_LEFT,
                WIDTH - PAD_RIGHT,
                f"{y:.1f}",
                f"{y:.1f}",
                GRID,
                PAD_LEFT - 6,
                f"{y + 4:.1f}",
                TEXT,
                _format(value, unit),
            )
        )
    step = max(1, math.ceil(len(points) / 8))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    slot = inner_w / max(len(points), 1)
    for i in range(0, len(points), step):
        x = PAD_LEFT + slot * (i + 0.5)
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="{}">{}</text>',
                f"{x:.1f}",
                HEIGHT - 8,
                TEXT,
                points[i].label,
            )
        )
    return parts


def _wrap(body: list[str], points: Sequence[Point], title: str, unit: str) -> SafeString:
    total = [p.value for p in points if p.value is not None]
    summary = (
        f"{len(points)} points, from {_format(min(total), unit)} to {_format(max(total), unit)}"
        if total
        else "no data"
    )
    rows = "".join(
        format_html(
            "<tr><th scope='row'>{}</th><td>{}</td></tr>",
            p.label,
            "—" if p.value is None else _format(p.value, unit),
        )
        for p in points
    )
    svg = format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title><desc>{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        title,
        summary,
        mark_safe("".join(body)),  # noqa: S308 - every part above is built with format_html
    )
    table = format_html(
        '<table class="visually-hidden"><caption>{}</caption>{}</table>',
        title,
        mark_safe(rows),  # noqa: S308 - format_html rows
    )
    return format_html('<figure class="chart-figure">{}{}</figure>', svg, table)


def bar_chart(points: Sequence[Point], *, title: str, unit: str = "") -> SafeString:
    values = [p.value for p in points if p.value is not None]
    top = nice_ceiling(max(values, default=0))
    body = _frame(points, top, unit)
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(points), 1)
    bar = max(slot * 0.7, 1)
    for i, point in enumerate(points):
        if not point.value:
            continue
        h = inner_h * point.value / top
        body.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2">'
                "<title>{}: {}</title></rect>",
                f"{PAD_LEFT + slot * i + (slot - bar) / 2:.1f}",
                f"{PAD_TOP + inner_h - h:.1f}",
                f"{bar:.1f}",
                f"{h:.1f}",
                ACCENT,
                point.label,
                _format(point.value, unit),
            )
        )
    return _wrap(body, points, title, unit)


def line_chart(
    series: Sequence[tuple[str, Sequence[Point]]], *, title: str, unit: str = ""
) -> SafeString:
    """One or more named series over the same labels (e.g. p50 and p95 latency)."""
    points = list(series[0][1]) if series else []
    values = [p.value for _, s in series for p in s if p.value is not None]
    top = nice_ceiling(max(values, default=0))
    body = _frame(points, top, unit)
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(points), 1)
    colours = (ACCENT, ALERT, TEXT)
    for n, (name, line) in enumerate(series):
        colour = colours[n % len(colours)]
        segments, current = [], []
        for i, point in enumerate(line):
            if point.value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            x = PAD_LEFT + slot * (i + 0.5)
            y = PAD_TOP + inner_h - inner_h * point.value / top
            current.append(f"{x:.1f},{y:.1f}")
        if current:
            segments.append(current)
        for segment in segments:
            for xy in segment:  # a dot per point: a lone day still shows
                x, y = xy.split(",")
                body.append(format_html('<circle cx="{}" cy="{}" r="3" fill="{}"/>', x, y, colour))
            body.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                    " ".join(segment),
                    colour,
                )
            )
        body.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
                PAD_LEFT + 8 + n * 90,
                PAD_TOP + 12,
                colour,
                name,
            )
        )
    return _wrap(body, points, title, unit)
