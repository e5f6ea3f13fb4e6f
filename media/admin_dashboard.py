"""The media app's pieces of the console's home page (``gateway.admin.dashboard``), registered on import by
``media.admin``: the ad-performance KPI tiles and daily charts, and the asset and clip work queues."""

from gateway.admin.dashboard import Figure, Kpi, KpiSection, WorkQueue, dashboard, money, ratio, share, times, whole
from media.charts import daily_performance_charts
from media.choices import AssetStatus
from media.models import Asset, Clip, PerformanceMetric
from media.querysets import AWAITING_SCORES, stuck_before


@dashboard.kpis(PerformanceMetric, order=10)
def performance_kpis(periods) -> KpiSection:
    """Spend, revenue, ROAS, conversions and CTR of the daily performance metrics over each period and the one
    before (one aggregate query), and the last period's days charted (one GROUP BY query)."""
    ranges = [
        bounds
        for period in periods
        for bounds in ((period.start, period.end), (period.previous_start, period.previous_end))
    ]
    totals = PerformanceMetric.objects.totals_over(ranges)
    pairs = list(zip(totals[::2], totals[1::2], strict=True))

    def figures(value) -> list[Figure]:
        return [Figure(value(current), value(previous)) for current, previous in pairs]

    longest = max(periods, key=lambda period: period.days)
    note = (
        "From the ad platforms' daily performance metrics of every asset. Today, the last 7 and the last 30 days, "
        "each against the period of the same length just before it (hover a line for the dates)."
    )
    if not any(total["impressions"] or total["spend"] for total in totals):
        note += (
            " No metrics in these days yet: they arrive through POST /api/v1/performance-metrics/ingest/ "
            "(the platforms' daily import)."
        )
    return KpiSection(
        title="Ad performance",
        kpis=[
            Kpi("Spend", figures(lambda t: t["spend"]), money, better=None, help="Summed spend of the daily metrics."),
            Kpi("Revenue", figures(lambda t: t["revenue"]), money, help="Summed revenue of the daily metrics."),
            Kpi("ROAS", figures(lambda t: ratio(t["revenue"], t["spend"])), times, help="Revenue / spend."),
            Kpi("Conversions", figures(lambda t: t["conversions"]), whole, help="Summed conversions."),
            Kpi("CTR", figures(lambda t: ratio(t["clicks"], t["impressions"])), share, help="Clicks / impressions."),
        ],
        chart=daily_performance_charts(date_from=longest.start, date_to=longest.end),
        note=note,
    )


dashboard.queue(
    WorkQueue(
        label="Assets that failed processing",
        model=Asset,
        rows=lambda: Asset.objects.failed(),
        params=lambda: {"status__exact": AssetStatus.FAILED},
    ),
    order=10,
)
dashboard.queue(
    WorkQueue(
        label="Assets stuck in processing",
        model=Asset,
        rows=lambda: Asset.objects.stuck_processing(),
        params=lambda: {"status__exact": AssetStatus.PROCESSING, "updated_at__lt": stuck_before().isoformat()},
        help="PROCESSING and unchanged for over an hour.",
    ),
    order=20,
)
dashboard.queue(
    WorkQueue(
        label="Clips awaiting scores",
        model=Clip,
        rows=lambda: Clip.objects.awaiting_scores(),
        params=lambda: {"status__in": ",".join(AWAITING_SCORES)},
        help="PENDING or ANALYZED.",
    ),
    order=30,
)
