"""Server-rendered SVG charts for the review dashboard: stacked columns (a series over time or buckets) and
horizontal bars (a ranking). Plain SVG markup in the page: no chart library, no script, nothing fetched, so
the strict CSP holds and the charts print.

Every label is escaped (seller ids and reviewer names are untrusted text), every bar carries a ``<title>`` with
its number (hover / screen readers), and each chart has a ``<desc>`` saying what it plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

AXIS = "#8a8f98"
TEXT = "#1d1d1f"
FONT = 'font-family="system-ui,sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: tuple[int, ...]  # one per category


def _nice_max(value: int) -> int:
    """The axis top: the smallest 1/2/5 x 10^k at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return max(1, m * step)
        step *= 10


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def stacked_columns(
    chart_id: str, desc: str, categories: Sequence[str], series: Sequence[Series], *, width: int = 560
) -> Markup:
    """One column per category, the series stacked bottom-up; every ``label_every``-th category labelled."""
    height, left, right, top, bottom = 240, 40, 8, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top_value = _nice_max(max(totals, default=0))
    slot = plot_w / max(1, len(categories))
    bar = max(2.0, slot * 0.72)
    label_every = max(1, round(len(categories) / 8))
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{escape(chart_id)}-desc" {FONT} font-size="11">',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e6"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{round(top_value * frac)}</text>'
        )
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar) / 2
        base = float(top + plot_h)
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top_value
            base -= h
            parts.append(
                f'<rect class="bar" data-series="{escape(s.name)}" data-category="{escape(category)}" '
                f'data-value="{value}" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{escape(s.colour)}"><title>{escape(category)} · {escape(s.name)}: {value}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" fill="{AXIS}">'
                f"{escape(_shorten(category, 10))}</text>"
            )
    x = left
    for s in series:  # legend along the top
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{escape(s.colour)}"/>')
        parts.append(f'<text x="{x + 14}" y="17" fill="{TEXT}">{escape(s.name)}</text>')
        x += 14 + 7 * len(s.name) + 14
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(
    chart_id: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[Series]]],
    *,
    width: int = 560,
    links: Sequence[str | None] = (),
) -> Markup:
    """One bar per row (label, stacked parts as one-value ``Series``), longest scale = the largest total;
    ``links[i]`` (a same-origin path) makes row i's label a link."""
    row_h, left, right, top = 22, 190, 40, 24
    height = top + row_h * max(1, len(rows)) + 8
    plot_w = width - left - right
    totals = [sum(p.values[0] for p in parts) for _, parts in rows]
    top_value = max(1, max(totals, default=0))
    out = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{escape(chart_id)}-desc" {FONT} font-size="11">',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]
    legend: dict[str, str] = {}
    for i, ((label, parts), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + i * row_h
        text = (
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" fill="{TEXT}">{escape(_shorten(label, 30))}'
            f"<title>{escape(label)}</title></text>"
        )
        href = links[i] if i < len(links) else None
        out.append(f'<a href="{escape(href)}">{text}</a>' if href else text)
        x = float(left)
        for part in parts:
            value = part.values[0]
            legend.setdefault(part.name, part.colour)
            if value <= 0:
                continue
            w = plot_w * value / top_value
            out.append(
                f'<rect class="bar" data-row="{escape(label)}" data-series="{escape(part.name)}" '
                f'data-value="{value}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                f'fill="{escape(part.colour)}"><title>{escape(label)} · {escape(part.name)}: {value}</title></rect>'
            )
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 14}" fill="{AXIS}">{total}</text>')
    if not rows:
        out.append(f'<text x="{left}" y="{top + 14}" fill="{AXIS}">nothing yet</text>')
    x = left
    for name, colour in legend.items():
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{escape(colour)}"/>')
        out.append(f'<text x="{x + 14}" y="15" fill="{TEXT}">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 14
    out.append("</svg>")
    return Markup("".join(out))
