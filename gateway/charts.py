"""Server-side SVG charts for the admin: bar, line, grouped bar and interval plots.

Pure Python, no JavaScript and no network: each function returns an ``<svg>`` string whose every
piece of text is escaped, so callers may ``mark_safe`` it. Text and axes use ``currentColor`` so
the charts follow the admin's light and dark themes. Every mark carries a ``<title>`` (the tooltip
with the exact figure) and ``data-label`` / ``data-value`` attributes, and the chart a
``<desc>`` listing its data, so a screen reader, a test or a curious analyst can read the numbers.
"""

import hashlib
import math
from collections.abc import Callable, Sequence
from html import escape

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
HIGHLIGHT = "#D55E00"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:12px"

Formatter = Callable[[float], str]


def _e(value) -> str:
    return escape(str(value), quote=True)


def _number(value: float) -> str:
    """A coordinate, short and locale-free."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def fmt_money(value: float) -> str:
    return f"{value:,.2f}"


def fmt_percent(value: float) -> str:
    return f"{value:.2%}"


def fmt_decimal(value: float) -> str:
    return f"{value:,.4g}"


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round axis ticks (1, 2, 2.5 or 5 × 10^k apart; whole steps with ``integer``) covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        low, high = 0.0, 1.0
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw_step = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    multiples = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw_step)
    if integer:
        step = max(1.0, step)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value < high + step * 0.5:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _axis_format(value_format: Formatter, ticks: list[float]) -> Formatter:
    """Tick labels as precise as the ticks need: percentages get just enough decimals (0.125% not 0.12%)."""
    if value_format is not fmt_percent:
        return value_format
    for decimals in range(0, 7):
        if all(abs(round(tick * 100, decimals) - tick * 100) < 1e-9 for tick in ticks):
            break
    return lambda value: f"{value:.{decimals}%}"


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


class _Canvas:
    """Collects SVG elements for a chart of ``width`` × ``height`` with a plot area inside margins."""

    def __init__(self, *, title: str, width: int, height: int, left: int = 76, right: int = 16, top: int = 36,
                 bottom: int = 44):  # fmt: skip
        self.title, self.width, self.height = title, width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.parts: list[str] = []
        self.description: list[str] = []

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x, y, content, *, anchor="start", size=None, weight=None, extra="") -> None:
        style = f' font-size="{size}"' if size else ""
        style += f' font-weight="{weight}"' if weight else ""
        self.add(
            f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}" fill="currentColor"{style}{extra}>'
            f"{_e(content)}</text>"
        )

    def render(self, *, css_class: str) -> str:
        description = "; ".join(self.description) or "No data."
        digest = hashlib.sha1(f"{self.title}|{description}".encode(), usedforsecurity=False).hexdigest()[:10]
        title_id = f"chart-{digest}"
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="analytics-chart {_e(css_class)}" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="100%" preserveAspectRatio="xMidYMid meet" '
            f'style="max-width:{self.width}px;height:auto;color:inherit;{FONT}" '
            f'aria-labelledby="{title_id}-title {title_id}-desc">'
            f'<title id="{title_id}-title">{_e(self.title)}</title>'
            f'<desc id="{title_id}-desc">{_e(description)}</desc>' + "".join(self.parts) + "</svg>"
        )

    def heading(self) -> None:
        self.text(self.left, 20, self.title, size=14, weight="600")

    def empty(self, message: str = "No data to show.") -> None:
        self.text(self.width / 2, self.top + self.plot_height / 2, message, anchor="middle", extra=' opacity="0.7"')


def _value_axis(canvas: _Canvas, ticks: list[float], scale, fmt: Formatter, label: str = "") -> None:
    """Horizontal grid lines and tick labels on the left."""
    fmt = _axis_format(fmt, ticks)
    for tick in ticks:
        y = scale(tick)
        canvas.add(
            f'<line x1="{canvas.left}" x2="{_number(canvas.width - canvas.right)}" y1="{_number(y)}" '
            f'y2="{_number(y)}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        canvas.text(canvas.left - 6, y + 4, fmt(tick), anchor="end", size=11)
    if label:
        x, y = 14, canvas.top + canvas.plot_height / 2
        canvas.text(x, y, label, anchor="middle", size=11, extra=f' transform="rotate(-90 {x} {_number(y)})"')


def _category_labels(canvas: _Canvas, labels: Sequence[str], centres: list[float]) -> None:
    """Category labels under the plot, thinned so they never overlap."""
    if not labels:
        return
    slot = canvas.plot_width / len(labels)
    longest = max(len(str(label)) for label in labels) * 6.5 + 6
    every = max(1, math.ceil(longest / slot))
    baseline = canvas.height - canvas.bottom + 16
    for index, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if index % every == 0:
            canvas.text(x, baseline, label, anchor="middle", size=11)


def _legend(canvas: _Canvas, names: Sequence[str], colours: Sequence[str]) -> None:
    x = canvas.left
    y = canvas.height - 10
    for name, colour in zip(names, colours, strict=True):
        canvas.add(f'<rect x="{_number(x)}" y="{_number(y - 9)}" width="10" height="10" fill="{_e(colour)}"/>')
        canvas.text(x + 14, y, name, size=11)
        x += 14 + len(str(name)) * 6.5 + 16


def _linear(domain_low: float, domain_high: float, range_low: float, range_high: float):
    span = (domain_high - domain_low) or 1.0

    def scale(value: float) -> float:
        return range_low + (value - domain_low) / span * (range_high - range_low)

    return scale


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    value_format: Formatter = fmt_decimal,
    value_label: str = "",
    colour: str = PALETTE[0],
    width: int = 720,
    height: int = 260,
) -> str:
    """Vertical bars, one per label (None: no bar). The value axis starts at 0."""
    canvas = _Canvas(title=title, width=width, height=height)
    canvas.heading()
    data = _finite(values)
    if not labels or not data:
        canvas.empty()
        return canvas.render(css_class="bar-chart")
    ticks = nice_ticks(min(0.0, min(data)), max(0.0, max(data)), integer=all(v.is_integer() for v in data))
    y = _linear(ticks[0], ticks[-1], canvas.top + canvas.plot_height, canvas.top)
    _value_axis(canvas, ticks, y, value_format, value_label)
    slot = canvas.plot_width / len(labels)
    bar = max(1.0, slot * 0.7)
    centres = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        centre = canvas.left + slot * (index + 0.5)
        centres.append(centre)
        if value is None:
            continue
        value = float(value)
        top, base = y(max(value, 0.0)), y(min(value, 0.0))
        text = f"{label}: {value_format(value)}"
        canvas.description.append(text)
        canvas.add(
            f'<rect class="bar" x="{_number(centre - bar / 2)}" y="{_number(top)}" width="{_number(bar)}" '
            f'height="{_number(max(base - top, 0.5 if value else 0))}" fill="{_e(colour)}" '
            f'data-label="{_e(label)}" data-value="{_e(value)}"><title>{_e(text)}</title></rect>'
        )
    _category_labels(canvas, labels, centres)
    return canvas.render(css_class="bar-chart")


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_format: Formatter = fmt_decimal,
    value_label: str = "",
    width: int = 720,
    height: int = 260,
) -> str:
    """One line per series over the labels, with a dot and tooltip at each point (None: a gap)."""
    canvas = _Canvas(title=title, width=width, height=height, bottom=56 if len(series) > 1 else 44)
    canvas.heading()
    data = [value for _, values in series for value in _finite(values)]
    if not labels or not data:
        canvas.empty()
        return canvas.render(css_class="line-chart")
    ticks = nice_ticks(min(0.0, min(data)), max(data))
    y = _linear(ticks[0], ticks[-1], canvas.top + canvas.plot_height, canvas.top)
    _value_axis(canvas, ticks, y, value_format, value_label)
    slot = canvas.plot_width / len(labels)
    centres = [canvas.left + slot * (index + 0.5) for index in range(len(labels))]
    colours = [PALETTE[index % len(PALETTE)] for index in range(len(series))]
    radius = 3 if len(labels) <= 60 else 1.5
    for (name, values), colour in zip(series, colours, strict=True):
        segments, current = [], []
        for x, value in zip(centres, values, strict=True):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((x, y(float(value))))
        if current:
            segments.append(current)
        for segment in segments:
            points = " ".join(f"{_number(px)},{_number(py)}" for px, py in segment)
            canvas.add(
                f'<polyline fill="none" stroke="{_e(colour)}" stroke-width="2" points="{points}" '
                f'data-series="{_e(name)}"/>'
            )
        for label, x, value in zip(labels, centres, values, strict=True):
            if value is None:
                continue
            text = f"{name}, {label}: {value_format(float(value))}"
            canvas.description.append(text)
            canvas.add(
                f'<circle class="point" cx="{_number(x)}" cy="{_number(y(float(value)))}" r="{radius}" '
                f'fill="{_e(colour)}" data-series="{_e(name)}" data-label="{_e(label)}" '
                f'data-value="{_e(float(value))}">'
                f"<title>{_e(text)}</title></circle>"
            )
    _category_labels(canvas, labels, centres)
    if len(series) > 1:
        _legend(canvas, [name for name, _ in series], colours)
    return canvas.render(css_class="line-chart")


def grouped_bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_format: Formatter = fmt_decimal,
    value_label: str = "",
    width: int = 720,
    height: int = 280,
) -> str:
    """For each category, one bar per series side by side (e.g. metrics × model versions)."""
    canvas = _Canvas(title=title, width=width, height=height, bottom=60)
    canvas.heading()
    data = [value for _, values in series for value in _finite(values)]
    if not categories or not series or not data:
        canvas.empty()
        return canvas.render(css_class="grouped-bar-chart")
    ticks = nice_ticks(min(0.0, min(data)), max(0.0, max(data)))
    y = _linear(ticks[0], ticks[-1], canvas.top + canvas.plot_height, canvas.top)
    _value_axis(canvas, ticks, y, value_format, value_label)
    slot = canvas.plot_width / len(categories)
    bar = slot * 0.8 / len(series)
    colours = [PALETTE[index % len(PALETTE)] for index in range(len(series))]
    centres = []
    for index, category in enumerate(categories):
        start = canvas.left + slot * index + slot * 0.1
        centres.append(canvas.left + slot * (index + 0.5))
        for position, ((name, values), colour) in enumerate(zip(series, colours, strict=True)):
            value = values[index]
            if value is None:
                continue
            value = float(value)
            top, base = y(max(value, 0.0)), y(min(value, 0.0))
            text = f"{category}, {name}: {value_format(value)}"
            canvas.description.append(text)
            canvas.add(
                f'<rect class="bar" x="{_number(start + bar * position)}" y="{_number(top)}" '
                f'width="{_number(max(bar - 2, 1))}" height="{_number(max(base - top, 0.5 if value else 0))}" '
                f'fill="{_e(colour)}" data-series="{_e(name)}" data-label="{_e(category)}" '
                f'data-value="{_e(value)}"><title>{_e(text)}</title></rect>'
            )
    _category_labels(canvas, categories, centres)
    _legend(canvas, [name for name, _ in series], colours)
    return canvas.render(css_class="grouped-bar-chart")


def interval_chart(
    *,
    title: str,
    rows: Sequence[dict],
    value_format: Formatter = fmt_percent,
    width: int = 720,
    row_height: int = 34,
) -> str:
    """A dot and whiskers per row (estimate with its interval), rows stacked vertically.

    Each row: ``label``, ``value``, ``low``, ``high`` (any may be None: the row shows "no data"),
    optional ``note`` (text on the right, e.g. a probability) and ``highlight`` (drawn in the accent
    colour, e.g. the winner).
    """
    label_width = min(340, max([len(str(row["label"])) for row in rows] + [8]) * 7 + 16)
    note_width = min(240, max([len(str(row.get("note") or "")) for row in rows] + [0]) * 6.5 + 12)
    height = 36 + 30 + row_height * max(len(rows), 1)
    canvas = _Canvas(title=title, width=width, height=height, left=label_width, right=int(note_width) + 8, bottom=30)
    canvas.heading()
    data = _finite([bound for row in rows for bound in (row.get("low"), row.get("high"), row.get("value"))])
    if not rows or not data:
        canvas.empty()
        return canvas.render(css_class="interval-chart")
    # Zoomed to the intervals (not from 0): the point is to see whether they overlap.
    ticks = nice_ticks(min(data), max(data))
    x = _linear(ticks[0], ticks[-1], canvas.left, canvas.width - canvas.right)
    bottom = canvas.top + canvas.plot_height
    tick_format = _axis_format(value_format, ticks)
    for tick in ticks:
        canvas.add(
            f'<line x1="{_number(x(tick))}" x2="{_number(x(tick))}" y1="{canvas.top}" y2="{_number(bottom)}" '
            f'stroke="currentColor" stroke-opacity="0.15"/>'
        )
        canvas.text(x(tick), bottom + 16, tick_format(tick), anchor="middle", size=11)
    for index, row in enumerate(rows):
        centre = canvas.top + row_height * (index + 0.5)
        label, value, low, high = row["label"], row.get("value"), row.get("low"), row.get("high")
        colour = HIGHLIGHT if row.get("highlight") else PALETTE[0]
        canvas.text(canvas.left - 8, centre + 4, label, anchor="end", weight="600" if row.get("highlight") else None)
        if row.get("note"):
            canvas.text(canvas.width - canvas.right + 8, centre + 4, row["note"], size=11)
        if value is None:
            canvas.text(canvas.left + 4, centre + 4, "no data", size=11, extra=' opacity="0.7"')
            canvas.description.append(f"{label}: no data")
            continue
        value = float(value)
        text = f"{label}: {value_format(value)}"
        if low is not None and high is not None:
            low, high = float(low), float(high)
            text += f" (95% interval {value_format(low)} to {value_format(high)})"
            canvas.add(
                f'<line class="interval" x1="{_number(x(low))}" x2="{_number(x(high))}" y1="{_number(centre)}" '
                f'y2="{_number(centre)}" stroke="{colour}" stroke-width="2" data-label="{_e(label)}" '
                f'data-low="{_e(low)}" data-high="{_e(high)}"/>'
            )
            for end in (low, high):
                canvas.add(
                    f'<line x1="{_number(x(end))}" x2="{_number(x(end))}" y1="{_number(centre - 6)}" '
                    f'y2="{_number(centre + 6)}" stroke="{colour}" stroke-width="2"/>'
                )
        if row.get("note"):
            text += f"; {row['note']}"
        canvas.description.append(text)
        canvas.add(
            f'<circle class="point" cx="{_number(x(value))}" cy="{_number(centre)}" r="5" fill="{colour}" '
            f'data-label="{_e(label)}" data-value="{_e(value)}"><title>{_e(text)}</title></circle>'
        )
    return canvas.render(css_class="interval-chart")
