"""A/B experiment statistics: pure functions on variant counts, no Django.

``evaluate(variants, metric=..., threshold=..., min_sample=...)`` compares every challenger with the
control (two-proportion z-test with a pooled standard error, two-sided, Holm–Bonferroni adjusted when
there are several challengers), gives each variant's rate with a 95% Wilson interval, the relative lift
over the control with a 95% interval (delta method on the log of the rate ratio, Katz et al. 1978),
Bayesian Beta(1 + successes, 1 + failures) posteriors with each variant's probability of being best and
expected loss (Monte Carlo with a fixed seed), and a decision: a winner only when every variant has
reached ``min_sample`` and the leading variant's confidence reaches ``threshold``.

Bad input raises :class:`EvaluationError` naming the field and the variant; nothing here returns NaN.
docs/ANALYTICS.md has the formulas and worked examples.
"""

import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist

import numpy as np

METRICS = {
    # metric: (successes field, trials field, label)
    "conversion_rate": ("conversions", "impressions", "conversion rate"),
    "ctr": ("clicks", "impressions", "click-through rate"),
    "cvr": ("conversions", "clicks", "conversion rate per click"),
}
DEFAULT_METRIC = "conversion_rate"
DEFAULT_THRESHOLD = 0.95
DEFAULT_MIN_SAMPLE = 1000
MAX_VARIANTS = 50

CONFIDENCE_LEVEL = 0.95
Z_95 = NormalDist().inv_cdf(1 - (1 - CONFIDENCE_LEVEL) / 2)  # 1.959963984540054

# 200,000 draws put the Monte Carlo standard error of a probability below 0.5 / sqrt(200,000) ≈ 0.0011,
# so two-decimal figures do not move with the seed; the seed makes them exactly repeatable.
MONTE_CARLO_DRAWS = 200_000
MONTE_CARLO_SEED = 20250601
MONTE_CARLO_CHUNK = 50_000

METHODS = {
    "test": "two-proportion z-test against the control, pooled standard error, two-sided",
    "correction": "Holm–Bonferroni step-down over the challengers (none with a single challenger)",
    "rate_interval": "95% Wilson score interval",
    "lift_interval": "95% interval of the relative lift: delta method on the log rate ratio (Katz)",
    "bayesian": (
        f"Beta(1 + successes, 1 + failures) posteriors; probability of being best and expected loss "
        f"from {MONTE_CARLO_DRAWS:,} Monte Carlo draws with seed {MONTE_CARLO_SEED}"
    ),
    "decision": (
        "winner when every variant has reached min_sample trials and the leading variant's confidence "
        "(1 - adjusted p) reaches the threshold"
    ),
}


class EvaluationError(ValueError):
    """Input that cannot be evaluated: ``field`` is the request field, ``messages`` say what is wrong."""

    def __init__(self, field_name: str, messages: list[str] | str):
        self.field = field_name
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(f"{field_name}: {' '.join(self.messages)}")


@dataclass(frozen=True)
class VariantCounts:
    """One variant's successes out of trials for the chosen metric."""

    id: str
    name: str
    successes: int
    trials: int
    is_control: bool = False

    @property
    def rate(self) -> float | None:
        return self.successes / self.trials if self.trials else None


@dataclass
class VariantResult:
    """Everything computed for one variant. Fields a variant cannot have are None (never NaN)."""

    id: str
    name: str
    is_control: bool
    successes: int
    trials: int
    rate: float | None
    rate_ci_low: float | None
    rate_ci_high: float | None
    z: float | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = None
    confidence: float | None = None
    lift: float | None = None
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    probability_best: float = 0.0
    expected_loss: float = 0.0
    sample_reached: bool = False


