"""Writes on campaigns, experiments and conversions (the former DatabaseService's campaign methods)."""

from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.db.models import F
from django.utils import timezone

from campaigns import stats
from campaigns.choices import CampaignStatus, ExperimentStatus
from campaigns.models import Campaign, Conversion, Experiment
from gateway.ingest import bulk_insert
from gateway.jobs import defer
from gateway.models import JobRecord, WrittenAt
from gateway.services import lock_row, model_update, status_change

CAMPAIGN_TRANSITIONS = {
    CampaignStatus.DRAFT: {CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED},
    CampaignStatus.SCHEDULED: {
        CampaignStatus.DRAFT,
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        CampaignStatus.ARCHIVED,
    },
    CampaignStatus.ACTIVE: {CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED},
    CampaignStatus.PAUSED: {CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED},
    CampaignStatus.COMPLETED: {CampaignStatus.ARCHIVED},
    CampaignStatus.ARCHIVED: set(),
}

METRIC_FIELDS = {
    "spend": "total_spend",
    "impressions": "total_impressions",
    "clicks": "total_clicks",
    "conversions": "total_conversions",
}


@transaction.atomic
def campaign_change_status(*, campaign: Campaign, status: str) -> Campaign:
    """Move a campaign to ``status`` along ``CAMPAIGN_TRANSITIONS``; the row is locked meanwhile."""
    return status_change(instance=campaign, status=status, allowed=CAMPAIGN_TRANSITIONS)


@transaction.atomic
def campaign_update(*, campaign: Campaign, **fields) -> Campaign:
    """Change any of a campaign's fields; a ``status`` change follows ``CAMPAIGN_TRANSITIONS``.

    Only the given fields are written, under the row's lock: a concurrent metrics increment, status
    change, soft delete or edit of another field is never undone.
    """
    status = fields.pop("status", None)
    if status is not None and status != lock_row(campaign).status:
        campaign_change_status(campaign=campaign, status=status)
    return model_update(instance=campaign, fields=fields)


