"""The console's home page (``/admin/``): the state of the business above the list of models.

The floor knows no domain app, so each app registers its pieces in ``<app>/admin_dashboard.py``, which its
``admin.py`` imports:

- **KPI sections** (:meth:`Dashboard.kpis`): a function of the :class:`Period` list that returns a
  :class:`KpiSection`: tiles, each a figure over today, the last 7 and the last 30 days against the
  period of the same length before (:class:`Figure`), and optionally a chart.
- **Panels** (:meth:`Dashboard.panel`): a function of the request that returns safe HTML (e.g. the
  running experiments and who leads them).
- **Work queues** (:meth:`Dashboard.queue`): rows waiting for someone (:class:`WorkQueue`), counted up
  to :data:`QUEUE_COUNT_LIMIT` (one ``LIMIT``-ed query each, never a full count) and linked to the
  changelist filtered to exactly those rows.

Every piece names the models it reads; a staff member sees the pieces whose models their model admin
lets them view (``has_view_permission``: the same rule as the model list and the changelists). Reads go
through the apps' queryset methods; this module only words and lays out what they return.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.utils import timezone

from gateway.admin.links import changelist_url

# Work queues count at most this many rows: "1,000+" is as actionable as an exact count, and the
# LIMIT keeps each count an index range scan of bounded length on tables of millions of rows.
QUEUE_COUNT_LIMIT = 1000
# (label, days): each KPI is shown over these periods, each against the same number of days before it.
PERIOD_LENGTHS = (("Today", 1), ("7 days", 7), ("30 days", 30))


@dataclass(frozen=True)
class Period:
    """``days`` days ending ``end`` (inclusive), and the period of the same length just before."""

    label: str
    days: int
    end: date

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)


def periods(today: date | None = None) -> list[Period]:
    """Today, the last 7 and the last 30 days, each ending today (in the site's time zone)."""
    today = today or timezone.localdate()
    return [Period(label, days, today) for label, days in PERIOD_LENGTHS]


def ratio(numerator, denominator) -> float | None:
    """``numerator / denominator`` as a float; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


@dataclass(frozen=True)
class Figure:
    """One KPI over one period (``current``) and over the period before (``previous``)."""

    current: float | Decimal | int | None
    previous: float | Decimal | int | None

    @property
    def change(self) -> float | None:
        """The relative change (0.25 is +25 %); None when the period before has nothing to compare with."""
        if self.current is None or not self.previous:
            return None
        return (float(self.current) - float(self.previous)) / abs(float(self.previous))


def money(value) -> str:
    return "–" if value is None else f"{value:,.2f}"


def whole(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def times(value) -> str:
    return "–" if value is None else f"{value:,.2f}×"


def share(value) -> str:
    return "–" if value is None else f"{value:.2%}"


@dataclass(frozen=True)
class Kpi:
    """A tile: ``label`` with one :class:`Figure` per period (in the order of :func:`periods`).

    ``better`` says which way is good news: ``"up"``, ``"down"`` or ``None`` (neither, e.g. spend).
    """

    label: str
    figures: Sequence[Figure]
    format: Callable[[object], str] = whole
    better: str | None = "up"
    help: str = ""


@dataclass(frozen=True)
class KpiSection:
    """What a KPI provider returns: its tiles, and optional safe HTML below them (a chart)."""

    title: str
    kpis: Sequence[Kpi]
    chart: str = ""
    note: str = ""


@dataclass(frozen=True)
class WorkQueue:
    """Rows of ``model`` waiting for someone: ``rows()`` selects them, ``params()`` filters the changelist to them."""

    label: str
    model: type[Model]
    rows: Callable[[], QuerySet]
    params: Callable[[], dict]
    help: str = ""


@dataclass
class _Part:
    models: tuple[type[Model], ...]
    order: int
    build: Callable


@dataclass
class Dashboard:
    """The registry of the home page's pieces; apps register into :data:`dashboard`."""

    _kpis: list[_Part] = field(default_factory=list)
    _panels: list[_Part] = field(default_factory=list)
    _queues: list[tuple[int, WorkQueue]] = field(default_factory=list)

    def kpis(self, *models: type[Model], order: int = 100):
        """Register ``function(periods) -> KpiSection`` (a decorator), shown to those who may view ``models``."""

        def register(function):
            self._kpis.append(_Part(models, order, function))
            return function

        return register

    def panel(self, *models: type[Model], order: int = 100):
        """Register ``function(request) -> safe HTML`` (a decorator), shown to those who may view ``models``."""

        def register(function):
            self._panels.append(_Part(models, order, function))
            return function

        return register

    def queue(self, queue: WorkQueue, *, order: int = 100) -> WorkQueue:
        """Register a work queue, shown to those who may view its model."""
        self._queues.append((order, queue))
        return queue

    def context(self, request, *, today: date | None = None) -> dict:
        """The template context of the home page for ``request``'s staff member."""
        shown = periods(today)
        return {
            "periods": shown,
            "kpi_sections": [
                _section(part.build(shown), shown)
                for part in sorted(self._kpis, key=_order)
                if _may_view(request, part.models)
            ],
            "panels": [
                part.build(request) for part in sorted(self._panels, key=_order) if _may_view(request, part.models)
            ],
            "queues": [
                _queue_row(queue)
                for _, queue in sorted(self._queues, key=lambda item: item[0])
                if _may_view(request, (queue.model,))
            ],
        }


def _order(part: _Part) -> int:
    return part.order


def _may_view(request, models) -> bool:
    """Whether the staff member may view every model of ``models`` in the console (their model admins say)."""
    site = admin.site
    for model in models:
        if not site.is_registered(model) or not site.get_model_admin(model).has_view_permission(request):
            return False
    return True


def _section(section: KpiSection, shown: list[Period]) -> dict:
    return {
        "title": section.title,
        "chart": section.chart,
        "note": section.note,
        "tiles": [
            {
                "label": kpi.label,
                "help": kpi.help,
                "rows": [_figure_row(kpi, period, figure) for period, figure in zip(shown, kpi.figures, strict=True)],
            }
            for kpi in section.kpis
        ],
    }


def _figure_row(kpi: Kpi, period: Period, figure: Figure) -> dict:
    """One line of a tile: the period, the figure, and its trend against the period before."""
    change = figure.change
    if change is None:
        trend, arrow, change_text = "none", "", "no data before" if not figure.previous else ""
    else:
        arrow = "▲" if change > 0 else "▼" if change < 0 else "■"
        change_text = f"{change:+.1%}"
        direction = "up" if change > 0 else "down" if change < 0 else "flat"
        trend = "flat" if direction == "flat" or kpi.better is None else "good" if direction == kpi.better else "bad"
    return {
        "period": period.label,
        "value": kpi.format(figure.current),
        "previous": kpi.format(figure.previous),
        "arrow": arrow,
        "change": change_text,
        "trend": trend,
        "title": f"{period.start.isoformat()} to {period.end.isoformat()}: {kpi.format(figure.current)}; "
        f"{period.previous_start.isoformat()} to {period.previous_end.isoformat()}: {kpi.format(figure.previous)}",
    }


def capped_count(queryset: QuerySet, limit: int = QUEUE_COUNT_LIMIT) -> tuple[int, str]:
    """How many rows ``queryset`` has, counted up to ``limit`` + 1 (one ``LIMIT``-ed query), and that number
    worded ("1,000+" past the limit)."""
    # Without an ordering the LIMIT stops the scan at limit + 1 rows instead of sorting every match first.
    count = queryset.order_by()[: limit + 1].count()
    return count, f"{limit:,}+" if count > limit else f"{count:,}"


def _queue_row(queue: WorkQueue) -> dict:
    count, display = capped_count(queue.rows())
    return {
        "label": queue.label,
        "count": count,
        "count_display": display,
        "url": changelist_url(queue.model, **queue.params()),
        "help": queue.help,
    }


dashboard = Dashboard()
