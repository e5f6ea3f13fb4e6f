"""The experiment statistics against independently computed values.

Where each expected number comes from:
- z-tests: statsmodels ``proportions_ztest`` (pooled variance, two-sided) and the hand calculation
  written next to the headline test;
- Holm adjustment: statsmodels ``multipletests(method="holm")``;
- rate intervals: statsmodels ``proportion_confint(method="wilson")``;
- lift intervals: statsmodels ``confint_proportions_2indep(compare="ratio", method="log")`` minus 1;
- probability of being best and expected loss: numerical integration of the Beta posteriors with
  scipy (``P(i best) = ∫ f_i(x) Π_{j≠i} F_j(x) dx``, ``E[max θ] = ∫ 1 − Π_j F_j(x) dx``), which
  the Monte Carlo estimate must match to two decimals.
"""

import json
import math

import pytest
from scipy import integrate
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from campaigns.stats import (
    EvaluationError,
    evaluate,
    holm_adjust,
    parse_variants,
    relative_lift,
    two_proportion_z_test,
    wilson_interval,
)

# The development data set's "Headline A/B Test" (SEED_DATA.md).
HEADLINE = [
    {"id": "variant-a", "name": "Variant A - Direct", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "Variant B - Question", "impressions": 50_000, "clicks": 1_750, "conversions": 95},
]


def variant(variant_id, impressions, clicks, conversions, **extra):
    return {
        "id": variant_id,
        "name": variant_id.title(),
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        **extra,
    }


def by_id(evaluation):
    return {result.id: result for result in evaluation.variants}


def integrated_probability_best(posteriors, index):
    """P(θ_index is the largest) by quadrature over the posteriors' bulk."""
    low = min(d.ppf(1e-9) for d in posteriors)
    high = max(d.ppf(1 - 1e-9) for d in posteriors)
    others = [d for i, d in enumerate(posteriors) if i != index]
    value, _ = integrate.quad(
        lambda x: posteriors[index].pdf(x) * math.prod(d.cdf(x) for d in others),
        low,
        high,
        points=[d.mean() for d in posteriors],
        limit=500,
    )
    return value


def integrated_expected_loss(posteriors, index):
    """E[max θ − θ_index] = ∫_0^1 (1 − Π F_j(x)) dx − E[θ_index]."""
    high = max(d.ppf(1 - 1e-12) for d in posteriors)
    expected_max, _ = integrate.quad(
        lambda x: 1 - math.prod(d.cdf(x) for d in posteriors),
        0,
        high,
        points=[d.mean() for d in posteriors],
        limit=500,
    )
    return expected_max - posteriors[index].mean()


def posteriors_for(pairs):
    return [scipy_stats.beta(1 + successes, 1 + trials - successes) for successes, trials in pairs]


