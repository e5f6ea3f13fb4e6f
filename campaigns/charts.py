"""Charts of campaign analytics for the admin: daily conversions and value, experiment variants.

Each function returns safe HTML built from ``gateway.charts`` SVG (which escapes its text) and
``format_html`` for the surrounding prose.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from campaigns import stats
from campaigns.analytics import campaign_performance
from campaigns.models import Campaign, Experiment
from gateway import charts


def campaign_performance_chart(campaign: Campaign, *, date_from=None, date_to=None) -> str:
    """Conversions per day (bars) and their value per day (line) over the campaign's run, with a summary."""
    report = campaign_performance(campaign=campaign, date_from=date_from, date_to=date_to)
    labels = [day["date"].isoformat() for day in report["daily"]]
    period = f"{report['date_from'].isoformat()} to {report['date_to'].isoformat()}"
    conversions = charts.bar_chart(
        title=f"Conversions per day, {period}",
        labels=labels,
        values=[day["conversions"] for day in report["daily"]],
        value_format=charts.fmt_int,
        value_label="conversions",
    )
    value = charts.line_chart(
        title=f"Conversion value per day ({report['currency']}), {period}",
        labels=labels,
        series=[("value", [float(day["value"]) for day in report["daily"]])],
        value_format=charts.fmt_money,
        value_label=report["currency"],
    )
    roas = "–" if report["roas"] is None else f"{report['roas']:.2f}"
    return format_html(
        '<div class="analytics-charts">{}{}<p class="help">{} conversions worth {} {} in this period '
        "({} worth {} recorded in all); ROAS to date {}.</p></div>",
        mark_safe(conversions),  # gateway.charts escapes every text it writes
        mark_safe(value),
        f"{report['period_conversion_count']:,}",
        f"{report['period_conversion_value']:,.2f}",
        report["currency"],
        f"{report['conversion_count']:,}",
        f"{report['conversion_value']:,.2f}",
        roas,
    )


def _stored_parameters(experiment: Experiment) -> dict:
    """The metric, threshold and minimum sample of the experiment's last applied evaluation, if any."""
    stored = experiment.metrics if isinstance(experiment.metrics, dict) else {}
    parameters = {}
    if stored.get("metric") in stats.METRICS:
        parameters["metric"] = stored["metric"]
    if isinstance(stored.get("threshold"), int | float) and 0.5 <= stored["threshold"] < 1:
        parameters["threshold"] = stored["threshold"]
    if isinstance(stored.get("min_sample"), int) and stored["min_sample"] >= 0:
        parameters["min_sample"] = stored["min_sample"]
    return parameters


def experiment_evaluation_chart(experiment: Experiment, **parameters) -> str:
    """Each variant's rate with its 95% interval and its probability of being best, and the decision.

    Evaluated live from the variants, with the parameters of the last applied evaluation (default:
    conversion rate, 0.95, 1,000) unless given. Variants that cannot be evaluated give the reasons.
    """
    parameters = {**_stored_parameters(experiment), **parameters}
    try:
        evaluation = stats.evaluate(experiment.variants, **parameters)
    except stats.EvaluationError as error:
        return format_html(
            '<ul class="errorlist">{}</ul>', format_html_join("", "<li>{}</li>", ((m,) for m in error.messages))
        )
    leader = evaluation.winner
    rows = [
        {
            "label": f"{variant.name} ({variant.id}){' · control' if variant.is_control else ''}",
            "value": variant.rate,
            "low": variant.rate_ci_low,
            "high": variant.rate_ci_high,
            "note": f"P(best) {variant.probability_best:.1%}" + (" · winner" if variant.id == leader else ""),
            "highlight": variant.id == leader,
        }
        for variant in evaluation.variants
    ]
    intervals = charts.interval_chart(
        title=f"{evaluation.metric_label.capitalize()} by variant, with 95% intervals", rows=rows
    )
    probabilities = charts.bar_chart(
        title="Probability of being best",
        labels=[variant.id for variant in evaluation.variants],
        values=[variant.probability_best for variant in evaluation.variants],
        value_format=charts.fmt_percent,
        height=220,
    )
    return format_html(
        '<div class="analytics-charts">{}{}<p class="help">{}</p></div>',
        mark_safe(intervals),  # gateway.charts escapes every text it writes
        mark_safe(probabilities),
        evaluation.reason,
    )
