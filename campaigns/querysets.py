from django.db.models import (
    Count,
    DecimalField,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf

from campaigns.choices import ExperimentStatus
from gateway.models import JSONField, OwnedQuerySet, SoftDeleteManager, SoftDeleteQuerySet

# A campaign's key figures, each a ratio of two of its columns (``revenue`` is annotated by
# ``with_kpis``: its conversions' summed value). The one definition the console's columns
# (``with_kpis``) and the API's performance report (``campaigns.analytics``) share.
KPI_RATIOS = {
    "ctr": ("total_clicks", "total_impressions"),
    "cpc": ("total_spend", "total_clicks"),
    "cpa": ("total_spend", "total_conversions"),
    "roas": ("revenue", "total_spend"),
    "budget_used": ("total_spend", "budget"),
}
# The names ``with_kpis`` annotates them under (``budget_used`` is itself).
KPI_ANNOTATIONS = {"ctr": "ctr_value", "cpc": "cpc_value", "cpa": "cpa_value", "roas": "roas_value"}
MONEY_TOTAL = DecimalField(max_digits=16, decimal_places=2)


def float_ratio(numerator: str, denominator: str):
    """``numerator / denominator`` as a float, NULL when the denominator is zero."""
    return Cast(numerator, FloatField()) / NullIf(Cast(denominator, FloatField()), Value(0.0))


class CampaignQuerySet(OwnedQuerySet, SoftDeleteQuerySet):
    owner_path = "user"

    def with_revenue(self):
        """Each campaign with ``revenue``: the summed value of its conversions (0 without any).

        A correlated subquery per row, served by the (campaign, timestamp) index of conversions.
        """
        conversions = self.model._meta.get_field("conversions").related_model.objects
        revenue = (
            conversions.filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(total=Sum("value"))
            .values("total")
        )
        return self.annotate(revenue=Coalesce(Subquery(revenue), Value(0), output_field=MONEY_TOTAL))

    def with_kpis(self):
        """Each campaign with ``revenue`` and its key figures as floats, NULL where the denominator is 0:
        ``ctr_value`` (clicks / impressions), ``cpc_value`` (spend / clicks), ``cpa_value`` (spend /
        conversions), ``roas_value`` (revenue / spend) and ``budget_used`` (spend / budget).

        Computed in the query, so a list can be sorted by them; no query per row.
        """
        return self.with_revenue().annotate(
            **{
                KPI_ANNOTATIONS.get(name, name): float_ratio(numerator, denominator)
                for name, (numerator, denominator) in KPI_RATIOS.items()
            }
        )


class VariantLeader(Func):
    """The variant of an experiment with the best conversion rate (conversions / impressions), from the JSON.

    ``{"id", "name", "rate"}`` of the first best variant, or NULL when no variant has numeric counts
    and impressions. Computed per row in SQL from the row's own ``variants``: no extra query.
    """

    template = (
        "(SELECT jsonb_build_object('id', v -> 'id', 'name', v -> 'name', "
        "'rate', (v ->> 'conversions')::numeric / (v ->> 'impressions')::numeric) "
        "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
        "THEN %(expressions)s ELSE '[]'::jsonb END) WITH ORDINALITY AS variant(v, position) "
        "WHERE jsonb_typeof(v -> 'impressions') = 'number' AND jsonb_typeof(v -> 'conversions') = 'number' "
        "AND (v ->> 'impressions')::numeric > 0 "
        "ORDER BY (v ->> 'conversions')::numeric / (v ->> 'impressions')::numeric DESC, position LIMIT 1)"
    )
    output_field = JSONField()


class VariantCount(Func):
    """How many variants an experiment has (NULL when ``variants`` is not a list)."""

    template = "(CASE WHEN jsonb_typeof(%(expressions)s) = 'array' THEN jsonb_array_length(%(expressions)s) END)"
    output_field = IntegerField()


class ExperimentQuerySet(OwnedQuerySet, SoftDeleteQuerySet):
    owner_path = "campaign__user"

    def of_campaign(self, campaign):
        """The experiments of ``campaign`` in the order its detail lists them: oldest first, then by id."""
        return self.filter(campaign=campaign).order_by("created_at", "id")

    def with_leader(self):
        """Each experiment with ``leader`` (``{"id", "name", "rate"}`` of its best variant by conversion rate,
        or None) and ``variants_length``, computed in the query from the row's ``variants``."""
        return self.annotate(leader=VariantLeader(F("variants")), variants_length=VariantCount(F("variants")))

    def running(self):
        """Live RUNNING experiments (served by the status index)."""
        return self.alive().filter(status=ExperimentStatus.RUNNING)

    def running_leaders(self, *, limit: int = 10):
        """The ``limit`` running experiments closest to a decision (highest recorded confidence, then the
        latest started) with their campaign and leader (``with_leader``).

        The leader is computed for those rows only: they are picked first (a sort of the running rows by
        two columns), then annotated, so the JSON of every running experiment is not read.
        """
        ordering = (F("confidence").desc(nulls_last=True), F("start_date").desc(nulls_last=True), "pk")
        picked = self.running().order_by(*ordering).values("pk")[:limit]
        return (
            self.model.all_objects.filter(pk__in=Subquery(picked))
            .with_leader()
            .select_related("campaign")
            .only("name", "confidence", "start_date", "campaign__name")
            .order_by(*ordering)
        )


class ConversionQuerySet(OwnedQuerySet):
    owner_path = "campaign__user"

    def totals_by_currency(self):
        """One row per currency, in currency order: ``currency``, ``count``, summed ``value`` and
        ``last_timestamp`` of the conversions in this queryset (one GROUP BY query)."""
        return (
            self.order_by()
            .values("currency")
            .annotate(count=Count("id"), value=Sum("value"), last_timestamp=Max("timestamp"))
            .order_by("currency")
        )


CampaignManager = SoftDeleteManager.from_queryset(CampaignQuerySet)
ExperimentManager = SoftDeleteManager.from_queryset(ExperimentQuerySet)
