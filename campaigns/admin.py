"""Staff console for campaigns, experiments and conversions.

Campaign performance (CTR, CPC, CPA, ROAS, spend against budget) and each experiment's leading
variant are computed in the list query. Status changes and winners go through ``campaigns.services``.
An experiment's variants are edited as rows (``campaigns.admin_variants``); its page states one result
and has "Evaluate" and "Select winner" buttons, the list actions run on that row alone.
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from campaigns import (
    admin_dashboard,  # noqa: F401  (registers the home page's experiments panel)
    stats,
)
from campaigns.admin_variants import ExperimentAdminForm
from campaigns.api.serializers import CampaignSerializer, ConversionSerializer, ExperimentSerializer
from campaigns.charts import (
    campaign_performance_chart,
    experiment_evaluation_chart,
    experiment_result,
    live_evaluation,
    select_winner_initial,
    stored_parameters,
)
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, Conversion, Experiment
from campaigns.resources import (
    CampaignImportResource,
    CampaignResource,
    ConversionImportResource,
    ConversionResource,
)
from campaigns.services import (
    CAMPAIGN_TRANSITIONS,
    METRIC_FIELDS,
    campaign_change_status,
    experiment_evaluate,
    experiment_select_winner,
)
from gateway.admin.actions import form_action, object_action_urls, status_change_action
from gateway.admin.base import BaseAdmin, SoftDeleteAdmin
from gateway.admin.filters import id_filter, owner_filter, value_filter
from gateway.admin.formatting import compact, compact_number, fixed, percent, transitions_help
from gateway.admin.inlines import ReadOnlyLatestInline
from gateway.admin.links import admin_link, owner_link
from gateway.admin.transfer import TransferAdminMixin
from media.models import Clip


class CampaignStatusForm(forms.Form):
    status = forms.ChoiceField(choices=CampaignStatus.choices, help_text=transitions_help(CAMPAIGN_TRANSITIONS))


class EvaluateForm(forms.Form):
    metric = forms.ChoiceField(
        choices=[(name, label) for name, (_, _, label) in stats.METRICS.items()], initial=stats.DEFAULT_METRIC
    )
    threshold = forms.FloatField(
        min_value=0.5, max_value=0.999, initial=stats.DEFAULT_THRESHOLD, help_text="Confidence a winner needs."
    )
    min_sample = forms.IntegerField(
        min_value=0, initial=stats.DEFAULT_MIN_SAMPLE, help_text="Trials every variant needs before a winner."
    )
    record = forms.BooleanField(
        required=False,
        initial=True,
        label="Record the result",
        help_text="Store the statistics in metrics and, when significant, the winner (the experiment completes).",
    )


class SelectWinnerForm(forms.Form):
    variant_id = forms.ChoiceField(label="Winner")
    confidence = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="Optional, between 0 and 1 (e.g. 0.95)."
    )

    def __init__(self, *args, variants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["variant_id"].choices = [
            (variant.get("id"), f"{variant.get('id')} — {variant.get('name', '')}")
            for variant in variants
            if isinstance(variant, dict) and variant.get("id")
        ]


def winner_form_kwargs(queryset) -> dict:
    """The winner form offers the variants of the one selected experiment (none when the selection is not one
    row), the evaluated winner and its confidence chosen (``select_winner_initial``)."""
    selected = list(queryset[:2])
    if len(selected) != 1:
        return {"variants": ()}
    return {"variants": selected[0].variants, "initial": select_winner_initial(selected[0])}


def evaluate_form_kwargs(queryset) -> dict:
    """The evaluation form starts from the parameters of the one selected experiment's last applied evaluation."""
    selected = list(queryset[:2])
    return {"initial": stored_parameters(selected[0])} if len(selected) == 1 else {}


class ExperimentInline(ReadOnlyLatestInline):
    model = Experiment
    fields = (
        "short_id",
        "name",
        "status",
        "variants_count",
        "winner_variant_id",
        "start_date",
        "end_date",
        "deleted_marker",
    )
    all_rows_param = "campaign"

    @admin.display(description="variants")
    def variants_count(self, obj):
        return len(obj.variants) if isinstance(obj.variants, list) else "–"


