"""Input and output of the campaign analytics endpoints: experiment evaluation and campaign performance."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import stats


@extend_schema_field({"type": "number", "format": "double", "minimum": 0.5, "maximum": 1, "exclusiveMaximum": True})
class ThresholdField(serializers.FloatField):
    """A confidence threshold: at least 0.5 and below 1 (the schema says so; DRF has no exclusive maximum)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value >= 1:
            raise serializers.ValidationError("Must be below 1.")
        return value


class ExperimentEvaluateSerializer(serializers.Serializer):
    """Input of ``POST experiments/{id}/evaluate/``; every field is optional."""

    metric = serializers.ChoiceField(
        choices=sorted(stats.METRICS),
        default=stats.DEFAULT_METRIC,
        help_text="conversion_rate: conversions / impressions; ctr: clicks / impressions; cvr: conversions / clicks.",
    )
    apply = serializers.BooleanField(
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
    min_sample = serializers.IntegerField(
        default=stats.DEFAULT_MIN_SAMPLE,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Trials (the metric's denominator) every variant needs before a winner is declared.",
    )


class VariantEvaluationSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    is_control = serializers.BooleanField()
    successes = serializers.IntegerField(help_text="The metric's numerator (e.g. conversions).")
    trials = serializers.IntegerField(help_text="The metric's denominator (e.g. impressions).")
    rate = serializers.FloatField(allow_null=True, help_text="successes / trials; null without trials.")
    rate_ci_low = serializers.FloatField(allow_null=True, help_text="95% Wilson interval, lower end.")
    rate_ci_high = serializers.FloatField(allow_null=True, help_text="95% Wilson interval, upper end.")
    z = serializers.FloatField(allow_null=True, help_text="z statistic against the control (pooled SE).")
    p_value = serializers.FloatField(allow_null=True, help_text="Two-sided p-value against the control.")
    adjusted_p_value = serializers.FloatField(
        allow_null=True, help_text="Holm–Bonferroni adjusted p-value (equal to p_value with one challenger)."
    )
    confidence = serializers.FloatField(allow_null=True, help_text="1 - adjusted p; null for the control.")
    lift = serializers.FloatField(
        allow_null=True, help_text="Relative lift over the control (0.1 = +10%); null when the control's rate is 0."
    )
    lift_ci_low = serializers.FloatField(
        allow_null=True, help_text="95% interval of the lift (delta method on the log rate ratio), lower end."
    )
    lift_ci_high = serializers.FloatField(allow_null=True, help_text="95% interval of the lift, upper end.")
    probability_best = serializers.FloatField(help_text="Posterior probability of having the highest rate.")
    expected_loss = serializers.FloatField(help_text="Expected rate given up by choosing this variant.")
    sample_reached = serializers.BooleanField(help_text="Whether trials >= min_sample.")


class ExperimentEvaluationSerializer(serializers.Serializer):
    """Output of ``POST experiments/{id}/evaluate/``."""

    experiment = serializers.UUIDField()
    evaluated_at = serializers.DateTimeField()
    applied = serializers.BooleanField(help_text="Whether the result was stored on the experiment.")
    status = serializers.CharField(help_text="The experiment's status after the call.")
    winner_variant_id = serializers.CharField(allow_null=True, help_text="The experiment's recorded winner.")
    winner_selected_at = serializers.DateTimeField(allow_null=True)
    metric = serializers.CharField()
    metric_label = serializers.CharField()
    successes_field = serializers.CharField()
    trials_field = serializers.CharField()
    control = serializers.CharField(help_text="Id of the control variant.")
    threshold = serializers.FloatField()
    min_sample = serializers.IntegerField()
    winner = serializers.CharField(allow_null=True, help_text="The winning variant's id, or null: no winner yet.")
    decided = serializers.BooleanField()
    confidence = serializers.FloatField(allow_null=True, help_text="The leading variant's confidence.")
    reason = serializers.CharField(help_text="Why there is, or is not yet, a winner.")
    variants = VariantEvaluationSerializer(many=True)
    methods = serializers.DictField(child=serializers.CharField(), help_text="The statistical methods used.")


class CampaignPerformanceQuerySerializer(serializers.Serializer):
    """Query of ``GET campaigns/{id}/performance/``: ``from`` and ``to`` (inclusive dates, both optional)."""

    to = serializers.DateField(required=False, help_text="Last day (inclusive); default: the campaign's end or today.")

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields["from"] = serializers.DateField(
            required=False, help_text="First day (inclusive); default: the campaign's start."
        )
        return fields


class CampaignDailyConversionsSerializer(serializers.Serializer):
    date = serializers.DateField()
    conversions = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)


class CampaignBudgetSerializer(serializers.Serializer):
    budget = serializers.DecimalField(max_digits=10, decimal_places=2)
    daily_budget = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    spend = serializers.DecimalField(max_digits=10, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=11, decimal_places=2, help_text="Negative when overspent.")
    budget_used = serializers.FloatField(allow_null=True, help_text="spend / budget.")
    days_running = serializers.IntegerField(
        allow_null=True, help_text="Days from the start to the end date or today, inclusive."
    )
    average_daily_spend = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    daily_budget_used = serializers.FloatField(allow_null=True, help_text="average_daily_spend / daily_budget.")


class CampaignPerformanceSerializer(serializers.Serializer):
    """Output of ``GET campaigns/{id}/performance/``."""

    campaign = serializers.UUIDField()
    currency = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    days = serializers.IntegerField()
    spend = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="The campaign's total spend.")
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    conversions = serializers.IntegerField(help_text="The campaign's conversion counter (from the ad platform).")
    ctr = serializers.FloatField(allow_null=True, help_text="clicks / impressions.")
    cpc = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True, help_text="spend / clicks.")
    cpm = serializers.DecimalField(
        max_digits=16, decimal_places=4, allow_null=True, help_text="1000 × spend / impressions."
    )
    cpa = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True, help_text="spend / conversions.")
    roas = serializers.DecimalField(
        max_digits=16, decimal_places=4, allow_null=True, help_text="Recorded conversion value / spend."
    )
    conversion_count = serializers.IntegerField(help_text="Conversions recorded for the campaign, all time.")
    conversion_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    period_conversion_count = serializers.IntegerField(help_text="Recorded conversions within the range.")
    period_conversion_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    budget = CampaignBudgetSerializer()
    daily = CampaignDailyConversionsSerializer(many=True, help_text="Every day of the range, zeros included.")
    undefined = serializers.DictField(
        child=serializers.CharField(), help_text="For each figure that is null: why (e.g. no impressions yet)."
    )