@dataclass
class Evaluation:
    """The outcome of :func:`evaluate`: per-variant results and the decision with its reason."""

    metric: str
    metric_label: str
    successes_field: str
    trials_field: str
    control: str
    threshold: float
    min_sample: int
    winner: str | None
    confidence: float | None
    reason: str
    variants: list[VariantResult]
    methods: dict = field(default_factory=lambda: dict(METHODS))

    @property
    def decided(self) -> bool:
        return self.winner is not None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["decided"] = self.decided
        return data


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic: 2·(1 − Φ(|z|)) = erfc(|z| / √2)."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_z_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> tuple[float, float]:
    """z statistic of rate_a − rate_b with the pooled standard error, and its two-sided p-value.

    Both groups need at least one trial. When the pooled rate is 0 or 1 the rates are equal and
    there is no evidence of a difference: z = 0, p = 1.
    """
    if trials_a <= 0 or trials_b <= 0:
        raise ValueError("Both groups need at least one trial.")
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return 0.0, 1.0
    z = (successes_a / trials_a - successes_b / trials_b) / math.sqrt(variance)
    return z, normal_two_sided_p(z)


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (1-based) becomes max over j ≤ i of min(1, (m − j + 1)·p(j)).
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (None without trials)."""
    if trials <= 0:
        return None
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def relative_lift(
    successes_t: int, trials_t: int, successes_c: int, trials_c: int, z: float = Z_95
) -> tuple[float | None, float | None, float | None]:
    """Relative lift rate_t / rate_c − 1 and its interval from the log rate ratio.

    Var(log RR) ≈ 1/s_t − 1/n_t + 1/s_c − 1/n_c (delta method); the interval is exp(log RR ± z·SE) − 1.
    The lift is None when the control's rate is 0 (or a group has no trials); the interval is None
    when either group has no successes (the log ratio is unbounded).
    """
    if trials_t <= 0 or trials_c <= 0 or successes_c == 0:
        return None, None, None
    rate_t, rate_c = successes_t / trials_t, successes_c / trials_c
    lift = rate_t / rate_c - 1
    if successes_t == 0:
        return lift, None, None
    se = math.sqrt(max(0.0, 1 / successes_t - 1 / trials_t + 1 / successes_c - 1 / trials_c))
    log_ratio = math.log(rate_t / rate_c)
    return lift, math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1


def bayesian_best(
    counts: list[VariantCounts], *, draws: int = MONTE_CARLO_DRAWS, seed: int = MONTE_CARLO_SEED
) -> tuple[list[float], list[float]]:
    """Each variant's probability of having the highest rate and its expected loss.

    Posteriors are Beta(1 + successes, 1 + failures) (uniform prior). Expected loss of variant i is
    E[max_j θ_j − θ_i]: the rate given up, on average, by choosing i. Draws are taken in chunks to
    bound memory; a fixed seed makes the result repeatable.
    """
    rng = np.random.default_rng(seed)
    wins = np.zeros(len(counts), dtype=np.int64)
    loss = np.zeros(len(counts), dtype=np.float64)
    remaining = draws
    while remaining > 0:
        size = min(MONTE_CARLO_CHUNK, remaining)
        samples = np.column_stack(
            [rng.beta(1 + variant.successes, 1 + variant.trials - variant.successes, size=size) for variant in counts]
        )
        wins += np.bincount(samples.argmax(axis=1), minlength=len(counts))
        loss += (samples.max(axis=1, keepdims=True) - samples).sum(axis=0)
        remaining -= size
    return (wins / draws).tolist(), (loss / draws).tolist()


def _whole_number(value) -> int | None:
    """``value`` as an int when it is a whole, finite JSON number; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


# What ``variant_entries`` reports about a variant's shape, said the same way by the model and the evaluation.
VARIANT_SHAPE_ERRORS = {
    "object": "Variant {index} must be an object.",
    "id": "Variant {index} needs a non-empty string id.",
}


def variant_entries(variants):
    """Each element of a variant list as ``(index, variant, problem)``, the one reading of its shape.

    ``problem`` is None for an object with a non-empty string ``id`` not seen before, else ``"object"``
    (not an object), ``"id"`` (no non-empty string id) or ``"duplicate"`` (an id an earlier variant has).
    ``Experiment.validate_variants`` (models) and ``parse_variants`` (evaluation) both walk the list with it.
    """
    seen = set()
    for index, variant in enumerate(variants):
        if not isinstance(variant, dict):
            yield index, variant, "object"
            continue
        variant_id = variant.get("id")
        if not isinstance(variant_id, str) or not variant_id:
            yield index, variant, "id"
        elif variant_id in seen:
            yield index, variant, "duplicate"
        else:
            seen.add(variant_id)
            yield index, variant, None


