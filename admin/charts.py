"""Charts drawn as inline SVG on the server: no chart library and no network.

Two shapes cover the dashboard: grouped vertical bars over days (charges and payments
per day) and stacked horizontal bars per category (accounts by state, failing
deliveries per plugin). Each bar carries a <title>, so hovering shows the exact value.
"""
from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Sequence

from markupsafe import Markup, escape

Number = int | float | Decimal


def nice_step(maximum: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 × 10^n) dividing 0…maximum into about `ticks` parts."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def daily_bars(days: Sequence[date], series: Sequence[tuple[str, str, Sequence[Number]]],
               width: int = 760, height: int = 230) -> Markup:
    """Grouped bars: for each day one bar per series (label, colour, values by day)."""
    left, right, top, bottom = 48, 8, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([float(v) for _, _, values in series for v in values] + [0])
    step = nice_step(peak)
    ceiling = step * max(1, math.ceil(peak / step))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg">']
    tick = 0.0
    while tick <= ceiling + 1e-9:
        y = top + plot_h - plot_h * tick / ceiling
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/><text x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_label(tick)}</text>')
        tick += step
    slot = plot_w / max(1, len(days))
    bar = slot * 0.8 / max(1, len(series))
    for i, day in enumerate(days):
        x0 = left + i * slot + slot * 0.1
        for j, (name, colour, values) in enumerate(series):
            value = float(values[i])
            h = plot_h * value / ceiling
            parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{day.isoformat()} {escape(name)}: {values[i]}</title></rect>')
        if i % 5 == 0 or i == len(days) - 1:
            parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{height - 10}" '
                         f'text-anchor="middle">{day:%m-%d}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}"/></svg>')
    return Markup("".join(parts))


def stacked_bars(rows: Sequence[tuple[str, Sequence[tuple[str, str, Number]]]],
                 width: int = 380, row_height: int = 26) -> Markup:
    """Horizontal bars, one per row (label, [(segment name, colour, value)…]), with the
    row's total written after it."""
    label_w, right = 130, 60
    plot_w = width - label_w - right
    peak = max([sum(float(v) for _, _, v in segments) for _, segments in rows] + [0]) or 1
    height = row_height * max(1, len(rows)) + 6
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, segments) in enumerate(rows):
        y = 3 + i * row_height
        parts.append(f'<text x="{label_w - 6}" y="{y + row_height / 2 + 4:.1f}" '
                     f'text-anchor="end">{escape(label)}</text>')
        x = float(label_w)
        total = 0.0
        for name, colour, value in segments:
            w = plot_w * float(value) / peak
            total += float(value)
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                             f'height="{row_height - 8}" fill="{colour}"><title>{escape(label)} '
                             f'{escape(name)}: {value}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + row_height / 2 + 4:.1f}">'
                     f'{_label(total)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
