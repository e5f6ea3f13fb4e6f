"""Input and output of the campaign analytics endpoints: experiment evaluation and campaign performance."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import stats
from campaigns.analytics import MAX_RANGE_DAYS
from gateway.api import strict
from gateway.api.serializers import Serializer


@extend_schema_field({"type": "number", "format": "double", "minimum": 0.5, "maximum": 1, "exclusiveMaximum": True})
class ThresholdField(strict.FloatField):
    """A confidence threshold: at least 0.5 and below 1 (the schema says so; DRF has no exclusive maximum)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value >= 1:
            raise serializers.ValidationError("Must be below 1.")
        return value


class ExperimentEvaluateSerializer(Serializer):
    """Input of ``POST experiments/{id}/evaluate/``; every field is optional."""

    metric = serializers.ChoiceField(
        choices=sorted(stats.METRICS),
        default=stats.DEFAULT_METRIC,
        help_text="conversion_rate: conversions / impressions; ctr: clicks / impressions; cvr: conversions / clicks.",
    )
    apply = strict.BooleanField(
        default=False,
        help_text=(
            "Store the statistics in the experiment's metrics and its confidence and, when there is a winner, "
            "the winner, its time and COMPLETED status (one transaction)."
        ),
    )
    threshold = ThresholdField(
        default=stats.DEFAULT_THRESHOLD,
        min_value=0.5,
        help_text="Confidence (1 - adjusted p) the leading variant needs to win; at least 0.5 and below 1.",
    )
    min_sample = strict.IntegerField(
        default=stats.DEFAULT_MIN_SAMPLE,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Trials (the metric's denominator) every variant needs before a winner is declared.",
    )


class VariantEvaluationSerializer(serializers.Serializer):
    id = strict.CharField()
    name = strict.CharField()
    is_control = strict.BooleanField()
    successes = strict.IntegerField(help_text="The metric's numerator (e.g. conversions).")
    trials = strict.IntegerField(help_text="The metric's denominator (e.g. impressions).")
    rate = strict.FloatField(allow_null=True, help_text="successes / trials; null without trials.")
    rate_ci_low = strict.FloatField(allow_null=True, help_text="95% Wilson interval, lower end.")
    rate_ci_high = strict.FloatField(allow_null=True, help_text="95% Wilson interval, upper end.")
    z = strict.FloatField(allow_null=True, help_text="z statistic against the control (pooled SE).")
    p_value = strict.FloatField(allow_null=True, help_text="Two-sided p-value against the control.")
    adjusted_p_value = strict.FloatField(
        allow_null=True, help_text="Holm–Bonferroni adjusted p-value (equal to p_value with one challenger)."
    )
    confidence = strict.FloatField(allow_null=True, help_text="1 - adjusted p; null for the control.")
    lift = strict.FloatField(
        allow_null=True, help_text="Relative lift over the control (0.1 = +10%); null when the control's rate is 0."
    )
    lift_ci_low = strict.FloatField(
        allow_null=True, help_text="95% interval of the lift (delta method on the log rate ratio), lower end."
    )
    lift_ci_high = strict.FloatField(allow_null=True, help_text="95% interval of the lift, upper end.")
    probability_best = strict.FloatField(help_text="Posterior probability of having the highest rate.")
    expected_loss = strict.FloatField(help_text="Expected rate given up by choosing this variant.")
    sample_reached = strict.BooleanField(help_text="Whether trials >= min_sample.")


class ExperimentEvaluationSerializer(serializers.Serializer):
    """Output of ``POST experiments/{id}/evaluate/``."""

    experiment = strict.UUIDField()
    evaluated_at = serializers.DateTimeField()
    applied = strict.BooleanField(help_text="Whether the result was stored on the experiment.")
    status = strict.CharField(help_text="The experiment's status after the call.")
    winner_variant_id = strict.CharField(allow_null=True, help_text="The experiment's recorded winner.")
    winner_selected_at = serializers.DateTimeField(allow_null=True)
    metric = strict.CharField()
    metric_label = strict.CharField()
    successes_field = strict.CharField()
    trials_field = strict.CharField()
    control = strict.CharField(help_text="Id of the control variant.")
    threshold = strict.FloatField()
    min_sample = strict.IntegerField()
    winner = strict.CharField(allow_null=True, help_text="The winning variant's id, or null: no winner yet.")
    decided = strict.BooleanField()
    confidence = strict.FloatField(allow_null=True, help_text="The leading variant's confidence.")
    reason = strict.CharField(help_text="Why there is, or is not yet, a winner.")
    variants = VariantEvaluationSerializer(many=True)
    methods = serializers.DictField(child=strict.CharField(), help_text="The statistical methods used.")


class CampaignPerformanceQuerySerializer(Serializer):
    """Query of ``GET campaigns/{id}/performance/``: ``from`` and ``to`` (inclusive dates, both optional)."""

    to = serializers.DateField(
        required=False,
        help_text=(
            "Last day (inclusive); default: the campaign's end or today. Not before `from`, and the range covers "
            f"at most {MAX_RANGE_DAYS} days (a 400 otherwise)."
        ),
    )

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields["from"] = serializers.DateField(
            required=False, help_text="First day (inclusive); default: the campaign's start."
        )
        return fields


class CampaignDailyConversionsSerializer(serializers.Serializer):
    date = serializers.DateField()
    conversions = strict.IntegerField()
    value = strict.DecimalField(max_digits=14, decimal_places=2)


class CampaignBudgetSerializer(serializers.Serializer):
    budget = strict.DecimalField(max_digits=10, decimal_places=2)
    daily_budget = strict.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    spend = strict.DecimalField(max_digits=10, decimal_places=2)
    remaining = strict.DecimalField(max_digits=11, decimal_places=2, help_text="Negative when overspent.")
    budget_used = strict.FloatField(allow_null=True, help_text="spend / budget.")
    days_running = strict.IntegerField(
        allow_null=True, help_text="Days from the start to the end date or today, inclusive."
    )
    average_daily_spend = strict.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    daily_budget_used = strict.FloatField(allow_null=True, help_text="average_daily_spend / daily_budget.")


class CampaignPerformanceSerializer(serializers.Serializer):
    """Output of ``GET campaigns/{id}/performance/``."""

    campaign = strict.UUIDField()
    currency = strict.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    days = strict.IntegerField()
    spend = strict.DecimalField(max_digits=10, decimal_places=2, help_text="The campaign's total spend.")
    impressions = strict.IntegerField()
    clicks = strict.IntegerField()
    conversions = strict.IntegerField(help_text="The campaign's conversion counter (from the ad platform).")
    ctr = strict.FloatField(allow_null=True, help_text="clicks / impressions.")
    cpc = strict.DecimalField(max_digits=16, decimal_places=4, allow_null=True, help_text="spend / clicks.")
    cpm = strict.DecimalField(max_digits=16, decimal_places=4, allow_null=True, help_text="1000 × spend / impressions.")
    cpa = strict.DecimalField(max_digits=16, decimal_places=4, allow_null=True, help_text="spend / conversions.")
    roas = strict.DecimalField(
        max_digits=16, decimal_places=4, allow_null=True, help_text="Recorded conversion value / spend."
    )
    conversion_count = strict.IntegerField(help_text="Conversions recorded for the campaign, all time.")
    conversion_value = strict.DecimalField(max_digits=14, decimal_places=2)
    period_conversion_count = strict.IntegerField(help_text="Recorded conversions within the range.")
    period_conversion_value = strict.DecimalField(max_digits=14, decimal_places=2)
    budget = CampaignBudgetSerializer()
    daily = CampaignDailyConversionsSerializer(many=True, help_text="Every day of the range, zeros included.")
    undefined = serializers.DictField(
        child=strict.CharField(), help_text="For each figure that is null: why (e.g. no impressions yet)."
    )
