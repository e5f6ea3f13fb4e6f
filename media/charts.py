"""Charts of media analytics for the admin: model versions compared per metric, daily ad performance."""

from datetime import date, timedelta

from django.utils.html import format_html
from django.utils.safestring import mark_safe

from gateway import charts
from media.models import PerformanceMetric, Prediction


def accuracy_by_model_type(report: list[dict]) -> list[dict]:
    """``prediction_accuracy`` output grouped per model type, each with its comparison chart.

    The chart puts the metrics side by side with one bar per model version: MAPE, because a
    percentage error compares across metrics whose scales differ (ROAS around 3, CTR around 0.03).
    """
    sections: dict[str, list[dict]] = {}
    for group in report:
        sections.setdefault(group["model_type"], []).append(group)
    result = []
    for model_type, versions in sections.items():
        present = {entry["metric"] for group in versions for entry in group["metrics"]}
        metrics = [metric for metric in Prediction.METRICS if metric in present]
        series = []
        for group in versions:
            by_metric = {entry["metric"]: entry for entry in group["metrics"]}
            series.append((group["model_version"], [by_metric[m]["mape"] if m in by_metric else None for m in metrics]))
        chart = charts.grouped_bar_chart(
            title=f"{model_type} models: mean absolute percentage error by metric (lower is better)",
            categories=metrics,
            series=series,
            value_format=charts.fmt_percent,
            value_label="MAPE",
        )
        rows = []
        for group in versions:
            for entry in group["metrics"] or [{"metric": None}]:
                mape = entry.get("mape")
                rows.append(
                    {
                        "model_version": group["model_version"],
                        "summary": group,
                        **entry,
                        "mape_display": "–" if mape is None else f"{mape:.2%}",
                    }
                )
        result.append(
            {
                "model_type": model_type,
                "versions": versions,
                "rows": rows,
                "chart": mark_safe(chart),  # gateway.charts escapes every text it writes
            }
        )
    return result


def daily_performance_charts(*, date_from: date, date_to: date) -> str:
    """Spend and revenue per day (lines) and conversions per day (bars) of every asset's performance metrics,
    each day from ``date_from`` to ``date_to`` (a day without metrics is a gap)."""
    rows = {row["date"]: row for row in PerformanceMetric.objects.daily_totals(date_from=date_from, date_to=date_to)}
    days = [date_from + timedelta(days=offset) for offset in range((date_to - date_from).days + 1)]
    labels = [day.isoformat() for day in days]

    def series(name: str) -> list[float | None]:
        return [float(rows[day][name]) if day in rows else None for day in days]

    period = f"{date_from.isoformat()} to {date_to.isoformat()}"
    money = charts.line_chart(
        title=f"Spend and revenue per day, {period}",
        labels=labels,
        series=[("spend", series("spend")), ("revenue", series("revenue"))],
        value_format=charts.fmt_money,
        width=640,
    )
    conversions = charts.bar_chart(
        title=f"Conversions per day, {period}",
        labels=labels,
        values=series("conversions"),
        value_format=charts.fmt_int,
        value_label="conversions",
        width=640,
    )
    return format_html("{}{}", mark_safe(money), mark_safe(conversions))  # gateway.charts escapes every text
