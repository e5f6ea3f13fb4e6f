"""Writes on assets, clips and predictions (the former DatabaseService's media methods)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from gateway.services import check_transition, lock_row, model_update
from media.choices import AssetStatus, ClipStatus
from media.models import Asset, Clip, Prediction

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


@transaction.atomic
def asset_change_status(*, asset: Asset, status: str, processing_error: str | None = None) -> Asset:
    """Move an asset to ``status``, recording ``processing_error``; the row is locked meanwhile.

    Leaving FAILED for anything but FAILED clears the previous error unless a new one is given.
    """
    locked = Asset.all_objects.select_for_update().get(pk=asset.pk)
    check_transition(field="status", current=locked.status, requested=status, allowed=ASSET_TRANSITIONS)
    locked.status = status
    if processing_error is not None:
        locked.processing_error = processing_error
    elif status != AssetStatus.FAILED:
        locked.processing_error = None
    locked.save(update_fields=["status", "processing_error", "updated_at"])
    return locked


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

    Only the given fields are written, under the row's lock; ``duration`` is read back from the database.
    """
    status = fields.pop("status", None)
    if status is not None and status != lock_row(clip).status:
        clip_change_status(clip=clip, status=status)
    return model_update(instance=clip, fields=fields)


@transaction.atomic
def clip_change_status(*, clip: Clip, status: str) -> Clip:
    """Move a clip to ``status`` along ``CLIP_TRANSITIONS``; the row is locked meanwhile."""
    locked = Clip.all_objects.select_for_update().get(pk=clip.pk)
    check_transition(field="status", current=locked.status, requested=status, allowed=CLIP_TRANSITIONS)
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def clip_set_scores(*, clip: Clip, status: str | None = None, **scores) -> Clip:
    """Set any of a clip's scores and rank (``None`` clears one) and optionally its status.

    Scores must lie within [0, 1] and rank be at least 1; with no status given, a clip that
    receives a score and is PENDING or ANALYZED becomes SCORED, as the former service did.
    """
    unknown = set(scores) - set(CLIP_SCORE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown score field."))
    locked = Clip.all_objects.select_for_update().get(pk=clip.pk)
    for name, value in scores.items():
        setattr(locked, name, value)
    if (
        status is None
        and scores.get("score") is not None
        and locked.status in (ClipStatus.PENDING, ClipStatus.ANALYZED)
    ):
        status = ClipStatus.SCORED
    if status is not None:
        check_transition(field="status", current=locked.status, requested=status, allowed=CLIP_TRANSITIONS)
        locked.status = status
    locked.full_clean(exclude=["asset"])
    locked.save(update_fields=[*scores, "status", "updated_at"])
    return locked


def prediction_error(prediction: Prediction) -> float | None:
    """Mean absolute percentage error of the prediction, as a fraction (0.2 means 20%).

    Over the metrics that have both a predicted and a non-zero actual value:
    ``mean(|predicted - actual| / |actual|)``. None when no metric qualifies.
    """
    errors = []
    for metric in Prediction.METRICS:
        predicted = getattr(prediction, f"predicted_{metric}")
        actual = getattr(prediction, f"actual_{metric}")
        if predicted is not None and actual not in (None, 0):
            errors.append(abs(predicted - actual) / abs(actual))
    return sum(errors) / len(errors) if errors else None


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
