"""Server-rendered SVG charts: stacked bars, Kaplan-Meier step curves, rates with their
intervals and the pipeline funnel. Plain SVG built here rather than by a charting library:
it carries no script and no inline style (colours come from classes in unstuck.css, so
charts follow the page's theme and print), each chart costs well under a millisecond, and
every chart gets a <title>/<desc> while the page puts a plain table beside it.
docs/insights.md says why pygal and matplotlib were measured and set aside.

Every function returns safe markup; every text that reaches the SVG is escaped."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_ids = itertools.count(1)

W, H = 640, 300  # the viewBox; the SVG scales to its container's width
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 64


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str  # class that colours it (unstuck.css: .ch-1 … .ch-8 and the category names)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(title: str, desc: str, body: list[str], *, height: int = H) -> SafeString:
    n = next(_ids)
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" '
        f'aria-labelledby="ch{n}t ch{n}d" preserveAspectRatio="xMidYMid meet">'
        f'<title id="ch{n}t">{escape(title)}</title><desc id="ch{n}d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, *, cls: str = "", anchor: str = "middle") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{c}>{escape(text)}</text>'


def _two_line(x: float, y: float, label: str) -> str:
    """A column label on two lines ("Sep" over "14", a first name over a surname), so twelve
    columns stay legible on a phone."""
    first, _, rest = label.partition(" ")
    second = f'<tspan x="{_num(x)}" dy="1.1em">{escape(rest)}</tspan>' if rest else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="middle" class="tick">'
        f"{escape(first)}{second}</text>"
    )


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _y_axis(
    top: float, scale: Callable[[float], float], ticks: Sequence[float], fmt: Callable[[float], str]
) -> list[str]:
    out = []
    for t in ticks:
        y = scale(t)
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{_num(y)}" y2="{_num(y)}"/>'
        )
        out.append(_text(LEFT - 6, y + 4, fmt(t), cls="tick", anchor="end"))
    return out


def stacked_bars(
    *,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[dict[str, float]],
    fmt: Callable[[float], str] = lambda v: f"{v:.0f}%",
    max_value: float | None = None,
    marks: Sequence[str] = (),
) -> SafeString:
    """One column per label, its parts stacked in series order. `marks`: a short note under
    a column (e.g. "✓" for a week the person checked in)."""
    top_value = max_value or nice_max(max((sum(v.values()) for v in values), default=0))
    plot_h = H - TOP - BOTTOM
    plot_w = W - LEFT - RIGHT
    n = max(len(labels), 1)
    slot = plot_w / n
    bar = min(slot * 0.7, 56)

    def y_of(v: float) -> float:
        return TOP + plot_h - plot_h * v / top_value

    body = _y_axis(TOP, y_of, [top_value * k / 4 for k in range(5)], fmt)
    for i, (label, column) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + slot * i + (slot - bar) / 2
        acc = 0.0
        for s in series:
            v = float(column.get(s.key, 0) or 0)
            if v <= 0:
                continue
            y0, y1 = y_of(acc + v), y_of(acc)
            body.append(
                f'<rect class="{s.css}" x="{_num(x)}" y="{_num(y0)}" width="{_num(bar)}" '
                f'height="{_num(max(y1 - y0, 0.5))}"><title>{escape(label)}: {escape(s.label)} '
                f"{escape(fmt(v))}</title></rect>"
            )
            acc += v
        body.append(_two_line(x + bar / 2, H - BOTTOM + 15, label))
        if i < len(marks) and marks[i]:
            body.append(_text(x + bar / 2, H - BOTTOM + 56, marks[i], cls="tick mark"))
    return _svg(title, desc, body)


def step_curves(
    *,
    title: str,
    desc: str,
    curves: Sequence[tuple[Series, Sequence[tuple[float, float]]]],
    x_max: float,
    x_label: str = "days from the start of the clock",
) -> SafeString:
    """Kaplan-Meier curves: share still waiting (0-100 %) against days, drawn as steps from
    (0, 100 %). Each curve: (series, [(day, survival 0-1), …]) in day order."""
    x_max = max(x_max, 1.0)
    plot_h = H - TOP - BOTTOM
    plot_w = W - LEFT - RIGHT

    def x_of(d: float) -> float:
        return LEFT + plot_w * min(d, x_max) / x_max

    def y_of(s: float) -> float:
        return TOP + plot_h - plot_h * s

    body = _y_axis(TOP, y_of, [0, 0.25, 0.5, 0.75, 1.0], lambda v: f"{v:.0%}")
    for k in range(5):
        d = x_max * k / 4
        body.append(_text(x_of(d), H - BOTTOM + 16, f"{d:.0f}", cls="tick"))
    body.append(_text(LEFT + plot_w / 2, H - 8, x_label, cls="tick"))
    for s, points in curves:
        path = [f"M{_num(x_of(0))},{_num(y_of(1))}"]
        level = 1.0
        for day, survival in points:
            if day > x_max:
                break
            path.append(f"H{_num(x_of(day))}V{_num(y_of(survival))}")
            level = survival
        path.append(f"H{_num(x_of(x_max))}")
        body.append(
            f'<path class="curve {s.css}" d="{"".join(path)}"><title>{escape(s.label)}: '
            f"{level:.0%} still waiting at the end</title></path>"
        )
    return _svg(title, desc, body)


def intervals(
    *,
    title: str,
    desc: str,
    rows: Sequence[tuple[Series, float, float, float]],
    fmt: Callable[[float], str] = lambda v: f"{v:.0%}",
) -> SafeString:
    """Horizontal: one row per (series, estimate, low, high), on a 0-1 axis — a dot and the
    interval as a whisker."""
    height = 40 + 48 * max(len(rows), 1)
    label_w = 200
    plot_w = W - label_w - RIGHT

    def x_of(v: float) -> float:
        return label_w + plot_w * min(max(v, 0.0), 1.0)

    body = []
    for k in range(5):
        v = k / 4
        body.append(
            f'<line class="grid" x1="{_num(x_of(v))}" x2="{_num(x_of(v))}" y1="8" '
            f'y2="{height - 28}"/>'
        )
        body.append(_text(x_of(v), height - 10, fmt(v), cls="tick"))
    for i, (s, est, low, high) in enumerate(rows):
        y = 30 + 48 * i
        body.append(_text(label_w - 8, y + 4, s.label, cls="tick label", anchor="end"))
        body.append(
            f'<line class="whisker {s.css}" x1="{_num(x_of(low))}" x2="{_num(x_of(high))}" '
            f'y1="{y}" y2="{y}"/>'
        )
        for end in (low, high):
            body.append(
                f'<line class="whisker {s.css}" x1="{_num(x_of(end))}" x2="{_num(x_of(end))}" '
                f'y1="{y - 7}" y2="{y + 7}"/>'
            )
        body.append(
            f'<circle class="dot {s.css}" cx="{_num(x_of(est))}" cy="{y}" r="6"><title>'
            f"{escape(s.label)}: {escape(fmt(est))} ({escape(fmt(low))}\u2013{escape(fmt(high))})"
            "</title></circle>"
        )
    return _svg(title, desc, body, height=height)


def funnel(
    *,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float, float]],
    fmt: Callable[[float], str],
) -> SafeString:
    """Horizontal bars per stage: the total amount, with the weighted amount drawn inside."""
    height = 24 + 34 * max(len(rows), 1)
    label_w = 130
    plot_w = W - label_w - RIGHT - 70
    top = nice_max(max((r[1] for r in rows), default=0))
    body = []
    for i, (stage, total, weighted) in enumerate(rows):
        y = 12 + 34 * i
        w_total = plot_w * total / top
        w_weighted = plot_w * weighted / top
        body.append(_text(label_w - 8, y + 17, stage, cls="tick label", anchor="end"))
        body.append(
            f'<rect class="ch-total" x="{label_w}" y="{y}" width="{_num(max(w_total, 0.5))}" '
            f'height="24"><title>{escape(stage)}: {escape(fmt(total))} in total</title></rect>'
        )
        body.append(
            f'<rect class="ch-weighted" x="{label_w}" y="{y + 6}" '
            f'width="{_num(max(w_weighted, 0.5))}" height="12"><title>{escape(stage)}: '
            f"{escape(fmt(weighted))} weighted</title></rect>"
        )
        body.append(_text(label_w + w_total + 6, y + 17, fmt(total), cls="tick", anchor="start"))
    return _svg(title, desc, body, height=height)
