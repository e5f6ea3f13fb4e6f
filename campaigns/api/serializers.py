"""Serializers of campaigns, experiments and conversions."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, Conversion, Experiment, dropped_winner, validate_variants
from campaigns.services import METRIC_FIELDS, campaign_update
from gateway.api import strict
from gateway.api.fields import (
    CurrencyField,
    JSONListField,
    JSONObjectField,
    Range,
    ScopedPrimaryKeyRelatedField,
    UniqueOrNullValidator,
)
from gateway.api.permissions import is_admin
from gateway.api.representation import NestedRowsSerializer
from gateway.api.serializers import ModelSerializer, Serializer
from gateway.api.validation import IngestItemsField, existing_pks, ingest_error_serializer, validate_batch
from gateway.db.compiled import CompiledQuery
from media.models import Clip
from users.api.serializers import OwnerField, UserSummarySerializer

NON_NEGATIVE_DECIMAL = {"min_value": Decimal("0")}
MAX_BIGINT = 2**63 - 1
SCHEDULE = Range(low="start_date", high="end_date", message="Must not be before start_date.")


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string"}},
            "additionalProperties": True,
        },
    }
)
class VariantsField(JSONListField):
    """An experiment's variants; ``campaigns.models.validate_variants`` checks them (ids unique too)."""


class ExperimentSerializer(ModelSerializer):
    """An A/B experiment. ``campaign`` is set at creation only; the winner is chosen with ``select-winner``, not
    written directly."""

    campaign = ScopedPrimaryKeyRelatedField(Campaign)
    variants = VariantsField(
        help_text='A list of variants, each an object with a unique string "id", a "name" and counts '
        "such as impressions, clicks and conversions."
    )
    metrics = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    ranges = (SCHEDULE,)

    class Meta:
        model = Experiment
        fields = [
            "id",
            "campaign",
            "name",
            "description",
            "variants",
            "status",
            "winner_variant_id",
            "winner_selected_at",
            "metrics",
            "confidence",
            "start_date",
            "end_date",
            "metadata",
            "auto_apply",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "winner_variant_id", "winner_selected_at", "created_at", "updated_at", "deleted_at"]
        create_only_fields = ["campaign"]
        extra_kwargs = {"confidence": {"min_value": 0.0, "max_value": 1.0}}

    def validate_variants(self, value):
        errors = validate_variants(value)
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def check_row(self, errors, attrs):
        dropped = "variants" in attrs and dropped_winner(
            getattr(self.instance, "winner_variant_id", None), attrs["variants"]
        )
        if dropped:
            errors.setdefault("variants", []).append(dropped)


