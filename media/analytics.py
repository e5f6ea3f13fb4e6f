"""Media analytics: daily performance-metrics ingestion (a service) and prediction accuracy (a selector).

docs/ANALYTICS.md explains every figure.
"""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Avg, Count, F, Max, Min, Q
from django.db.models.functions import Abs, NullIf, Power, Sqrt
from django.utils import timezone
from psycopg.types.json import Jsonb

from media.models import Asset, PerformanceMetric, Prediction

CTR_QUANTUM = Decimal("0.0001")
ROAS_QUANTUM = Decimal("0.01")
ROAS_MAX = Decimal("99999999.99")  # Decimal(10, 2)
COUNT_FIELDS = ("impressions", "clicks", "conversions")
BIGINT_MAX = 2**63 - 1
MONEY_FIELDS = ("spend", "revenue")

METRIC_COLUMNS = (
    ("id", "uuid"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("asset_id", "uuid"),
    ("platform", "varchar"),
    ("date", "date"),
    ("impressions", "bigint"),
    ("clicks", "bigint"),
    ("conversions", "bigint"),
    ("spend", "numeric"),
    ("revenue", "numeric"),
    ("roas", "numeric"),
    ("ctr", "numeric"),
    ("raw_data", "jsonb"),
)
# On a repeated (asset, platform, date) the day's figures are replaced; created_at and id stay, and
# raw_data stays when the new delivery brings none.
UPDATED_COLUMNS = ("impressions", "clicks", "conversions", "spend", "revenue", "roas", "ctr", "updated_at")


def performance_metric_derived(*, impressions: int, clicks: int, spend: Decimal, revenue: Decimal) -> dict:
    """CTR = clicks / impressions (4 decimals; None without impressions) and ROAS = revenue / spend
    (2 decimals; 0 without spend, as the column cannot be null)."""
    ctr = (Decimal(clicks) / Decimal(impressions)).quantize(CTR_QUANTUM, ROUND_HALF_UP) if impressions else None
    roas = (Decimal(revenue) / Decimal(spend)).quantize(ROAS_QUANTUM, ROUND_HALF_UP) if spend else Decimal("0.00")
    return {"ctr": ctr, "roas": roas}


def _item_problems(item: dict) -> dict:
    """Field errors of one validated item (types are the caller's job; this checks the figures)."""
    problems = {}
    for name in (*COUNT_FIELDS, *MONEY_FIELDS):
        if item.get(name, 0) < 0:
            problems[name] = ["Must not be negative."]
    for name in COUNT_FIELDS:
        if item.get(name, 0) > BIGINT_MAX:
            problems[name] = [f"Must be at most {BIGINT_MAX}."]
    if not problems and item.get("clicks", 0) > item.get("impressions", 0):
        problems["clicks"] = [f"Cannot exceed impressions ({item['impressions']})."]
    ctr = item.get("ctr")
    if ctr is not None and not 0 <= ctr <= 1:
        problems["ctr"] = ["Must be between 0 and 1."]
    roas = item.get("roas")
    if roas is not None and roas < 0:
        problems["roas"] = ["Must not be negative."]
    return problems


def _normalised(item: dict) -> dict:
    """The row to write: defaults filled in, CTR and ROAS computed where not given."""
    row = {
        "asset_id": item["asset"].pk if isinstance(item["asset"], Asset) else item["asset"],
        "platform": item.get("platform") or "meta",
        "date": item["date"],
        **{name: item.get(name) or 0 for name in COUNT_FIELDS},
        **{name: Decimal(item.get(name) or 0) for name in MONEY_FIELDS},
        "raw_data": item.get("raw_data"),
    }
    derived = performance_metric_derived(
        impressions=row["impressions"], clicks=row["clicks"], spend=row["spend"], revenue=row["revenue"]
    )
    row["ctr"] = item["ctr"] if item.get("ctr") is not None else derived["ctr"]
    row["roas"] = item["roas"] if item.get("roas") is not None else derived["roas"]
    return row


def performance_metrics_ingest(*, items: list[dict], indexes: list[int] | None = None) -> dict:
    """Upsert daily performance rows on (asset, platform, date); CTR and ROAS computed when not given.

    Each item has ``asset`` (an Asset or its id), ``date`` and optionally ``platform`` (default
    "meta"), ``impressions``, ``clicks``, ``conversions`` (default 0), ``spend``, ``revenue``
    (default 0), ``ctr``, ``roas`` and ``raw_data``. Items with bad figures (negative, clicks above
    impressions, CTR outside [0, 1], ROAS out of range), naming an unknown or deleted asset, or
    repeating an earlier item's (asset, platform, date) are reported and skipped; the others are
    written with one ``INSERT ... ON CONFLICT DO UPDATE`` in one transaction (two queries in all).
    Returns ``{"created": n, "updated": n, "errors": [{"index": i, "errors": {...}}],
    "results": [{"index": i, "id": ..., "created": bool}]}``; ``index`` is the item's position in
    ``items``, or ``indexes[position]`` when the caller numbers the items itself (e.g. after
    dropping malformed ones from a request).
    """
    labels = list(range(len(items))) if indexes is None else list(indexes)
    errors, rows, positions, seen = [], [], [], {}
    asset_ids = {str(item["asset"].pk if isinstance(item["asset"], Asset) else item["asset"]) for item in items}
    known = {str(pk) for pk in Asset.objects.filter(pk__in=asset_ids).values_list("pk", flat=True)} if items else set()
    for index, item in enumerate(items):
        problems = _item_problems(item)
        row = None if problems else _normalised(item)
        if row is not None and str(row["asset_id"]) not in known:
            problems["asset"] = [f"Unknown asset {row['asset_id']}."]
        if row is not None and row["roas"] > ROAS_MAX:
            problems["roas"] = [f"Revenue / spend = {row['roas']} exceeds the largest storable ROAS ({ROAS_MAX})."]
        if row is not None and not problems:
            key = (str(row["asset_id"]), row["platform"], row["date"])
            if key in seen:
                problems["non_field_errors"] = [f"Repeats item {seen[key]} (same asset, platform and date)."]
            else:
                seen[key] = labels[index]
        if problems:
            errors.append({"index": labels[index], "errors": problems})
        else:
            rows.append(row)
            positions.append(labels[index])
    if not rows:
        return {"created": 0, "updated": 0, "errors": errors, "results": []}

    written = _upsert(rows)
    results = []
    for index, row in zip(positions, rows, strict=True):
        row_id, created = written[(str(row["asset_id"]), row["platform"], row["date"])]
        results.append({"index": index, "id": row_id, "created": created})
    created = sum(result["created"] for result in results)
    return {"created": created, "updated": len(results) - created, "errors": errors, "results": results}


@transaction.atomic
def _upsert(rows: list[dict]) -> dict:
    """One INSERT ... ON CONFLICT DO UPDATE; ``{(asset id, platform, date): (id, created)}``."""
    now = timezone.now()
    columns = {name: [] for name, _ in METRIC_COLUMNS}
    for row in rows:
        values = {**row, "id": uuid.uuid4(), "created_at": now, "updated_at": now}
        for name, _ in METRIC_COLUMNS:
            value = values[name]
            columns[name].append(Jsonb(value) if name == "raw_data" and value is not None else value)
    table = PerformanceMetric._meta.db_table
    names = ", ".join(name for name, _ in METRIC_COLUMNS)
    unnest = ", ".join(f"%s::{column_type}[]" for _, column_type in METRIC_COLUMNS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in UPDATED_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT * FROM unnest({unnest}) "
        f"ON CONFLICT (asset_id, platform, date) DO UPDATE SET {updates}, "
        f"raw_data = COALESCE(EXCLUDED.raw_data, {table}.raw_data) "
        "RETURNING asset_id, platform, date, id, (xmax = 0) AS created"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [columns[name] for name, _ in METRIC_COLUMNS])
        return {
            (str(asset_id), platform, date): (row_id, created) for asset_id, platform, date, row_id, created in cursor
        }


def _metric_aggregates(metric: str) -> dict:
    """Aggregates of one metric over the rows that have both its predicted and its actual value."""
    predicted, actual = F(f"predicted_{metric}"), F(f"actual_{metric}")
    both = Q(**{f"predicted_{metric}__isnull": False, f"actual_{metric}__isnull": False})
    nonzero = both & ~Q(**{f"actual_{metric}": 0})
    return {
        f"{metric}_n": Count("pk", filter=both),
        f"{metric}_mae": Avg(Abs(predicted - actual), filter=both),
        f"{metric}_mape_n": Count("pk", filter=nonzero),
        f"{metric}_mape": Avg(Abs(predicted - actual) / NullIf(Abs(actual), 0.0), filter=nonzero),
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
            mean_prediction_error=Avg("prediction_error"),
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
                "mae": group[f"{metric}_mae"],
                "mape": group[f"{metric}_mape"],
                "mape_n": group[f"{metric}_mape_n"],
                "rmse": group[f"{metric}_rmse"],
                "bias": group[f"{metric}_bias"],
                "undefined": {},
            }
            if entry["mape"] is None:
                entry["undefined"]["mape"] = "Every actual value is 0, so percentage errors are undefined."
            metrics.append(entry)
        report.append(
            {
                "model_type": group["model_type"],
                "model_version": group["model_version"],
                "predictions": group["predictions"],
                "with_actuals": group["with_actuals"],
                "mean_prediction_error": group["mean_prediction_error"],
                "first_predicted_at": group["first_predicted_at"],
                "last_predicted_at": group["last_predicted_at"],
                "metrics": metrics,
            }
        )
    return report
