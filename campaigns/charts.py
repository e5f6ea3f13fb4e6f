"""Charts of campaign analytics for the admin: daily conversions and value, experiment variants.

Each function returns safe HTML built from ``gateway.charts`` SVG (which escapes its text) and
``format_html`` for the surrounding prose.
"""

import json
from functools import lru_cache

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


def stored_parameters(experiment: Experiment) -> dict:
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


def live_evaluation(experiment: Experiment, **parameters) -> stats.Evaluation:
    """The experiment's variants evaluated now, with the parameters of its last applied evaluation (default:
    conversion rate, 0.95, 1,000) unless given; raises ``stats.EvaluationError`` for variants it cannot read.

    The result is shared by whoever asks for the same variants and parameters (the page's result line, its
    chart, the winner form): an evaluation draws Monte Carlo samples, a noticeable part of a page, and with
    its fixed seed it always gives the same answer for the same input.
    """
    parameters = {**stored_parameters(experiment), **parameters}
    return _evaluate(json.dumps(experiment.variants, sort_keys=True), tuple(sorted(parameters.items())))


@lru_cache(maxsize=256)
def _evaluate(variants: str, parameters: tuple) -> stats.Evaluation:
    return stats.evaluate(json.loads(variants), **dict(parameters))


def experiment_result(experiment: Experiment, evaluation: stats.Evaluation | None) -> str:
    """The experiment's one result, in words: the recorded winner (when, with what confidence) or, without one,
    where the evaluation of the current counts stands."""
    if experiment.winner_variant_id:
        selected = f", selected {experiment.winner_selected_at:%Y-%m-%d %H:%M}" if experiment.winner_selected_at else ""
        confidence = f" with confidence {experiment.confidence:.4f}" if experiment.confidence is not None else ""
        return (
            f"{experiment.get_status_display()}: the winner is {experiment.winner_variant_id!r}{selected}{confidence}."
        )
    if evaluation is None:
        return "No winner yet: the variants cannot be evaluated (see below)."
    return evaluation.reason


def _current_standing(experiment: Experiment, evaluation: stats.Evaluation) -> str:
    """What the current counts say beside a recorded winner, worded so as not to contradict it."""
    best = max(evaluation.variants, key=lambda variant: variant.probability_best)
    confidence = "" if evaluation.confidence is None else f", the evaluation's confidence {evaluation.confidence:.4f}"
    return (
        f"The winner {experiment.winner_variant_id!r} is recorded; the chart shows the current counts: {best.id!r} "
        f"has the highest probability of being best ({best.probability_best:.1%}){confidence} "
        f"(threshold {evaluation.threshold:g})."
    )


def experiment_evaluation_chart(experiment: Experiment, **parameters) -> str:
    """Each variant's rate with its 95% interval and its probability of being best, and what they say.

    Evaluated live from the variants (``live_evaluation``). The recorded winner, when there is one, is the
    highlighted variant and the caption words the current counts beside it; otherwise the caption is the
    evaluation's decision. Variants that cannot be evaluated give the reasons.
    """
    try:
        evaluation = live_evaluation(experiment, **parameters)
    except stats.EvaluationError as error:
        return format_html(
            '<ul class="errorlist">{}</ul>', format_html_join("", "<li>{}</li>", ((m,) for m in error.messages))
        )
    highlighted = experiment.winner_variant_id or evaluation.winner
    rows = [
        {
            "label": f"{variant.name} ({variant.id}){' · control' if variant.is_control else ''}",
            "value": variant.rate,
            "low": variant.rate_ci_low,
            "high": variant.rate_ci_high,
            "note": f"P(best) {variant.probability_best:.1%}" + (" · winner" if variant.id == highlighted else ""),
            "highlight": variant.id == highlighted,
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
    caption = _current_standing(experiment, evaluation) if experiment.winner_variant_id else evaluation.reason
    return format_html(
        '<div class="analytics-charts">{}{}<p class="help">{}</p></div>',
        mark_safe(intervals),  # gateway.charts escapes every text it writes
        mark_safe(probabilities),
        caption,
    )


def select_winner_initial(experiment: Experiment) -> dict:
    """What the "Select the winner" form proposes: the recorded winner, else the evaluated winner, else the
    variant most likely best, with the evaluation's confidence to 4 decimals (nothing when the variants cannot be
    evaluated)."""
    try:
        evaluation = live_evaluation(experiment)
    except stats.EvaluationError:
        return {"variant_id": experiment.winner_variant_id} if experiment.winner_variant_id else {}
    best = max(evaluation.variants, key=lambda variant: variant.probability_best, default=None)
    variant_id = experiment.winner_variant_id or evaluation.winner or (best.id if best else None)
    confidence = None if evaluation.confidence is None else round(evaluation.confidence, 4)
    return {"variant_id": variant_id, "confidence": confidence}