class CampaignSerializer(ModelSerializer):
    """A campaign. Totals change through ``metrics/``; status changes follow the allowed transitions."""

    user = OwnerField(required=False)
    currency = CurrencyField(required=False, help_text="ISO 4217 code, e.g. USD.")
    meta_campaign_id = strict.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        validators=[
            UniqueOrNullValidator(
                queryset=Campaign.all_objects.all(), message="A campaign with this meta_campaign_id already exists."
            )
        ],
    )
    target_audience = JSONObjectField(required=False)
    target_locations = JSONListField(required=False)
    target_age_range = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    ranges = (
        Range(low="daily_budget", high="budget", field="daily_budget", message="Must not exceed the budget."),
        SCHEDULE,
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "user",
            "name",
            "description",
            "objective",
            "budget",
            "daily_budget",
            "currency",
            "status",
            "meta_campaign_id",
            "meta_ad_set_id",
            "meta_account_id",
            "target_audience",
            "target_locations",
            "target_age_range",
            "start_date",
            "end_date",
            "total_spend",
            "total_impressions",
            "total_clicks",
            "total_conversions",
            "metadata",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = [
            "id",
            "total_spend",
            "total_impressions",
            "total_clicks",
            "total_conversions",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        extra_kwargs = {"budget": NON_NEGATIVE_DECIMAL, "daily_budget": NON_NEGATIVE_DECIMAL}

    def update(self, instance, validated_data):
        return campaign_update(campaign=instance, **validated_data)


class ConversionTotalSerializer(serializers.Serializer):
    currency = strict.CharField()
    count = strict.IntegerField()
    value = strict.DecimalField(max_digits=14, decimal_places=2)
    last_timestamp = serializers.DateTimeField()


class CampaignDetailSerializer(CampaignSerializer):
    """A campaign with its owner's summary, its (live) experiments and its conversion totals per currency."""

    user_summary = UserSummarySerializer(source="user", read_only=True)
    # Read as rows (one values() query, no model instances), the live ones oldest first.
    experiments = NestedRowsSerializer(child=ExperimentSerializer(), rows=lambda pk: Experiment.objects.of_campaign(pk))
    conversion_totals = serializers.SerializerMethodField(
        help_text="Conversions attributed to the campaign: count, summed value and latest timestamp, per currency."
    )

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "user_summary", "experiments", "conversion_totals"]

    @extend_schema_field(ConversionTotalSerializer(many=True))
    def get_conversion_totals(self, campaign):
        return ConversionTotalSerializer(CONVERSION_TOTALS(campaign=campaign.pk), many=True).data


# A campaign's conversion totals, by SQL compiled once (gateway/db/compiled.py): only the campaign changes.
CONVERSION_TOTALS = CompiledQuery(lambda campaign: Conversion.objects.filter(campaign=campaign).totals_by_currency())


class ConversionSerializer(ModelSerializer):
    """A conversion. Non-ADMIN users must attribute it to one of their campaigns."""

    campaign = ScopedPrimaryKeyRelatedField(Campaign, required=False, allow_null=True)
    attributed_clip = ScopedPrimaryKeyRelatedField(Clip, required=False, allow_null=True)
    external_id = strict.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        validators=[
            UniqueOrNullValidator(
                queryset=Conversion.objects.all(), message="A conversion with this external_id already exists."
            )
        ],
    )
    currency = CurrencyField(required=False, help_text="ISO 4217 code, e.g. USD.")
    metadata = JSONObjectField(required=False)

    class Meta:
        model = Conversion
        fields = [
            "id",
            "campaign",
            "source",
            "external_id",
            "value",
            "currency",
            "attributed_clip",
            "attributed_ad_id",
            "timestamp",
            "metadata",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"value": NON_NEGATIVE_DECIMAL}

    def validate(self, attrs):
        request = self.context.get("request")
        campaign_given = "campaign" in attrs or self.instance is None
        campaign = attrs.get("campaign", getattr(self.instance, "campaign", None))
        if campaign_given and campaign is None and not is_admin(getattr(request, "user", None)):
            raise serializers.ValidationError({"campaign": ["This field is required."]})
        return attrs


class ConversionIngestItemSerializer(ConversionSerializer):
    """One conversion of an ingest batch: related ids are checked for the whole batch at once."""

    campaign = strict.UUIDField(required=False, allow_null=True)
    attributed_clip = strict.UUIDField(required=False, allow_null=True)
    external_id = strict.CharField(
        max_length=255, required=False, allow_null=True, help_text="The platform's id; a repeat is a duplicate."
    )

    class Meta(ConversionSerializer.Meta):
        fields = [name for name in ConversionSerializer.Meta.fields if name not in ("id", "created_at", "updated_at")]
        read_only_fields = []

    def validate(self, attrs):
        return attrs


