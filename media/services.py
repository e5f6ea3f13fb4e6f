"""Writes on assets, clips, predictions and performance metrics (the former DatabaseService's media methods)."""

import math
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import Case, F, Value, When

from gateway.db.compiled import CompiledQuery
from gateway.ingest import bulk_insert
from gateway.models import WrittenAt
from gateway.services import copy_row, lock_row, model_update, status_change
from media.analytics import performance_metric_derived
from media.choices import AssetStatus, ClipStatus
from media.models import UNIT_INTERVAL_SCORES, Asset, Clip, PerformanceMetric, Prediction
from media.querysets import AWAITING_SCORES

# Where an asset may go from each status. ARCHIVED may only come back as READY: an archived
# video is not sent through the pipeline again.
ASSET_TRANSITIONS = {
    AssetStatus.PENDING: {AssetStatus.PROCESSING, AssetStatus.FAILED, AssetStatus.ARCHIVED},
    AssetStatus.PROCESSING: {AssetStatus.READY, AssetStatus.FAILED, AssetStatus.ARCHIVED},
    AssetStatus.READY: {AssetStatus.PROCESSING, AssetStatus.ARCHIVED},
    AssetStatus.FAILED: {AssetStatus.PENDING, AssetStatus.PROCESSING, AssetStatus.ARCHIVED},
    AssetStatus.ARCHIVED: {AssetStatus.READY},
}

CLIP_TRANSITIONS = {
    ClipStatus.PENDING: {ClipStatus.ANALYZED, ClipStatus.SCORED, ClipStatus.REJECTED},
    ClipStatus.ANALYZED: {ClipStatus.SCORED, ClipStatus.REJECTED},
    ClipStatus.SCORED: {ClipStatus.PUBLISHED, ClipStatus.REJECTED, ClipStatus.ANALYZED},
    ClipStatus.PUBLISHED: {ClipStatus.REJECTED, ClipStatus.SCORED},
    ClipStatus.REJECTED: {ClipStatus.ANALYZED, ClipStatus.SCORED},
}

CLIP_SCORE_FIELDS = ("score", "viral_score", "engagement_score", "brand_safety_score", "rank")
# What the clips table's CHECK constraints enforce on the scores and the rank.
SCORE_VALIDATORS = {
    **dict.fromkeys(UNIT_INTERVAL_SCORES, (MinValueValidator(0), MaxValueValidator(1.0))),
    "rank": (MinValueValidator(1),),
}

ROAS_MAX = Decimal("99999999.99")  # Decimal(10, 2)
COUNT_FIELDS = ("impressions", "clicks", "conversions")
BIGINT_MAX = 2**63 - 1
MONEY_FIELDS = ("spend", "revenue")

# On a repeated (asset, platform, date) the day's figures are replaced; created_at and id stay, and
# raw_data stays when the new delivery brings none.
UPDATED_FIELDS = ("impressions", "clicks", "conversions", "spend", "revenue", "roas", "ctr", "raw_data", "updated_at")


@transaction.atomic
def asset_change_status(*, asset: Asset, status: str, processing_error: str | None = None) -> Asset:
    """Move an asset to ``status``, recording ``processing_error``; the row is locked meanwhile.

    Leaving FAILED for anything but FAILED clears the previous error unless a new one is given.
    """
    # FAILED without a new error keeps the old one; any other change writes the new error, or none.
    keeps_error = status == AssetStatus.FAILED and processing_error is None
    changes = {} if keeps_error else {"processing_error": processing_error}
    return status_change(instance=asset, status=status, allowed=ASSET_TRANSITIONS, **changes)


@transaction.atomic
def asset_update(*, asset: Asset, **fields) -> Asset:
    """Change any of an asset's fields; a ``status`` change follows ``asset_change_status``.

    Only the given fields are written, under the row's lock: a concurrent status change, soft
    delete or edit of another field is never undone.
    """
    status = fields.pop("status", None)
    if status is not None and status != lock_row(asset).status:
        asset_change_status(asset=asset, status=status, processing_error=fields.pop("processing_error", None))
    return model_update(instance=asset, fields=fields)


@transaction.atomic
def clip_update(*, clip: Clip, **fields) -> Clip:
    """Change any of a clip's fields; a ``status`` change follows ``CLIP_TRANSITIONS``.

    Scores and rank go through ``clip_set_scores``, so a score set by any path (the API's update or
    ``scores`` action, the admin) moves a PENDING or ANALYZED clip to SCORED alike. Only the given fields
    are written, under the row's lock; ``duration`` is read back from the database.
    """
    scores = {name: fields.pop(name) for name in CLIP_SCORE_FIELDS if name in fields}
    status = fields.pop("status", None)
    if status is not None and status == lock_row(clip).status:
        status = None
    if scores:
        copy_row(clip_set_scores(clip=clip, status=status, **scores), clip)
    elif status is not None:
        clip_change_status(clip=clip, status=status)
    return model_update(instance=clip, fields=fields)


