from django.db.models import Count, DecimalField, FloatField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from gateway.models import OwnedQuerySet, SoftDeleteManager, SoftDeleteQuerySet

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


class ExperimentQuerySet(OwnedQuerySet, SoftDeleteQuerySet):
    owner_path = "campaign__user"


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
