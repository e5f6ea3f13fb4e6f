"""Campaign analytics: campaign performance (a selector).

Experiment evaluation, which writes its result, is ``campaigns.services.experiment_evaluate``; the
statistics themselves are pure functions in ``campaigns.stats``. docs/ANALYTICS.md explains every figure.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, Conversion
from campaigns.querysets import KPI_RATIOS

MAX_RANGE_DAYS = 1096  # three years of days in one performance response
DEFAULT_RANGE_DAYS = 30
UNIT_COST = Decimal("0.0001")
MONEY = Decimal("0.01")


def _ratio(numerator, denominator, *, quantum=None, scale=1):
    """numerator / denominator (× scale), as a Decimal rounded to ``quantum``, or a float; None for x / 0."""
    if not denominator:
        return None
    if quantum is None:
        return float(numerator) * scale / float(denominator)
    return (Decimal(numerator) * scale / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


def _kpi_values(campaign: Campaign, *, revenue) -> dict:
    """The columns the key figures (``KPI_RATIOS``) are ratios of, with ``revenue`` as recorded."""
    names = {name for pair in KPI_RATIOS.values() for name in pair} - {"revenue"}
    return {**{name: getattr(campaign, name) for name in names}, "revenue": revenue}


def _kpi(name: str, values: dict, *, quantum=None):
    """The key figure ``name`` of ``campaigns.querysets.KPI_RATIOS``, exact (see ``_ratio``) rather than a float."""
    numerator, denominator = KPI_RATIOS[name]
    return _ratio(values[numerator], values[denominator], quantum=quantum)


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
    values = _kpi_values(campaign, revenue=recorded_value)
    undefined = {}
    ctr = _kpi("ctr", values)
    cpm = _ratio(spend, impressions, quantum=UNIT_COST, scale=1000)
    if not impressions:
        undefined["ctr"] = undefined["cpm"] = "The campaign has no impressions yet."
    cpc = _kpi("cpc", values, quantum=UNIT_COST)
    if not clicks:
        undefined["cpc"] = "The campaign has no clicks yet."
    cpa = _kpi("cpa", values, quantum=UNIT_COST)
    if not conversions:
        undefined["cpa"] = "The campaign has no conversions yet."
    roas = _kpi("roas", values, quantum=UNIT_COST)
    if not spend:
        undefined["roas"] = "Nothing has been spent yet, so there is no return on spend."

    budget = _budget(campaign=campaign, undefined=undefined, values=values)
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


def _budget(*, campaign: Campaign, undefined: dict, values: dict) -> dict:
    """Spend against the total budget and, per day of the run so far, against the daily budget."""
    spend, budget, daily_budget = campaign.total_spend, campaign.budget, campaign.daily_budget
    budget_used = _kpi("budget_used", values)
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