class ConversionIngestSerializer(Serializer):
    """Input of ``POST conversions/ingest/``: up to 1,000 conversions."""

    conversions = IngestItemsField(item_serializer=ConversionIngestItemSerializer)

    def validated_rows(self) -> tuple[list[dict], list[dict]]:
        """Split the batch into rows to insert and ``{"index", "errors"}`` for the items that are invalid.

        Each item is validated like a created conversion, except that a repeated ``external_id`` is a
        duplicate (counted, not an error). Campaign and clip ids are looked up once for the whole
        batch among the rows the caller may use; a non-ADMIN caller must name a campaign.
        """
        context = self.context
        admin = is_admin(getattr(context.get("request"), "user", None))
        items = self.validated_data["conversions"]
        candidates, errors = validate_batch(items, ConversionIngestItemSerializer(context=context))
        if not admin:
            # An item refused for other reasons is told at once that it lacks a campaign, too.
            for error in errors:
                item, item_errors = items[error["index"]], error["errors"]
                if isinstance(item, dict) and item.get("campaign") is None and "campaign" not in item_errors:
                    item_errors["campaign"] = ["This field is required."]

        related = ConversionSerializer(context=context).fields  # their querysets hold the rows the caller may use
        campaigns, clips = (
            existing_pks(related[name].get_queryset(), (data.get(name) for _, data in candidates))
            for name in ("campaign", "attributed_clip")
        )
        rows = []
        for index, data in candidates:
            item_errors = {}
            campaign_id = data.pop("campaign", None)
            clip_id = data.pop("attributed_clip", None)
            if campaign_id is None and not admin:
                item_errors["campaign"] = ["This field is required."]
            elif campaign_id is not None and campaign_id not in campaigns:
                item_errors["campaign"] = [f"No campaign with id {campaign_id} exists or you may not use it."]
            if clip_id is not None and clip_id not in clips:
                item_errors["attributed_clip"] = [f"No clip with id {clip_id} exists or you may not use it."]
            if item_errors:
                errors.append({"index": index, "errors": item_errors})
                continue
            rows.append({**data, "campaign_id": campaign_id, "attributed_clip_id": clip_id})
        errors.sort(key=lambda error: error["index"])
        return rows, errors


IngestErrorSerializer = ingest_error_serializer("IngestErrorSerializer", "conversions")


class ConversionIngestResultSerializer(serializers.Serializer):
    created = strict.IntegerField()
    duplicates = strict.IntegerField()
    errors = IngestErrorSerializer(many=True)


class CampaignMetricsSerializer(Serializer):
    """Input of ``POST campaigns/{id}/metrics/``: totals to set, or with ``increment`` to add.

    The totals take the names the campaign is read with (``total_spend``...); the short names (``spend``...)
    are aliases, kept for the clients that used them. The service takes the short names.
    """

    total_spend = strict.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False)
    total_impressions = strict.IntegerField(min_value=0, max_value=MAX_BIGINT, required=False)
    total_clicks = strict.IntegerField(min_value=0, max_value=MAX_BIGINT, required=False)
    total_conversions = strict.IntegerField(min_value=0, max_value=MAX_BIGINT, required=False)
    spend = strict.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False, help_text="Alias of `total_spend`."
    )
    impressions = strict.IntegerField(
        min_value=0, max_value=MAX_BIGINT, required=False, help_text="Alias of `total_impressions`."
    )
    clicks = strict.IntegerField(
        min_value=0, max_value=MAX_BIGINT, required=False, help_text="Alias of `total_clicks`."
    )
    conversions = strict.IntegerField(
        min_value=0, max_value=MAX_BIGINT, required=False, help_text="Alias of `total_conversions`."
    )
    increment = strict.BooleanField(default=False, help_text="Add to the totals instead of replacing them.")

    def validate(self, attrs):
        metrics, errors = {}, {}
        for alias, name in METRIC_FIELDS.items():
            if name in attrs and alias in attrs:
                errors[alias] = [f"Give {name} or its alias {alias}, not both."]
            elif name in attrs or alias in attrs:
                metrics[alias] = attrs[name] if name in attrs else attrs[alias]
        if errors:
            raise serializers.ValidationError(errors)
        if not metrics:
            names = ", ".join(METRIC_FIELDS.values())
            raise serializers.ValidationError({"non_field_errors": [f"Give at least one of {names}."]})
        return {**metrics, "increment": attrs["increment"]}


class CampaignStatusSerializer(Serializer):
    """Input of ``POST campaigns/{id}/status/``."""

    status = serializers.ChoiceField(choices=CampaignStatus.choices)


class ExperimentWinnerSerializer(Serializer):
    """Input of ``POST experiments/{id}/select-winner/``."""

    variant_id = strict.CharField(max_length=100)
    confidence = strict.FloatField(min_value=0.0, max_value=1.0, required=False, allow_null=True)