def parse_variants(variants, metric: str = DEFAULT_METRIC) -> list[VariantCounts]:
    """Validate an experiment's variant list for ``metric`` and return its counts, control first-marked.

    Raises :class:`EvaluationError` on the ``variants`` field listing every problem, each naming its
    variant: not a list, fewer than two variants, a variant that is not an object, a missing or
    duplicate id, a missing, non-numeric, fractional or negative count, successes above trials,
    ``control`` that is not a boolean, or more than one control.
    """
    if metric not in METRICS:
        raise EvaluationError("metric", f"Unknown metric {metric!r}; choose one of {', '.join(METRICS)}.")
    successes_field, trials_field, _ = METRICS[metric]
    if not isinstance(variants, list):
        raise EvaluationError("variants", "The experiment's variants must be a list.")
    if len(variants) < 2:
        raise EvaluationError("variants", f"An experiment needs at least two variants; it has {len(variants)}.")
    if len(variants) > MAX_VARIANTS:
        raise EvaluationError("variants", f"At most {MAX_VARIANTS} variants can be evaluated; it has {len(variants)}.")
    errors, counts = [], []
    for index, variant, shape in variant_entries(variants):
        if shape in VARIANT_SHAPE_ERRORS:
            errors.append(VARIANT_SHAPE_ERRORS[shape].format(index=index))
            continue
        variant_id = variant["id"]
        label = f"Variant {variant_id!r}"
        if shape == "duplicate":
            errors.append(f"{label} appears more than once (duplicate id).")
            continue
        values, problems = {}, []
        for name in (successes_field, trials_field):
            raw = variant.get(name)
            number = _whole_number(raw)
            if raw is None:
                problems.append(f"{label} has no {name} count.")
            elif number is None:
                problems.append(f"{label} has a non-numeric or fractional {name} count: {raw!r}.")
            elif number < 0:
                problems.append(f"{label} has a negative {name} count: {number}.")
            else:
                values[name] = number
        if not problems and values[successes_field] > values[trials_field]:
            problems.append(
                f"{label} has more {successes_field} ({values[successes_field]}) "
                f"than {trials_field} ({values[trials_field]})."
            )
        control = variant.get("control", False)
        if not isinstance(control, bool):
            problems.append(f"{label} has a non-boolean control flag: {control!r}.")
        errors.extend(problems)
        if not problems:
            name = variant.get("name")
            counts.append(
                VariantCounts(
                    id=variant_id,
                    name=name if isinstance(name, str) else variant_id,
                    successes=values[successes_field],
                    trials=values[trials_field],
                    is_control=control,
                )
            )
    controls = [variant.id for variant in counts if variant.is_control]
    if len(controls) > 1:
        errors.append(f"Only one variant can be the control; {', '.join(map(repr, controls))} are marked.")
    if errors:
        raise EvaluationError("variants", errors)
    if not controls:
        counts[0] = VariantCounts(**{**asdict(counts[0]), "is_control": True})
    return counts


