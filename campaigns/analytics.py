"""Campaign analytics: experiment evaluation (a service) and campaign performance (a selector).

The statistics themselves are pure functions in ``campaigns.stats``; this module reads and writes
the database around them. docs/ANALYTICS.md explains every figure.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from campaigns import stats
from campaigns.choices import ExperimentStatus
from campaigns.models import Campaign, Conversion, Experiment

MAX_RANGE_DAYS = 1096  # three years of days in one performance response
DEFAULT_RANGE_DAYS = 30
UNIT_COST = Decimal("0.0001")
MONEY = Decimal("0.01")


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
) -> dict:
    """Evaluate an experiment's variants and, with ``apply``, record the result.

    Returns the evaluation (``stats.Evaluation.to_dict()``) plus ``experiment``, ``evaluated_at``,
    ``applied`` and the experiment's ``status``, ``winner_variant_id`` and ``winner_selected_at``
    after the call. With ``apply`` the experiment row is locked and, in one transaction, the
    evaluation is stored in ``metrics`` (other keys of ``metrics`` are kept), ``confidence`` is set
    and, when there is a winner, ``winner_variant_id``, ``winner_selected_at`` and COMPLETED status.
    Bad variants or parameters raise ``ValidationError`` naming the field (and the variant); so does
    applying to a cancelled experiment or one whose recorded winner differs from the new one.
    Nothing is written when anything fails.
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
        if evaluation.winner and locked.winner_variant_id not in (None, evaluation.winner):
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
        if evaluation.winner:
            locked.winner_variant_id = evaluation.winner
            locked.winner_selected_at = locked.winner_selected_at or evaluated_at
            locked.status = ExperimentStatus.COMPLETED
            fields += ["winner_variant_id", "winner_selected_at", "status"]
        locked.save(update_fields=fields)
    for name in fields:
        setattr(experiment, name, getattr(locked, name))
    return _outcome(evaluation, experiment=locked, evaluated_at=evaluated_at, applied=True)


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