class TestHeadlineExperiment:
    def test_click_through_difference_is_significant(self):
        # By hand: pooled rate 3,250 / 100,000 = 0.0325; SE = sqrt(0.0325 · 0.9675 · (2 / 50,000)) = 0.00112150;
        # z = (0.035 − 0.030) / 0.00112150 = 4.4583; p = erfc(4.4583 / √2) = 8.26e-6.
        evaluation = evaluate(HEADLINE, metric="ctr")
        challenger = by_id(evaluation)["variant-b"]
        z, p_value = proportions_ztest([1_750, 1_500], [50_000, 50_000])
        assert challenger.z == pytest.approx(z, rel=1e-12)
        assert challenger.z == pytest.approx(4.4583, abs=1e-4)
        assert challenger.p_value == pytest.approx(p_value, rel=1e-9)
        assert evaluation.winner == "variant-b"
        assert evaluation.confidence == pytest.approx(1 - p_value, rel=1e-12)
        assert evaluation.confidence >= 0.95

    def test_conversion_difference_is_not_significant(self):
        # pooled 170 / 100,000; z = 0.0004 / sqrt(0.0017 · 0.9983 · 0.00004) = 1.5352, p = 0.1247.
        evaluation = evaluate(HEADLINE)
        challenger = by_id(evaluation)["variant-b"]
        z, p_value = proportions_ztest([95, 75], [50_000, 50_000])
        assert evaluation.metric == "conversion_rate"
        assert challenger.p_value == pytest.approx(p_value, rel=1e-9)
        assert challenger.p_value == pytest.approx(0.1247, abs=1e-4)
        assert evaluation.winner is None
        assert evaluation.confidence == pytest.approx(0.8753, abs=1e-4)
        assert "0.8753" in evaluation.reason
        assert "below the threshold 0.95" in evaluation.reason

    def test_cvr_divides_conversions_by_clicks(self):
        evaluation = evaluate(HEADLINE, metric="cvr")
        results = by_id(evaluation)
        assert results["variant-a"].rate == pytest.approx(75 / 1_500)
        assert results["variant-b"].trials == 1_750
        _, p_value = proportions_ztest([95, 75], [1_750, 1_500])
        assert results["variant-b"].p_value == pytest.approx(p_value, rel=1e-9)

    def test_rates_have_wilson_intervals(self):
        evaluation = evaluate(HEADLINE, metric="ctr")
        for result, (clicks, impressions) in zip(evaluation.variants, [(1_500, 50_000), (1_750, 50_000)], strict=True):
            low, high = proportion_confint(clicks, impressions, alpha=0.05, method="wilson")
            assert result.rate_ci_low == pytest.approx(low, rel=1e-9)
            assert result.rate_ci_high == pytest.approx(high, rel=1e-9)

    def test_lift_interval_is_the_log_ratio_interval(self):
        challenger = by_id(evaluate(HEADLINE, metric="ctr"))["variant-b"]
        low, high = confint_proportions_2indep(1_750, 50_000, 1_500, 50_000, compare="ratio", method="log")
        assert challenger.lift == pytest.approx(1_750 / 1_500 - 1)
        assert challenger.lift_ci_low == pytest.approx(low - 1, rel=1e-9)
        assert challenger.lift_ci_high == pytest.approx(high - 1, rel=1e-9)
        assert challenger.lift_ci_low > 0

    def test_probability_best_matches_integration(self):
        evaluation = evaluate(HEADLINE)
        posteriors = posteriors_for([(75, 50_000), (95, 50_000)])
        for index, result in enumerate(evaluation.variants):
            assert result.probability_best == pytest.approx(integrated_probability_best(posteriors, index), abs=0.005)
            assert result.expected_loss == pytest.approx(integrated_expected_loss(posteriors, index), abs=2e-5)
        assert round(evaluation.variants[1].probability_best, 2) == 0.94

    def test_control_has_no_test_against_itself(self):
        control = by_id(evaluate(HEADLINE))["variant-a"]
        assert control.is_control
        assert control.p_value is None
        assert control.lift is None


class TestSeveralChallengers:
    VARIANTS = [
        variant("control", 20_000, 600, 100),
        variant("b", 20_000, 640, 145),
        variant("c", 20_000, 700, 128),
        variant("d", 20_000, 590, 104),
    ]

    def test_holm_adjustment_matches_statsmodels(self):
        evaluation = evaluate(self.VARIANTS)
        results = by_id(evaluation)
        raw = [proportions_ztest([s, 100], [20_000, 20_000])[1] for s in (145, 128, 104)]
        _, adjusted, _, _ = multipletests(raw, method="holm")
        for variant_id, raw_p, adjusted_p in zip("bcd", raw, adjusted, strict=True):
            assert results[variant_id].p_value == pytest.approx(raw_p, rel=1e-9)
            assert results[variant_id].adjusted_p_value == pytest.approx(adjusted_p, rel=1e-9)
            assert results[variant_id].confidence == pytest.approx(1 - adjusted_p, rel=1e-9)

    def test_holm_adjust_worked_example(self):
        # Sorted 0.01, 0.03, 0.04 with m = 3: 3·0.01 = 0.03, max(0.03, 2·0.03) = 0.06, max(0.06, 1·0.04) = 0.06.
        assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])

    def test_probabilities_of_being_best_match_integration_and_sum_to_one(self):
        evaluation = evaluate(self.VARIANTS)
        posteriors = posteriors_for([(100, 20_000), (145, 20_000), (128, 20_000), (104, 20_000)])
        for index, result in enumerate(evaluation.variants):
            assert result.probability_best == pytest.approx(integrated_probability_best(posteriors, index), abs=0.005)
            assert result.expected_loss == pytest.approx(integrated_expected_loss(posteriors, index), abs=2e-5)
        assert sum(result.probability_best for result in evaluation.variants) == pytest.approx(1)

    def test_best_challenger_wins_after_adjustment(self):
        evaluation = evaluate(self.VARIANTS)
        assert evaluation.winner == "b"
        assert evaluation.confidence == pytest.approx(by_id(evaluation)["b"].confidence)

    def test_adjustment_can_withhold_a_winner_a_single_test_would_give(self):
        single = evaluate([variant("a", 10_000, 0, 100), variant("b", 10_000, 0, 132)], threshold=0.95)
        several = evaluate(
            [variant("a", 10_000, 0, 100), variant("b", 10_000, 0, 132), variant("c", 10_000, 0, 101)], threshold=0.95
        )
        assert by_id(single)["b"].p_value < 0.05
        assert single.winner == "b"
        assert by_id(several)["b"].adjusted_p_value == pytest.approx(2 * by_id(several)["b"].p_value)
        assert several.winner is None


