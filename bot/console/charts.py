"""Chart geometry for inline SVG: plain numbers the templates draw, no script and no library.

Each bar carries the link of the filtered conversation list it stands for, so a click on a bar
opens exactly those conversations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: float
    href: str
    title: str


def column_chart(points: list[tuple[str, float, str]], width: int = 720, height: int = 180,
                 pad: int = 24) -> dict:
    """Vertical bars, one per (label, value, href); the tallest fills the plot height."""
    n = max(len(points), 1)
    top = max((v for _, v, _ in points), default=0) or 1
    step = (width - 2 * pad) / n
    plot_h = height - 2 * pad
    bars = []
    for i, (label, value, href) in enumerate(points):
        h = plot_h * value / top
        bars.append(Bar(x=round(pad + i * step + step * 0.1, 1), y=round(height - pad - h, 1),
                        w=round(max(step * 0.8, 1), 1), h=round(h, 1), label=label, value=value, href=href,
                        title=f"{label}: {value:g}"))
    return {"width": width, "height": height, "pad": pad, "bars": bars, "max": top,
            "first": points[0][0] if points else "", "last": points[-1][0] if points else ""}


def bar_chart(points: list[tuple[str, float, str]], width: int = 480, row: int = 22, label_w: int = 200) -> dict:
    """Horizontal bars with a label column (top intents, CSAT scores)."""
    top = max((v for _, v, _ in points), default=0) or 1
    bars = []
    for i, (label, value, href) in enumerate(points):
        w = (width - label_w - 50) * value / top
        bars.append(Bar(x=label_w, y=i * row, w=round(w, 1), h=row - 6, label=label, value=value, href=href,
                        title=f"{label}: {value:g}"))
    return {"width": width, "height": max(len(points), 1) * row, "bars": bars, "label_w": label_w}