def _ratio(numerator, denominator, *, quantum=None, scale=1):
    """numerator / denominator (× scale), as a Decimal rounded to ``quantum``, or a float; None for x / 0."""
    if not denominator:
        return None
    if quantum is None:
        return float(numerator) * scale / float(denominator)
    return (Decimal(numerator) * scale / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


def campaign_default_range(campaign: Campaign, *, today: datetime.date | None = None):
    """The campaign's run as dates: start to end (not past today); the last 30 days without a start."""
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    end = min(timezone.localtime(campaign.end_date, tz).date(), today) if campaign.end_date else today
    if campaign.start_date:
        start = timezone.localtime(campaign.start_date, tz).date()
    else:
        start = end - datetime.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    start = min(start, end)
    return max(start, end - datetime.timedelta(days=MAX_RANGE_DAYS - 1)), end


def campaign_performance(
    *, campaign: Campaign, date_from: datetime.date | None = None, date_to: datetime.date | None = None
) -> dict:
    """A campaign's performance: ratios on its totals, recorded conversions and a daily series.

    The dates are inclusive days in the project's time zone; missing ones default to the campaign's
    run (``campaign_default_range``). One SQL query, aggregated in PostgreSQL: ``generate_series``
    yields every day of the range, left-joined to the day's conversion count and value (zeros
    included), with the campaign's all-time recorded conversion count and value alongside.

    Spend is only known as the campaign's running total, so the cost ratios (CTR, CPC, CPM, CPA,
    ROAS, budget use) are to date, not for the range: CTR = clicks / impressions, CPC = spend /
    clicks, CPM = 1000 · spend / impressions, CPA = spend / conversions (the platform's counts on the
    campaign), ROAS = recorded conversion value / spend. A ratio whose denominator is 0 is None and
    ``undefined`` says why.
    """
    default_from, default_to = campaign_default_range(campaign)
    if date_to is None:
        date_to = default_to if date_from is None else max(default_to, date_from)
    if date_from is None:
        date_from = min(default_from, date_to)
    if date_from > date_to:
        raise ValidationError({"from": "Must not be after 'to'."})
    days = (date_to - date_from).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValidationError({"to": f"The range may cover at most {MAX_RANGE_DAYS} days; it covers {days}."})

    rows = _daily_conversions(campaign=campaign, date_from=date_from, date_to=date_to)
    daily = [{"date": day, "conversions": count, "value": value} for day, count, value, _, _ in rows]
    recorded_count, recorded_value = rows[0][3], rows[0][4]

    spend = campaign.total_spend
    impressions, clicks, conversions = campaign.total_impressions, campaign.total_clicks, campaign.total_conversions
    undefined = {}
    ctr = _ratio(clicks, impressions)
    cpm = _ratio(spend, impressions, quantum=UNIT_COST, scale=1000)
    if not impressions:
        undefined["ctr"] = undefined["cpm"] = "The campaign has no impressions yet."
    cpc = _ratio(spend, clicks, quantum=UNIT_COST)
    if not clicks:
        undefined["cpc"] = "The campaign has no clicks yet."
    cpa = _ratio(spend, conversions, quantum=UNIT_COST)
    if not conversions:
        undefined["cpa"] = "The campaign has no conversions yet."
    roas = _ratio(recorded_value, spend, quantum=UNIT_COST)
    if not spend:
        undefined["roas"] = "Nothing has been spent yet, so there is no return on spend."

    budget = _budget(campaign=campaign, undefined=undefined)
    return {
        "campaign": campaign.pk,
        "currency": campaign.currency,
        "date_from": date_from,
        "date_to": date_to,
        "days": days,
        "spend": spend,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "ctr": ctr,
        "cpc": cpc,
        "cpm": cpm,
        "cpa": cpa,
        "roas": roas,
        "conversion_count": recorded_count,
        "conversion_value": recorded_value,
        "period_conversion_count": sum(day["conversions"] for day in daily),
        "period_conversion_value": sum((day["value"] for day in daily), Decimal("0.00")),
        "budget": budget,
        "daily": daily,
        "undefined": undefined,
    }


def _budget(*, campaign: Campaign, undefined: dict) -> dict:
    """Spend against the total budget and, per day of the run so far, against the daily budget."""
    spend, budget, daily_budget = campaign.total_spend, campaign.budget, campaign.daily_budget
    budget_used = _ratio(spend, budget)
    if not budget:
        undefined["budget_used"] = "The budget is 0."
    days_running = None
    if campaign.start_date:
        today = timezone.localdate()
        start = timezone.localdate(campaign.start_date)
        end = min(timezone.localdate(campaign.end_date), today) if campaign.end_date else today
        days_running = max(0, (end - start).days + 1)
    average_daily_spend = _ratio(spend, days_running, quantum=MONEY)
    if days_running is None:
        undefined["average_daily_spend"] = "The campaign has no start date."
    elif not days_running:
        undefined["average_daily_spend"] = "The campaign has not started yet."
    daily_budget_used = _ratio(average_daily_spend, daily_budget) if average_daily_spend is not None else None
    if "average_daily_spend" in undefined:
        undefined["daily_budget_used"] = undefined["average_daily_spend"]
    elif daily_budget is None:
        undefined["daily_budget_used"] = "The campaign has no daily budget."
    elif not daily_budget:
        undefined["daily_budget_used"] = "The daily budget is 0."
    return {
        "budget": budget,
        "daily_budget": daily_budget,
        "spend": spend,
        "remaining": budget - spend,
        "budget_used": budget_used,
        "days_running": days_running,
        "average_daily_spend": average_daily_spend,
        "daily_budget_used": daily_budget_used,
    }


def _daily_conversions(*, campaign: Campaign, date_from: datetime.date, date_to: datetime.date) -> list[tuple]:
    """(day, count, value, all-time count, all-time value) for every day from ``date_from`` to ``date_to``.

    The range filter compares ``timestamp`` with the local midnights, so the (campaign, timestamp)
    index serves it; days are counted in the current time zone.
    """
    table = Conversion._meta.db_table
    sql = f"""
        WITH days AS (
            SELECT day::date AS day FROM generate_series(%(from)s::date, %(to)s::date, interval '1 day') AS day
        ),
        per_day AS (
            SELECT ("timestamp" AT TIME ZONE %(tz)s)::date AS day, count(*) AS count, sum(value) AS value
            FROM {table}
            WHERE campaign_id = %(campaign)s
              AND "timestamp" >= (%(from)s::date)::timestamp AT TIME ZONE %(tz)s
              AND "timestamp" < (%(to)s::date + 1)::timestamp AT TIME ZONE %(tz)s
            GROUP BY 1
        ),
        all_time AS (
            SELECT count(*) AS count, coalesce(sum(value), 0) AS value FROM {table} WHERE campaign_id = %(campaign)s
        )
        SELECT days.day, coalesce(per_day.count, 0), coalesce(per_day.value, 0)::numeric(12, 2),
               all_time.count, all_time.value::numeric(14, 2)
        FROM days LEFT JOIN per_day ON per_day.day = days.day CROSS JOIN all_time
        ORDER BY days.day
    """
    params = {
        "from": date_from,
        "to": date_to,
        "tz": timezone.get_current_timezone_name(),
        "campaign": campaign.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
