"""Ad campaigns, their A/B experiments and the conversions ad platforms report."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.lookups import Exact
from django.utils import timezone

from campaigns.choices import CampaignObjective, CampaignStatus, ConversionSource, ExperimentStatus
from campaigns.querysets import (
    CampaignManager,
    CampaignQuerySet,
    ConversionQuerySet,
    ExperimentManager,
    ExperimentQuerySet,
)
from campaigns.stats import VARIANT_SHAPE_ERRORS, variant_entries
from gateway.history import tracked
from gateway.models import BaseModel, JSONField, SoftDeleteModel, substring_search_index

CURRENCY_REGEX = r"^[A-Z]{3}$"

# [{"id": winner_variant_id}]: the variants list contains it exactly when some variant has that id.
WINNER_AS_VARIANT = Func(
    Func(Value("id"), F("winner_variant_id"), function="jsonb_build_object"),
    function="jsonb_build_array",
    output_field=models.JSONField(),
)


@tracked()
class Campaign(SoftDeleteModel):
    """An ad campaign run on an ad platform, with its running totals."""

    soft_delete_children = ("experiments",)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="campaigns",
        verbose_name="user",
        db_index=False,
    )
    name = models.CharField("name", max_length=255)
    description = models.TextField("description", null=True, blank=True)
    objective = models.CharField(
        "objective", max_length=16, choices=CampaignObjective.choices, default=CampaignObjective.CONVERSIONS
    )
    budget = models.DecimalField("budget", max_digits=10, decimal_places=2)
    daily_budget = models.DecimalField("daily budget", max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField("currency", max_length=3, default="USD", help_text="ISO 4217 code, e.g. USD.")
    status = models.CharField("status", max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    meta_campaign_id = models.CharField("Meta campaign id", max_length=100, null=True, blank=True)
    meta_ad_set_id = models.CharField("Meta ad set id", max_length=100, null=True, blank=True)
    meta_account_id = models.CharField("Meta account id", max_length=100, null=True, blank=True)
    target_audience = JSONField("target audience", default=dict, blank=True)
    target_locations = JSONField("target locations", default=list, blank=True)
    target_age_range = JSONField("target age range", default=dict, blank=True)
    start_date = models.DateTimeField("start date", null=True, blank=True)
    end_date = models.DateTimeField("end date", null=True, blank=True)
    total_spend = models.DecimalField("total spend", max_digits=10, decimal_places=2, default=0)
    total_impressions = models.BigIntegerField("total impressions", default=0)
    total_clicks = models.BigIntegerField("total clicks", default=0)
    total_conversions = models.BigIntegerField("total conversions", default=0)
    metadata = JSONField("metadata", default=dict, blank=True)

    objects = CampaignManager()
    all_objects = models.Manager.from_queryset(CampaignQuerySet)()

    class Meta:
        db_table = "campaigns"
        verbose_name = "campaign"
        verbose_name_plural = "campaigns"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["meta_campaign_id"], name="campaigns_campaign_meta_campaign_id_unique"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaigns_campaign_budget_non_negative"),
            models.CheckConstraint(
                condition=Q(daily_budget__gte=0), name="campaigns_campaign_daily_budget_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(daily_budget__lte=F("budget")), name="campaigns_campaign_daily_budget_within_budget"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_REGEX), name="campaigns_campaign_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="campaigns_campaign_end_after_start"
            ),
            models.CheckConstraint(condition=Q(total_spend__gte=0), name="campaigns_campaign_total_spend_non_negative"),
            models.CheckConstraint(
                condition=Q(total_impressions__gte=0), name="campaigns_campaign_total_impressions_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(total_clicks__gte=0), name="campaigns_campaign_total_clicks_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(total_conversions__gte=0), name="campaigns_campaign_total_conversions_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(objective__in=CampaignObjective.values), name="campaigns_campaign_objective_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="campaigns_campaign_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user"], name="campaigns_campaign_user_idx"),
            models.Index(fields=["status"], name="campaigns_campaign_status_idx"),
            models.Index(fields=["meta_campaign_id"], name="campaigns_campaign_meta_id_idx"),
            models.Index(fields=["created_at"], name="campaigns_campaign_created_idx"),
            models.Index(fields=["start_date", "end_date"], name="campaigns_campaign_dates_idx"),
            # The console's search by name (its changelist and the header's global search).
            substring_search_index("name", "campaigns_camp_name_trgm_idx"),
        ]

    def __str__(self):
        return self.name


@tracked()
class Experiment(SoftDeleteModel):
    """An A/B test inside a campaign. ``variants`` is a list of ``{"id", "name", counts...}``."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="experiments", verbose_name="campaign", db_index=False
    )
    name = models.CharField("name", max_length=255)
    description = models.TextField("description", null=True, blank=True)
    variants = JSONField("variants", default=list)
    status = models.CharField("status", max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT)
    winner_variant_id = models.CharField("winner variant id", max_length=100, null=True, blank=True)
    winner_selected_at = models.DateTimeField("winner selected at", null=True, blank=True)
    metrics = JSONField("metrics", default=dict, blank=True)
    confidence = models.FloatField("confidence", null=True, blank=True)
    start_date = models.DateTimeField("start date", null=True, blank=True)
    end_date = models.DateTimeField("end date", null=True, blank=True)
    metadata = JSONField("metadata", default=dict, blank=True)
    auto_apply = models.BooleanField(
        "apply the winner automatically",
        default=False,
        help_text="The periodic evaluation (every EXPERIMENT_EVALUATION_MINUTES) declares the winner when there is "
        "one; otherwise it only records the statistics.",
    )

    objects = ExperimentManager()
    all_objects = models.Manager.from_queryset(ExperimentQuerySet)()

    class Meta:
        db_table = "experiments"
        verbose_name = "experiment"
        verbose_name_plural = "experiments"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1),
                name="campaigns_experiment_confidence_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExperimentStatus.values), name="campaigns_experiment_status_valid"
            ),
            models.CheckConstraint(
                condition=Exact(Func(F("variants"), function="jsonb_typeof", output_field=models.CharField()), "array"),
                name="campaigns_experiment_variants_is_list",
            ),
            # The winner must name one of the variants: some element of the list has that id.
            models.CheckConstraint(
                condition=Q(winner_variant_id__isnull=True) | Q(variants__contains=WINNER_AS_VARIANT),
                name="campaigns_experiment_winner_is_a_variant",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="campaigns_experiment_end_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign"], name="campaigns_exp_camp_idx"),
            models.Index(fields=["status"], name="campaigns_exp_status_idx"),
            models.Index(fields=["created_at"], name="campaigns_exp_created_idx"),
            substring_search_index("name", "campaigns_exp_name_trgm_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def variant_ids(self) -> list:
        return [variant.get("id") for variant in self.variants if isinstance(variant, dict)]

    def clean(self):
        super().clean()
        errors = validate_variants(self.variants)
        if errors:
            raise ValidationError({"variants": errors})
        if self.winner_variant_id is not None and self.winner_variant_id not in self.variant_ids:
            raise ValidationError(
                {"winner_variant_id": f"Must be one of the variants: {', '.join(map(str, self.variant_ids))}."}
            )


def variant_problems(variants):
    """Each problem of an experiment's variant list as ``(index, field, message)``: not a list (index None),
    an item that is not an object, without a unique non-empty string ``id`` or without a string ``name``.

    ``field`` is the variant's key the message is about (``"id"``, ``"name"``), or None for the whole item.
    The API reports the messages together (``validate_variants``); the console's variant rows each next to
    its row and field.
    """
    if not isinstance(variants, list):
        yield None, None, "Must be a list of variants."
        return
    for index, variant, shape in variant_entries(variants):
        if shape in VARIANT_SHAPE_ERRORS:
            yield index, "id" if shape == "id" else None, VARIANT_SHAPE_ERRORS[shape].format(index=index)
        elif shape == "duplicate":
            yield index, "id", f"Variant id {variant['id']!r} is used twice."
        if shape != "object" and not isinstance(variant.get("name"), str):
            yield index, "name", f"Variant {index} needs a name."


def validate_variants(variants) -> list[str]:
    """Problems with an experiment's variant list: not a list, items without a unique string id or a name."""
    return [message for _, _, message in variant_problems(variants)]


def dropped_winner(winner: str | None, variants: list) -> str | None:
    """The message when a change of ``variants`` drops the experiment's recorded ``winner``, else None."""
    ids = [variant.get("id") for variant in variants if isinstance(variant, dict)]
    if winner is not None and winner not in ids:
        return f"Must keep the winning variant {winner!r}."
    return None


@tracked()
class Conversion(BaseModel):
    """A conversion reported by an ad platform; ``external_id`` makes deliveries idempotent."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversions",
        verbose_name="campaign",
        db_index=False,
    )
    source = models.CharField("source", max_length=16, choices=ConversionSource.choices, default=ConversionSource.META)
    external_id = models.CharField("external id", max_length=255, null=True, blank=True)
    value = models.DecimalField("value", max_digits=10, decimal_places=2, default=0)
    currency = models.CharField("currency", max_length=3, default="USD")
    attributed_clip = models.ForeignKey(
        "media.Clip",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversions",
        verbose_name="attributed clip",
        db_index=False,
    )
    attributed_ad_id = models.CharField("attributed ad id", max_length=255, null=True, blank=True)
    timestamp = models.DateTimeField("timestamp", default=timezone.now)
    metadata = JSONField("metadata", default=dict, blank=True)

    objects = ConversionQuerySet.as_manager()

    class Meta:
        db_table = "conversions"
        verbose_name = "conversion"
        verbose_name_plural = "conversions"
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="campaigns_conversion_external_id_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="campaigns_conversion_value_non_negative"),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_REGEX), name="campaigns_conversion_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ConversionSource.values), name="campaigns_conversion_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign"], name="campaigns_conv_camp_idx"),
            models.Index(fields=["timestamp"], name="campaigns_conv_ts_idx"),
            models.Index(fields=["created_at"], name="campaigns_conv_created_idx"),
            models.Index(fields=["campaign", "timestamp"], name="campaigns_conv_camp_ts_idx"),
            models.Index(fields=["attributed_clip"], name="campaigns_conv_clip_idx"),
        ]

    def __str__(self):
        return self.external_id or str(self.id)