class TestMonteCarlo:
    def test_same_seed_gives_identical_results(self):
        first = evaluate(HEADLINE)
        second = evaluate(HEADLINE)
        assert [r.probability_best for r in first.variants] == [r.probability_best for r in second.variants]

    def test_another_seed_agrees_to_two_decimals(self):
        default = evaluate(TestSeveralChallengers.VARIANTS)
        other = evaluate(TestSeveralChallengers.VARIANTS, seed=7)
        for a, b in zip(default.variants, other.variants, strict=True):
            assert abs(a.probability_best - b.probability_best) < 0.005


class TestDecision:
    def test_marked_control_is_used_instead_of_the_first(self):
        evaluation = evaluate([HEADLINE[1], {**HEADLINE[0], "control": True}], metric="ctr")
        assert evaluation.control == "variant-a"
        assert by_id(evaluation)["variant-b"].p_value is not None
        assert evaluation.winner == "variant-b"

    def test_short_sample_names_the_variant(self):
        evaluation = evaluate([variant("a", 5_000, 150, 10), variant("b", 800, 60, 3)], metric="ctr", min_sample=1_000)
        assert evaluation.winner is None
        assert "'b' has 800" in evaluation.reason
        assert "'a'" not in evaluation.reason.split("and")[1].split(".")[0]
        assert by_id(evaluation)["b"].sample_reached is False
        assert evaluation.confidence is not None

    def test_min_sample_counts_the_metric_denominator(self):
        # 5,000 impressions but only 150 clicks: short for CVR, fine for CTR.
        variants = [variant("a", 5_000, 150, 10), variant("b", 5_000, 250, 30)]
        assert "needs 1,000 clicks" in evaluate(variants, metric="cvr").reason
        assert evaluate(variants, metric="ctr").winner == "b"

    def test_control_wins_when_it_beats_every_challenger(self):
        evaluation = evaluate([variant("a", 50_000, 1_750, 0), variant("b", 50_000, 1_500, 0)], metric="ctr")
        assert evaluation.winner == "a"
        assert evaluation.confidence == pytest.approx(by_id(evaluation)["b"].confidence)
        assert by_id(evaluation)["b"].lift < 0

    def test_threshold_is_respected(self):
        # confidence 0.8753 (see the headline test): a winner at 0.85, none at 0.95.
        assert evaluate(HEADLINE, threshold=0.85).winner == "variant-b"
        assert evaluate(HEADLINE, threshold=0.95).winner is None

    def test_variant_without_trials_gives_no_winner_and_no_nan(self):
        evaluation = evaluate([variant("a", 1_000, 10, 1), variant("b", 0, 0, 0)], metric="ctr", min_sample=0)
        assert evaluation.winner is None
        assert "'b' has no impressions" in evaluation.reason
        assert by_id(evaluation)["b"].rate is None
        json.dumps(evaluation.to_dict(), allow_nan=False)

    def test_no_successes_anywhere_means_no_difference(self):
        evaluation = evaluate([variant("a", 2_000, 0, 0), variant("b", 2_000, 0, 0)])
        challenger = by_id(evaluation)["b"]
        assert challenger.p_value == 1.0
        assert challenger.lift is None
        assert evaluation.winner is None
        json.dumps(evaluation.to_dict(), allow_nan=False)

    def test_to_dict_is_plain_json(self):
        data = evaluate(HEADLINE, metric="ctr").to_dict()
        assert json.loads(json.dumps(data, allow_nan=False))["winner"] == "variant-b"
        assert data["decided"] is True
        assert {"id", "rate", "p_value", "lift", "probability_best"} <= set(data["variants"][0])


