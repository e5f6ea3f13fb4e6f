"""Media analytics: the derived figures of a performance day and prediction accuracy (a selector).

The ingestion of daily performance metrics, a write, is ``media.services.performance_metrics_ingest``.

docs/ANALYTICS.md explains every figure.
"""

import math
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, DecimalField, F, Func, Max, Min, Q, Value
from django.db.models.functions import Abs, NullIf, Power, Sqrt

from media.models import Prediction

CTR_QUANTUM = Decimal("0.0001")
ROAS_QUANTUM = Decimal("0.01")


def performance_metric_derived(*, impressions: int, clicks: int, spend: Decimal, revenue: Decimal) -> dict:
    """CTR = clicks / impressions (4 decimals; None without impressions) and ROAS = revenue / spend
    (2 decimals; 0 without spend, as the column cannot be null)."""
    ctr = (Decimal(clicks) / Decimal(impressions)).quantize(CTR_QUANTUM, ROUND_HALF_UP) if impressions else None
    roas = (Decimal(revenue) / Decimal(spend)).quantize(ROAS_QUANTUM, ROUND_HALF_UP) if spend else Decimal("0.00")
    return {"ctr": ctr, "roas": roas}


def _exact(expression):
    """``expression`` as PostgreSQL ``numeric``.

    Any double is a valid value, but a difference, square, ratio or sum of doubles near their limits (or
    divided by a tiny actual) overflows double precision, an error for the whole report; ``numeric`` does not.
    """
    return Func(expression, template="(%(expressions)s)::numeric", output_field=DecimalField())


BEYOND_A_DOUBLE = "Beyond a double: the values are near a double's limits."


def _double(value):
    """A ``numeric`` aggregate as a float; None when it is beyond a double (JSON has no infinity)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _metric_aggregates(metric: str) -> dict:
    """Aggregates of one metric over the rows that have both its predicted and its actual value."""
    predicted, actual = _exact(F(f"predicted_{metric}")), _exact(F(f"actual_{metric}"))
    both = Q(**{f"predicted_{metric}__isnull": False, f"actual_{metric}__isnull": False})
    nonzero = both & ~Q(**{f"actual_{metric}": 0})
    return {
        f"{metric}_n": Count("pk", filter=both),
        f"{metric}_mae": Avg(Abs(predicted - actual), filter=both),
        f"{metric}_mape_n": Count("pk", filter=nonzero),
        f"{metric}_mape": Avg(Abs(predicted - actual) / NullIf(Abs(actual), Value(Decimal(0))), filter=nonzero),
        f"{metric}_rmse": Sqrt(Avg(Power(predicted - actual, 2), filter=both)),
        f"{metric}_bias": Avg(predicted - actual, filter=both),
    }


def prediction_accuracy(*, model_version: str | None = None, model_type: str | None = None, queryset=None) -> list:
    """Accuracy of every model (type and version) on each metric, from the predictions with actuals.

    One GROUP BY query over ``queryset`` (default: every prediction; the API passes the caller's
    scoped queryset). For each metric (roas, ctr, cpc, cpa, engagement) over the rows having both
    its predicted and actual value: ``n``, MAE = mean |p − a|, MAPE = mean |p − a| / |a| over the
    ``mape_n`` rows whose actual is not 0 (a fraction: 0.12 is 12%), RMSE = √(mean (p − a)²) and
    bias = mean (p − a) (positive: the model over-predicts). Metrics without such rows are left
    out; a MAPE that cannot be computed is None with the reason in ``undefined``.
    """
    predictions = Prediction.objects.all() if queryset is None else queryset
    if model_version:
        predictions = predictions.filter(model_version=model_version)
    if model_type:
        predictions = predictions.filter(model_type=model_type)
    any_actual = Q()
    aggregates = {}
    for metric in Prediction.METRICS:
        any_actual |= Q(**{f"actual_{metric}__isnull": False})
        aggregates.update(_metric_aggregates(metric))
    groups = (
        predictions.order_by()
        .values("model_type", "model_version")
        .annotate(
            predictions=Count("pk"),
            with_actuals=Count("pk", filter=any_actual),
            mean_prediction_error=Avg(_exact(F("prediction_error"))),
            first_predicted_at=Min("created_at"),
            last_predicted_at=Max("created_at"),
            **aggregates,
        )
        .order_by("model_type", "model_version")
    )
    report = []
    for group in groups:
        metrics = []
        for metric in Prediction.METRICS:
            if not group[f"{metric}_n"]:
                continue
            entry = {
                "metric": metric,
                "n": group[f"{metric}_n"],
                "mae": _double(group[f"{metric}_mae"]),
                "mape": _double(group[f"{metric}_mape"]),
                "mape_n": group[f"{metric}_mape_n"],
                "rmse": _double(group[f"{metric}_rmse"]),
                "bias": _double(group[f"{metric}_bias"]),
                "undefined": {},
            }
            for figure in ("mae", "rmse", "bias", "mape"):
                if entry[figure] is None and group[f"{metric}_{figure}"] is not None:
                    entry["undefined"][figure] = BEYOND_A_DOUBLE
            if entry["mape"] is None and "mape" not in entry["undefined"]:
                entry["undefined"]["mape"] = "Every actual value is 0, so percentage errors are undefined."
            metrics.append(entry)
        report.append(
            {
                "model_type": group["model_type"],
                "model_version": group["model_version"],
                "predictions": group["predictions"],
                "with_actuals": group["with_actuals"],
                "mean_prediction_error": _double(group["mean_prediction_error"]),
                "first_predicted_at": group["first_predicted_at"],
                "last_predicted_at": group["last_predicted_at"],
                "metrics": metrics,
            }
        )
    return report