@transaction.atomic
def campaign_update_metrics(*, campaign: Campaign, increment: bool = False, **metrics) -> Campaign:
    """Set a campaign's totals, or with ``increment`` add to them in the database.

    Keys are ``spend``, ``impressions``, ``clicks``, ``conversions``. Increments are applied as
    ``total = total + n`` in one UPDATE, so concurrent callers never lose each other's update.
    Values must not be negative.
    """
    unknown = set(metrics) - set(METRIC_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown metric."))
    given = {name: value for name, value in metrics.items() if value is not None}
    if not given:
        raise ValidationError({"metrics": f"Give at least one of {', '.join(METRIC_FIELDS)}."})
    negative = [name for name, value in given.items() if value < 0]
    if negative:
        raise ValidationError(dict.fromkeys(negative, "Must not be negative."))
    if increment:
        changes = {METRIC_FIELDS[name]: F(METRIC_FIELDS[name]) + value for name, value in given.items()}
    else:
        changes = {METRIC_FIELDS[name]: value for name, value in given.items()}
    try:
        written = Campaign.all_objects.filter(pk=campaign.pk).update_returning(**changes, updated_at=WrittenAt())
    except DataError as error:  # numeric overflow of a total: the value is out of range, not a server fault
        raise ValidationError(dict.fromkeys(given, "The resulting total is out of range.")) from error
    if not written:
        raise Campaign.DoesNotExist("The campaign was deleted meanwhile.")  # as the read that was here raised
    for field in (*changes, "updated_at"):
        setattr(campaign, field, getattr(written[0], field))
    return campaign


@transaction.atomic
def experiment_select_winner(*, experiment: Experiment, variant_id: str, confidence: float | None = None) -> Experiment:
    """Declare ``variant_id`` the winner and complete the experiment.

    The row is locked, so of two staff picking different winners at once the first wins and the
    second is told the experiment is already decided.
    """
    locked = Experiment.all_objects.select_for_update().get(pk=experiment.pk)
    if variant_id not in locked.variant_ids:
        allowed = ", ".join(map(str, locked.variant_ids))
        raise ValidationError({"variant_id": f"Unknown variant {variant_id!r}; the variants are: {allowed}."})
    if locked.winner_variant_id is not None and locked.winner_variant_id != variant_id:
        raise ValidationError({"variant_id": f"The experiment already has a winner: {locked.winner_variant_id}."})
    if locked.status == ExperimentStatus.CANCELLED:
        raise ValidationError({"status": "A cancelled experiment cannot have a winner."})
    if confidence is not None and not 0 <= confidence <= 1:
        raise ValidationError({"confidence": "Must be between 0 and 1."})
    locked.winner_variant_id = variant_id
    locked.winner_selected_at = locked.winner_selected_at or timezone.now()
    locked.status = ExperimentStatus.COMPLETED
    if confidence is not None:
        locked.confidence = confidence
    locked.save(update_fields=["winner_variant_id", "winner_selected_at", "status", "confidence", "updated_at"])
    return locked


@transaction.atomic
def conversions_ingest(*, conversions: list[dict]) -> dict:
    """Insert a batch of validated conversions; idempotent on ``external_id``.

    One INSERT ... ON CONFLICT (external_id) DO NOTHING (``gateway.ingest.bulk_insert``): a delivery
    seen before, or repeated within the batch, creates nothing and counts as a duplicate, also when two
    deliveries race (the unique index decides). Items without an external id are always created.
    Returns ``{"created": n, "duplicates": n, "created_ids": [...]}``.

    Items are keyed by field name (``campaign``, a model instance) or column (``campaign_id``); columns
    not given take the model's defaults, as ``Conversion(**item)`` would.
    """
    written = bulk_insert(Conversion, conversions, unique_fields=["external_id"])
    created_ids = [row["id"] for row in written]
    return {"created": len(created_ids), "duplicates": len(conversions) - len(created_ids), "created_ids": created_ids}


def _evaluate(variants, *, metric, threshold, min_sample) -> stats.Evaluation:
    """``stats.evaluate`` with its input errors turned into a field-by-field ``ValidationError``."""
    try:
        return stats.evaluate(variants, metric=metric, threshold=threshold, min_sample=min_sample)
    except stats.EvaluationError as error:
        raise ValidationError({error.field: error.messages}) from error


def experiment_evaluate(
    *,
    experiment: Experiment,
    metric: str = stats.DEFAULT_METRIC,
    threshold: float = stats.DEFAULT_THRESHOLD,
    min_sample: int = stats.DEFAULT_MIN_SAMPLE,
    apply: bool = False,
    declare_winner: bool = True,
) -> dict:
    """Evaluate an experiment's variants and, with ``apply``, record the result.

    Returns the evaluation (``stats.Evaluation.to_dict()``) plus ``experiment``, ``evaluated_at``,
    ``applied`` and the experiment's ``status``, ``winner_variant_id`` and ``winner_selected_at``
    after the call. With ``apply`` the experiment row is locked and, in one transaction, the
    evaluation is stored in ``metrics`` (other keys of ``metrics`` are kept), ``confidence`` is set
    and, when there is a winner, ``winner_variant_id``, ``winner_selected_at`` and COMPLETED status.
    Bad variants or parameters raise ``ValidationError`` naming the field (and the variant); so does
    applying to a cancelled experiment or one whose recorded winner differs from the new one.
    Nothing is written when anything fails. With ``apply`` and not ``declare_winner`` (the periodic
    evaluation of an experiment without ``auto_apply``) only the statistics and the confidence are stored.
    Applying twice stores the same outcome again: the winner's first selection time is kept.
    """
    evaluated_at = timezone.now()
    if not apply:
        evaluation = _evaluate(experiment.variants, metric=metric, threshold=threshold, min_sample=min_sample)
        return _outcome(evaluation, experiment=experiment, evaluated_at=evaluated_at, applied=False)
    with transaction.atomic():
        locked = Experiment.all_objects.select_for_update().get(pk=experiment.pk)
        if locked.status == ExperimentStatus.CANCELLED:
            raise ValidationError({"apply": "A cancelled experiment cannot be evaluated with apply."})
        evaluation = _evaluate(locked.variants, metric=metric, threshold=threshold, min_sample=min_sample)
        winner = evaluation.winner if declare_winner else None
        if winner and locked.winner_variant_id not in (None, winner):
            raise ValidationError(
                {
                    "apply": f"The experiment already has the winner {locked.winner_variant_id!r}; "
                    f"this evaluation picks {evaluation.winner!r}."
                }
            )
        stored = evaluation.to_dict()
        stored.pop("methods")
        stored["evaluated_at"] = evaluated_at.isoformat()
        locked.metrics = {**(locked.metrics if isinstance(locked.metrics, dict) else {}), **stored}
        locked.confidence = evaluation.confidence
        fields = ["metrics", "confidence", "updated_at"]
        if winner:
            locked.winner_variant_id = winner
            locked.winner_selected_at = locked.winner_selected_at or evaluated_at
            locked.status = ExperimentStatus.COMPLETED
            fields += ["winner_variant_id", "winner_selected_at", "status"]
        locked.save(update_fields=fields)
    for name in fields:
        setattr(experiment, name, getattr(locked, name))
    return _outcome(evaluation, experiment=locked, evaluated_at=evaluated_at, applied=True)


def experiment_queue_evaluation(
    *,
    experiment: Experiment,
    user,
    metric: str = stats.DEFAULT_METRIC,
    threshold: float = stats.DEFAULT_THRESHOLD,
    min_sample: int = stats.DEFAULT_MIN_SAMPLE,
) -> JobRecord:
    """Queue ``experiment_evaluate(apply=True)`` as a job on behalf of ``user``; its record (``job_id``).

    What can be checked at once is, so bad input is a ``ValidationError`` now rather than a failed job:
    the parameters, the variants' shape and counts, a cancelled experiment. The job is queued in the
    caller's transaction.
    """
    from campaigns.tasks import evaluate_experiment

    if experiment.status == ExperimentStatus.CANCELLED:
        raise ValidationError({"apply": "A cancelled experiment cannot be evaluated with apply."})
    try:
        stats.parse_variants(experiment.variants, metric)
        stats.check_parameters(threshold, min_sample)
    except stats.EvaluationError as error:
        raise ValidationError({error.field: error.messages}) from error
    return defer(
        evaluate_experiment,
        user=user,
        experiment_id=str(experiment.pk),
        metric=metric,
        threshold=threshold,
        min_sample=min_sample,
    )


def experiments_evaluate_running(
    *,
    metric: str = stats.DEFAULT_METRIC,
    threshold: float = stats.DEFAULT_THRESHOLD,
    min_sample: int = stats.DEFAULT_MIN_SAMPLE,
    apply: bool = True,
    declare_winners: bool | None = None,
) -> dict:
    """Evaluate every RUNNING experiment (not soft-deleted), oldest first, each in its own transaction.

    With ``apply`` each outcome is stored (``experiment_evaluate``); the winner is declared where
    ``declare_winners`` says, or, when it is None, where the experiment's ``auto_apply`` is set. An
    experiment that cannot be evaluated (bad variants) is reported in ``failed`` and the others go on;
    a database error stops the run (a job is retried, and evaluating again is harmless). Returns
    ``{"evaluated", "winners", "undecided", "failed": [{"experiment", "name", "errors"}], "outcomes"}``.
    """
    experiments = Experiment.objects.filter(status=ExperimentStatus.RUNNING).order_by("created_at", "pk")
    report = {"evaluated": 0, "winners": 0, "undecided": 0, "failed": [], "outcomes": []}
    for experiment in experiments:
        try:
            outcome = experiment_evaluate(
                experiment=experiment,
                metric=metric,
                threshold=threshold,
                min_sample=min_sample,
                apply=apply,
                declare_winner=experiment.auto_apply if declare_winners is None else declare_winners,
            )
        except ValidationError as error:
            report["failed"].append(
                {"experiment": experiment.pk, "name": experiment.name, "errors": error.message_dict}
            )
            continue
        report["evaluated"] += 1
        report["winners" if outcome["winner"] else "undecided"] += 1
        report["outcomes"].append(
            {
                "experiment": experiment.pk,
                "name": experiment.name,
                "winner": outcome["winner"],
                "winner_variant_id": outcome["winner_variant_id"],
                "status": outcome["status"],
                "reason": outcome["reason"],
            }
        )
    return report


def _outcome(evaluation: stats.Evaluation, *, experiment: Experiment, evaluated_at, applied: bool) -> dict:
    return {
        "experiment": experiment.pk,
        "evaluated_at": evaluated_at,
        "applied": applied,
        "status": experiment.status,
        "winner_variant_id": experiment.winner_variant_id,
        "winner_selected_at": experiment.winner_selected_at,
        **evaluation.to_dict(),
    }
