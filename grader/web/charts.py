"""Small SVG charts for the class results page, with text for screen readers (the page has the table too)."""

from __future__ import annotations

from html import escape

from grader.service.store.reports import Bin

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 16, 44


def histogram_svg(bins: list[Bin], title: str, chart_id: str = "histogram") -> str:
    """A bar chart of ``bins``: one bar per score range, its count above it."""
    tallest = max((b.count for b in bins), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(bins), 1)
    described = "; ".join(f"{b.label}: {b.count}" for b in bins)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
           f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
           f'<title id="{chart_id}-title">{escape(title)}</title>',
           f'<desc id="{chart_id}-desc">{escape("Students per score range: " + described)}</desc>',
           f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" class="axis"/>']
    for i, b in enumerate(bins):
        height = plot_h * b.count / tallest
        x = LEFT + i * step + step * 0.12
        y = TOP + plot_h - height
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.76:.1f}" height="{height:.1f}" class="bar"/>')
        if b.count:
            out.append(f'<text x="{x + step * 0.38:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="count">'
                       f'{b.count}</text>')
        out.append(f'<text x="{x + step * 0.38:.1f}" y="{TOP + plot_h + 18:.1f}" text-anchor="middle" '
                   f'class="tick">{escape(b.label)}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" class="tick">score</text>')
    out.append("</svg>")
    return "\n".join(out)