@transaction.atomic
def clip_change_status(*, clip: Clip, status: str) -> Clip:
    """Move a clip to ``status`` along ``CLIP_TRANSITIONS``; the row is locked meanwhile."""
    return status_change(instance=clip, status=status, allowed=CLIP_TRANSITIONS)


def clip_set_scores(*, clip: Clip, status: str | None = None, **scores) -> Clip:
    """Set any of a clip's scores and rank (``None`` clears one) and optionally its status.

    Scores must lie within [0, 1] and rank be at least 1; with no status given, a clip that
    receives a score and is PENDING or ANALYZED becomes SCORED, as the former service did.

    One ``UPDATE ... RETURNING`` of the given columns, whose conditions decide the status on the row as it is
    when the statement holds its lock (a ``CASE`` for the automatic SCORED; a requested status goes through
    ``gateway.services.status_change``, whose ``WHERE`` admits the statuses it may come from), and which answers
    with the row as it left it: one statement, no transaction of its own, and nothing another writer changed
    meanwhile is written back. Only when a requested status is not allowed from the current one is the row read
    to say why.
    """
    unknown = set(scores) - set(CLIP_SCORE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown score field."))
    # The bounds in Python, worded as the API words them; the clips table's CHECKs stay the last line.
    errors = {}
    for name, value in scores.items():
        for validator in SCORE_VALIDATORS[name] if value is not None else ():
            try:
                validator(value)
            except ValidationError as error:
                errors.setdefault(name, []).extend(error.messages)
    if errors:
        raise ValidationError(errors)
    if status is not None:
        return status_change(instance=clip, status=status, allowed=CLIP_TRANSITIONS, **scores)
    if written := CLIP_SCORES_UPDATE(pk=clip.pk, **scores):
        return written[0]
    raise Clip.DoesNotExist("The clip was deleted meanwhile.")


def clip_scores_statement(*, pk, **scores):
    """``clip_set_scores``' statement without a requested status: the scores, and SCORED for a clip awaiting them
    that receives a score (decided by a ``CASE`` on the row as the ``UPDATE`` finds it)."""
    changes = {**scores, "updated_at": WrittenAt()}
    if scores.get("score") is not None:
        changes["status"] = Case(When(status__in=AWAITING_SCORES, then=Value(ClipStatus.SCORED)), default=F("status"))
    return Clip.all_objects.filter(pk=pk), changes


# Compiled once per set of scores given (the hot write of the scoring pipeline: gateway/db/compiled.py).
CLIP_SCORES_UPDATE = CompiledQuery(clip_scores_statement)


def prediction_error(prediction: Prediction) -> float | None:
    """Mean absolute percentage error of the prediction, as a fraction (0.2 means 20%).

    Over the metrics that have both a predicted and a non-zero actual value:
    ``mean(|predicted - actual| / |actual|)``. None when no metric qualifies. A metric whose error is
    beyond a double (values near a double's limits, or a tiny actual) does not qualify: infinity can be
    stored but not answered in JSON.
    """
    errors = []
    for metric in Prediction.METRICS:
        predicted = getattr(prediction, f"predicted_{metric}")
        actual = getattr(prediction, f"actual_{metric}")
        if predicted is not None and actual not in (None, 0):
            error = abs(predicted - actual) / abs(actual)
            if math.isfinite(error):
                errors.append(error)
    # Each term divided first: the sum of several errors near a double's limit would overflow.
    return sum(error / len(errors) for error in errors) if errors else None


@transaction.atomic
def prediction_create(**fields) -> Prediction:
    """Create a prediction; ``prediction_error`` is computed from its predicted and actual values."""
    prediction = Prediction(**fields)
    prediction.prediction_error = prediction_error(prediction)
    prediction.save()
    return prediction


@transaction.atomic
def prediction_update(*, prediction: Prediction, **fields) -> Prediction:
    """Change any of a prediction's fields under the row's lock, recomputing ``prediction_error``."""
    locked = lock_row(prediction)
    for name, value in fields.items():
        setattr(locked, name, value)
    return model_update(instance=prediction, fields={**fields, "prediction_error": prediction_error(locked)})


@transaction.atomic
def prediction_record_actuals(*, prediction: Prediction, **actuals) -> Prediction:
    """Store actual metrics (``actual_roas=...``) and recompute ``prediction_error``."""
    allowed = {f"actual_{metric}" for metric in Prediction.METRICS}
    unknown = set(actuals) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown actual metric."))
    if not actuals:
        raise ValidationError({"actuals": "Give at least one actual metric."})
    locked = Prediction.objects.select_for_update().get(pk=prediction.pk)
    for name, value in actuals.items():
        setattr(locked, name, value)
    locked.prediction_error = prediction_error(locked)
    locked.save(update_fields=[*actuals, "prediction_error", "updated_at"])
    return locked


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
    written = bulk_insert(
        PerformanceMetric,
        rows,
        unique_fields=["asset", "platform", "date"],
        update_fields=UPDATED_FIELDS,
        keep_when_null=["raw_data"],
        returning=["asset", "platform", "date", "id"],
    )
    return {(str(row["asset_id"]), row["platform"], row["date"]): (row["id"], row["created"]) for row in written}