class TestBadVariants:
    @pytest.mark.parametrize(
        ("variants", "expected"),
        [
            ([variant("a", 100, 1, 1)], "at least two variants"),
            ([], "at least two variants"),
            ({"a": 1}, "must be a list"),
            ([variant("a", 100, 1, 1), "b"], "Variant 1 must be an object"),
            ([variant("a", 100, 1, 1), {"name": "x", "impressions": 1, "conversions": 0}], "Variant 1 needs"),
            ([variant("a", 100, 1, 1), variant("a", 100, 2, 2)], "'a' appears more than once"),
            ([variant("a", 100, 1, 1), variant("b", -5, 1, 1)], "'b' has a negative impressions"),
            ([variant("a", 100, 1, 1), variant("b", 100, 1, -1)], "'b' has a negative conversions"),
            ([variant("a", 100, 1, 1), variant("b", 100, 1, 101)], "'b' has more conversions (101) than impressions"),
            ([variant("a", 100, 1, 1), {"id": "b", "name": "B", "impressions": 100}], "'b' has no conversions"),
            ([variant("a", 100, 1, 1), variant("b", "100", 1, 1)], "'b' has a non-numeric"),
            ([variant("a", 100, 1, 1), variant("b", 100.5, 1, 1)], "'b' has a non-numeric or fractional"),
            ([variant("a", 100, 1, 1), variant("b", float("nan"), 1, 1)], "'b' has a non-numeric"),
            ([variant("a", 100, 1, 1), variant("b", True, 1, 1)], "'b' has a non-numeric"),
            ([variant("a", 100, 1, 1), variant("b", 100, 1, 1, control="yes")], "'b' has a non-boolean control"),
            (
                [variant("a", 100, 1, 1, control=True), variant("b", 100, 1, 1, control=True)],
                "Only one variant can be the control",
            ),
        ],
    )
    def test_bad_variants_raise_naming_the_variant(self, variants, expected):
        with pytest.raises(EvaluationError) as error:
            evaluate(variants)
        assert error.value.field == "variants"
        assert any(expected in message for message in error.value.messages), error.value.messages

    def test_clicks_above_impressions_is_an_error_for_ctr(self):
        with pytest.raises(EvaluationError, match="more clicks"):
            evaluate([variant("a", 100, 1, 1), variant("b", 100, 200, 1)], metric="ctr")

    def test_every_problem_is_listed(self):
        with pytest.raises(EvaluationError) as error:
            parse_variants([variant("a", -1, 0, 0), variant("b", 100, 0, 200)])
        assert len(error.value.messages) == 2

    def test_whole_floats_are_accepted(self):
        counts = parse_variants([variant("a", 100.0, 1, 1.0), variant("b", 100, 1, 2)])
        assert counts[0].trials == 100

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"metric": "roas"}, "metric"),
            ({"threshold": 1}, "threshold"),
            ({"threshold": 0.2}, "threshold"),
            ({"threshold": "high"}, "threshold"),
            ({"min_sample": -1}, "min_sample"),
            ({"min_sample": 1.5}, "min_sample"),
        ],
    )
    def test_bad_parameters_name_the_parameter(self, kwargs, field):
        with pytest.raises(EvaluationError) as error:
            evaluate(HEADLINE, **kwargs)
        assert error.value.field == field


class TestBuildingBlocks:
    def test_z_test_requires_trials(self):
        with pytest.raises(ValueError):
            two_proportion_z_test(0, 0, 1, 10)

    def test_wilson_interval_without_trials_is_none(self):
        assert wilson_interval(0, 0) is None

    def test_wilson_interval_at_zero_successes_starts_at_zero(self):
        low, high = wilson_interval(0, 50)
        expected_low, expected_high = proportion_confint(0, 50, method="wilson")
        assert low == pytest.approx(expected_low, abs=1e-12)
        assert high == pytest.approx(expected_high)

    def test_lift_without_control_successes_is_undefined(self):
        assert relative_lift(5, 100, 0, 100) == (None, None, None)

    def test_lift_without_challenger_successes_has_no_interval(self):
        assert relative_lift(0, 100, 5, 100) == (pytest.approx(-1.0), None, None)
