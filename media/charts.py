"""Charts of prediction accuracy for the admin: model versions compared per metric."""

from django.utils.safestring import mark_safe

from gateway import charts
from media.models import Prediction


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