class ConversionInline(ReadOnlyLatestInline):
    model = Conversion
    fields = ("short_id", "external_id", "source", "value", "currency", "clip", "attributed_ad_id", "timestamp")
    all_rows_param = "campaign"
    verbose_name_plural = "latest conversions"

    @admin.display(description="attributed clip")
    def clip(self, obj):
        return admin_link(Clip, obj.attributed_clip_id)


@admin.register(Campaign)
class CampaignAdmin(TransferAdminMixin, SoftDeleteAdmin):
    export_resource_class = CampaignResource
    import_resource_class = CampaignImportResource
    api_serializer = CampaignSerializer
    list_display = (
        "short_id",
        "name",
        "owner",
        "status",
        "spend_vs_budget",
        "impressions",
        "clicks",
        "conversions",
        "ctr",
        "cpc",
        "cpa",
        "roas",
    )
    list_display_links = ("short_id", "name")
    list_filter = ("status", "objective", owner_filter(), "start_date", "end_date", "created_at")
    list_select_related = ("user",)
    list_defer = (
        "description",
        "target_audience",
        "target_locations",
        "target_age_range",
        "metadata",
        "user__settings",
    )
    search_fields = ("name", "=meta_campaign_id", "=user__email")
    global_search_fields = ("name", "=meta_campaign_id")
    uuid_search_fields = ("pk", "user_id")
    search_help_text = (
        "A name, the exact Meta campaign id or owner email, or an id (campaign or owner, full or first 8 characters)."
    )
    date_hierarchy = "created_at"
    autocomplete_fields = ("user",)
    readonly_fields = ("owner", "ctr", "cpc", "cpa", "roas", "revenue_display", "spend_vs_budget", "performance_chart")
    # Totals only move through the metrics service (atomic increments from the platforms), never a form.
    change_readonly_fields = ("status", *METRIC_FIELDS.values())
    # The computed figures exist once there is a row to compute them from.
    change_only_fields = readonly_fields
    fieldsets = (
        ("Campaign", {"fields": ("user", "owner", "name", "description", "objective", "status")}),
        ("Budget and schedule", {"fields": ("budget", "daily_budget", "currency", "start_date", "end_date")}),
        ("Meta", {"fields": ("meta_campaign_id", "meta_ad_set_id", "meta_account_id")}),
        ("Targeting", {"fields": ("target_audience", "target_locations", "target_age_range")}),
        (
            "Totals",
            {
                "fields": (
                    "total_spend",
                    "total_impressions",
                    "total_clicks",
                    "total_conversions",
                    "spend_vs_budget",
                    "revenue_display",
                    "ctr",
                    "cpc",
                    "cpa",
                    "roas",
                )
            },
        ),
        ("Daily performance", {"fields": ("performance_chart",)}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at", "deleted_at")}),
    )
    inlines = (ExperimentInline, ConversionInline)
    actions = ("change_status", "soft_delete_selected", "restore_selected")

    def get_queryset(self, request):
        # Revenue, CTR, CPC, CPA, ROAS and budget use per row, for the columns and their sorting.
        return super().get_queryset(request).with_kpis()

    @admin.display(description="owner", ordering="user__email")
    def owner(self, obj):
        return owner_link(obj.user_id, obj.user.email)

    @admin.display(description="spend / budget", ordering="budget_used")
    def spend_vs_budget(self, obj):
        """Compact figures ("1.23M / 5M USD 25%"), the exact ones in the title; over budget in red."""
        used = getattr(obj, "budget_used", None)
        exact = f"{obj.total_spend:,.2f} / {obj.budget:,.2f} {obj.currency}"
        text = f"{compact_number(obj.total_spend)} / {compact_number(obj.budget)} {obj.currency}"
        share = format_html(
            ' <span class="{}">{}</span>', "gv-deleted" if used is not None and used > 1 else "", percent(used, 0)
        )
        return format_html('<span class="gv-nowrap" title="{}">{}{}</span>', exact, text, share if used else "")

    @admin.display(description="impr.", ordering="total_impressions")
    def impressions(self, obj):
        return compact(obj.total_impressions)

    @admin.display(description="clicks", ordering="total_clicks")
    def clicks(self, obj):
        return compact(obj.total_clicks)

    @admin.display(description="conv.", ordering="total_conversions")
    def conversions(self, obj):
        return compact(obj.total_conversions)

    @admin.display(description="revenue")
    def revenue_display(self, obj):
        return f"{obj.revenue:,.2f} {obj.currency}"

    @admin.display(description="CTR", ordering="ctr_value")
    def ctr(self, obj):
        return percent(obj.ctr_value, 2)

    @admin.display(description="CPC", ordering="cpc_value")
    def cpc(self, obj):
        return fixed(obj.cpc_value, 2)

    @admin.display(description="CPA", ordering="cpa_value")
    def cpa(self, obj):
        return fixed(obj.cpa_value, 2)

    # Sorting by ROAS sums the conversions of every campaign in the list (a subquery per campaign, on the
    # (campaign, timestamp) index): filter a big list first.
    @admin.display(description="ROAS", ordering="roas_value")
    def roas(self, obj):
        return fixed(obj.roas_value, 2)

    @admin.display(description="conversions per day")
    def performance_chart(self, obj):
        return campaign_performance_chart(obj)

    change_status = status_change_action(
        form_class=CampaignStatusForm,
        apply=lambda campaign, data: campaign_change_status(campaign=campaign, status=data["status"]),
    )


@admin.register(Experiment)
class ExperimentAdmin(SoftDeleteAdmin):
    form = ExperimentAdminForm
    # The evaluate and select-winner buttons above the form (object_action_urls).
    change_form_template = "admin/campaigns/experiment/change_form.html"
    api_serializer = ExperimentSerializer
    list_display = (
        "short_id",
        "name",
        "campaign_link",
        "status",
        "variant_count",
        "leader_display",
        "winner",
        "confidence",
        "auto_apply",
        "created_at",
    )
    list_display_links = ("short_id", "name")
    list_filter = (
        "status",
        "auto_apply",
        ("winner_variant_id", admin.EmptyFieldListFilter),
        id_filter("campaign", "campaign"),
        owner_filter("campaign__user"),
        "start_date",
        "created_at",
    )
    list_select_related = ("campaign",)
    list_defer = (
        "metrics",
        "metadata",
        "description",
        "campaign__description",
        "campaign__target_audience",
        "campaign__target_locations",
        "campaign__target_age_range",
        "campaign__metadata",
    )
    search_fields = ("name",)
    global_search_fields = ("name",)
    uuid_search_fields = ("pk", "campaign_id")
    search_help_text = "A name, or an id (experiment or campaign, full or first 8 characters)."
    date_hierarchy = "created_at"
    autocomplete_fields = ("campaign",)
    readonly_fields = ("variant_table", "winner_variant_id", "winner_selected_at", "result", "evaluation_chart")
    change_only_fields = readonly_fields
    fieldsets = (
        (
            "Experiment",
            {"fields": ("campaign", "name", "description", "status", "start_date", "end_date", "auto_apply")},
        ),
        (
            "Variants",
            {
                "fields": ("variants", "variant_table"),
                "description": "One row per variant, ids unique. Blank rows are left out; tick “Delete” to remove "
                "a variant. Other keys a variant has (e.g. control) are kept.",
            },
        ),
        ("Result", {"fields": ("result", "winner_variant_id", "winner_selected_at", "confidence", "metrics")}),
        ("Evaluation", {"fields": ("evaluation_chart",)}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at", "deleted_at")}),
    )
    actions = ("evaluate", "select_winner", "soft_delete_selected", "restore_selected")

    def get_queryset(self, request):
        return super().get_queryset(request).with_leader()

    @admin.display(description="campaign", ordering="campaign__name")
    def campaign_link(self, obj):
        return admin_link(Campaign, obj.campaign_id, obj.campaign.name)

    @admin.display(description="winner", ordering="winner_variant_id")
    def winner(self, obj):
        return obj.winner_variant_id or "–"

    @admin.display(description="variants", ordering="variants_length")
    def variant_count(self, obj):
        return "–" if obj.variants_length is None else obj.variants_length

    @admin.display(description="leader (conv. rate)", ordering="leader__rate")
    def leader_display(self, obj):
        leader = getattr(obj, "leader", None)
        if not leader:
            return "–"
        return f"{leader.get('id')} ({percent(float(leader['rate']), 2)})"

    @admin.display(description="variant summary")
    def variant_table(self, obj):
        variants = [variant for variant in obj.variants if isinstance(variant, dict)] if obj.variants else []
        if not variants:
            return "–"

        def rate(variant):
            impressions, conversions = variant.get("impressions"), variant.get("conversions")
            if isinstance(impressions, int | float) and isinstance(conversions, int | float) and impressions > 0:
                return percent(conversions / impressions, 2)
            return "–"

        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    variant.get("id"),
                    variant.get("name", ""),
                    variant.get("impressions", "–"),
                    variant.get("clicks", "–"),
                    variant.get("conversions", "–"),
                    rate(variant),
                    "winner" if variant.get("id") == obj.winner_variant_id else "",
                )
                for variant in variants
            ),
        )
        return format_html(
            "<table><thead><tr><th>id</th><th>name</th><th>impressions</th><th>clicks</th><th>conversions</th>"
            "<th>conversion rate</th><th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="result")
    def result(self, obj):
        try:
            evaluation = live_evaluation(obj)
        except stats.EvaluationError:
            evaluation = None
        return experiment_result(obj, evaluation)

    @admin.display(description="variants compared")
    def evaluation_chart(self, obj):
        return experiment_evaluation_chart(obj)

    def get_urls(self):
        return [*object_action_urls(self, "evaluate", "select_winner"), *super().get_urls()]

    evaluate = form_action(
        action="evaluate",
        description="Evaluate selected experiments",
        form_class=EvaluateForm,
        form_kwargs=evaluate_form_kwargs,
        title="Evaluate experiments",
        apply=lambda experiment, data: experiment_evaluate(
            experiment=experiment,
            metric=data["metric"],
            threshold=data["threshold"],
            min_sample=data["min_sample"],
            apply=data["record"],
        ),
        describe=lambda experiment, outcome, data: f"“{experiment}”: {outcome['reason']}",
        submit_label="Evaluate",
    )

    select_winner = form_action(
        action="select_winner",
        description="Select the winner of the selected experiment",
        form_class=SelectWinnerForm,
        form_kwargs=winner_form_kwargs,
        title="Select the winner",
        apply=lambda experiment, data: experiment_select_winner(
            experiment=experiment, variant_id=data["variant_id"], confidence=data["confidence"]
        ),
        describe=lambda experiment, decided, data: f"“{experiment}”: {decided.winner_variant_id} is the winner.",
        submit_label="Select the winner",
        single=True,
    )


@admin.register(Conversion)
class ConversionAdmin(TransferAdminMixin, BaseAdmin):
    export_resource_class = ConversionResource
    import_resource_class = ConversionImportResource
    api_serializer = ConversionSerializer
    list_display = (
        "short_id",
        "external_id",
        "campaign_link",
        "source",
        "amount",
        "clip_link",
        "timestamp",
    )
    list_display_links = ("short_id", "external_id")
    list_filter = (
        "source",
        id_filter("campaign", "campaign"),
        id_filter("attributed_clip", "attributed clip", parameter_name="clip"),
        owner_filter("campaign__user"),
        value_filter("currency", "currency"),
        "timestamp",
    )
    list_select_related = ("campaign",)
    list_defer = (
        "metadata",
        "campaign__description",
        "campaign__target_audience",
        "campaign__target_locations",
        "campaign__target_age_range",
        "campaign__metadata",
    )
    search_fields = ("=external_id",)
    global_search_fields = ("=external_id",)
    uuid_search_fields = ("pk", "campaign_id", "attributed_clip_id")
    search_help_text = "The exact external id, or an id (conversion, campaign or clip; full or first 8 characters)."
    date_hierarchy = "timestamp"
    autocomplete_fields = ("campaign", "attributed_clip")
    fieldsets = (
        ("Conversion", {"fields": ("campaign", "source", "external_id", "value", "currency", "timestamp")}),
        ("Attribution", {"fields": ("attributed_clip", "attributed_ad_id")}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at")}),
    )

    @admin.display(description="campaign", ordering="campaign__name")
    def campaign_link(self, obj):
        if obj.campaign_id is None:
            return "–"
        return admin_link(Campaign, obj.campaign_id, obj.campaign.name)

    @admin.display(description="value", ordering="value")
    def amount(self, obj):
        return format_html('<span class="gv-nowrap">{}</span>', f"{obj.value:,.2f} {obj.currency}")

    @admin.display(description="attributed clip", ordering="attributed_clip_id")
    def clip_link(self, obj):
        return admin_link(Clip, obj.attributed_clip_id)