def check_parameters(threshold, min_sample) -> None:
    """Raise ``EvaluationError`` naming the parameter when ``threshold`` or ``min_sample`` is out of range."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise EvaluationError("threshold", "Must be a number.")
    if not 0.5 <= threshold < 1:
        raise EvaluationError("threshold", "Must be at least 0.5 and below 1.")
    if _whole_number(min_sample) is None or min_sample < 0:
        raise EvaluationError("min_sample", "Must be a whole number, 0 or more.")


def _percent(value: float) -> str:
    return f"{value:.2%}"


def evaluate(
    variants,
    *,
    metric: str = DEFAULT_METRIC,
    threshold: float = DEFAULT_THRESHOLD,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> Evaluation:
    """Evaluate an experiment's variants (a list of dicts as stored in ``Experiment.variants``).

    See the module docstring for the statistics. The decision is about the leading variant (the highest
    observed rate; the control on a tie): a leading challenger's confidence is 1 − its adjusted p-value
    against the control; a leading control's confidence is the smallest 1 − adjusted p over the
    challengers (it must beat each of them). It wins when every variant has at least ``min_sample``
    trials and that confidence is at least ``threshold``.
    """
    check_parameters(threshold, min_sample)
    min_sample = int(min_sample)
    counts = parse_variants(variants, metric)
    successes_field, trials_field, label = METRICS[metric]
    control = next(variant for variant in counts if variant.is_control)
    challengers = [variant for variant in counts if not variant.is_control]

    results = {}
    for variant in counts:
        interval = wilson_interval(variant.successes, variant.trials)
        results[variant.id] = VariantResult(
            id=variant.id,
            name=variant.name,
            is_control=variant.is_control,
            successes=variant.successes,
            trials=variant.trials,
            rate=variant.rate,
            rate_ci_low=interval[0] if interval else None,
            rate_ci_high=interval[1] if interval else None,
            sample_reached=variant.trials >= min_sample,
        )

    tested = [variant for variant in challengers if variant.trials > 0 and control.trials > 0]
    raw_p = []
    for variant in tested:
        z, p_value = two_proportion_z_test(variant.successes, variant.trials, control.successes, control.trials)
        results[variant.id].z, results[variant.id].p_value = z, p_value
        raw_p.append(p_value)
    adjusted = holm_adjust(raw_p) if len(challengers) > 1 else raw_p
    for variant, p_value in zip(tested, adjusted, strict=True):
        result = results[variant.id]
        result.adjusted_p_value = p_value
        result.confidence = 1 - p_value
        result.lift, result.lift_ci_low, result.lift_ci_high = relative_lift(
            variant.successes, variant.trials, control.successes, control.trials
        )

    probabilities, losses = bayesian_best(counts, draws=draws, seed=seed)
    for variant, probability, loss in zip(counts, probabilities, losses, strict=True):
        results[variant.id].probability_best = probability
        results[variant.id].expected_loss = loss

    winner, confidence, reason = _decide(
        counts=counts,
        results=results,
        control=control,
        challengers=challengers,
        threshold=threshold,
        min_sample=min_sample,
        trials_field=trials_field,
        label=label,
    )
    return Evaluation(
        metric=metric,
        metric_label=label,
        successes_field=successes_field,
        trials_field=trials_field,
        control=control.id,
        threshold=threshold,
        min_sample=min_sample,
        winner=winner,
        confidence=confidence,
        reason=reason,
        variants=[results[variant.id] for variant in counts],
    )


def _decide(*, counts, results, control, challengers, threshold, min_sample, trials_field, label):
    """The decision rule: (winner id or None, experiment confidence or None, reason)."""
    empty = [variant.id for variant in counts if variant.trials == 0]
    if empty:
        names = ", ".join(map(repr, empty))
        return None, None, f"No winner yet: {names} {'has' if len(empty) == 1 else 'have'} no {trials_field}."

    best_challenger = max(challengers, key=lambda variant: variant.rate)  # first one on a tie
    if best_challenger.rate > control.rate:
        leader = best_challenger
        confidence = results[leader.id].confidence
        lift = results[leader.id].lift
        standing = (
            f"{leader.id!r} leads with {_percent(leader.rate)} vs the control {control.id!r} at "
            f"{_percent(control.rate)}" + (f" (lift {lift:+.1%})" if lift is not None else "")
        )
    else:
        leader = control
        confidence = min(results[variant.id].confidence for variant in challengers)
        standing = (
            f"the control {control.id!r} leads with {_percent(control.rate)} vs the best challenger "
            f"{best_challenger.id!r} at {_percent(best_challenger.rate)}"
        )

    short = [variant for variant in counts if variant.trials < min_sample]
    if short:
        details = ", ".join(f"{variant.id!r} has {variant.trials:,}" for variant in short)
        return (
            None,
            confidence,
            f"No winner yet: every variant needs {min_sample:,} {trials_field} and {details}. "
            f"So far {standing}, confidence {confidence:.4f}.",
        )
    if confidence < threshold:
        return (
            None,
            confidence,
            f"No winner yet on {label}: {standing}, but the confidence {confidence:.4f} "
            f"is below the threshold {threshold:g}.",
        )
    return (
        leader.id,
        confidence,
        f"{leader.id!r} wins on {label}: {standing}, confidence {confidence:.4f} ≥ {threshold:g}.",
    )
