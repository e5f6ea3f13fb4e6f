from decimal import Decimal

import pytest

from campaigns.admin import CampaignAdmin, ExperimentAdmin
from campaigns.choices import CampaignStatus, ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion, Experiment
from gateway.tests.admin_helpers import (
    add_url,
    assert_form_error,
    assert_shows_deleted,
    change_url,
    changelist_url,
    each_model,
    form_errors,
    messages_of,
    post_change_form,
    run_action,
    same_query_count,
)
from media.factories import ClipFactory

pytestmark = pytest.mark.django_db

MODELS = [Campaign, Experiment, Conversion]


@pytest.fixture
def campaign_rows():
    """A live campaign with an experiment and conversions, and a soft-deleted campaign (with its experiment)."""
    campaign = CampaignFactory(
        name="Summer launch",
        meta_campaign_id="meta-123",
        budget=Decimal("1000.00"),
        total_spend=Decimal("250.00"),
        total_impressions=10_000,
        total_clicks=200,
        total_conversions=10,
    )
    experiment = ExperimentFactory(campaign=campaign, name="Headline test")
    conversions = [
        ConversionFactory(campaign=campaign, value=Decimal("100.00"), attributed_clip=ClipFactory()),
        ConversionFactory(campaign=campaign, value=Decimal("400.00")),
    ]
    deleted = CampaignFactory(name="Old promo")
    ExperimentFactory(campaign=deleted)
    deleted.soft_delete()
    return {"campaign": campaign, "experiment": experiment, "conversions": conversions, "deleted": deleted}


class TestPagesRender:
    @each_model(MODELS)
    @pytest.mark.parametrize("params", [{}, {"q": "summer"}, {"q": "ext_1"}, {"q": "0123abcd"}, {"o": "3"}], ids=str)
    def test_changelist(self, admin_client, campaign_rows, model, params):
        assert admin_client.get(changelist_url(model, **params)).status_code == 200

    @each_model([Campaign, Experiment])
    @pytest.mark.parametrize("deleted", ["yes", "all"])
    def test_changelist_with_deleted_rows(self, admin_client, campaign_rows, model, deleted):
        response = admin_client.get(changelist_url(model, deleted=deleted))
        assert response.status_code == 200
        assert any(row.deleted_at for row in response.context["cl"].result_list)

    @each_model(MODELS)
    def test_add_form(self, admin_client, campaign_rows, model):
        assert admin_client.get(add_url(model)).status_code == 200

    @each_model(MODELS)
    def test_change_form(self, admin_client, campaign_rows, model):
        obj = model._base_manager.first()
        assert admin_client.get(change_url(model, obj.pk)).status_code == 200

    @each_model([Campaign, Experiment])
    def test_change_form_of_deleted_row(self, admin_client, campaign_rows, model):
        obj = model.all_objects.filter(deleted_at__isnull=False).first()
        assert_shows_deleted(admin_client, obj)


class TestComputedColumns:
    def test_campaign_performance_is_computed_in_the_list_query(self, admin_client, campaign_rows):
        response = admin_client.get(changelist_url(Campaign))
        row = next(row for row in response.context["cl"].result_list if row.pk == campaign_rows["campaign"].pk)
        assert row.ctr_value == pytest.approx(0.02)
        assert row.cpc_value == pytest.approx(1.25)
        assert row.cpa_value == pytest.approx(25.0)
        assert row.revenue == Decimal("500.00")
        assert row.roas_value == pytest.approx(2.0)
        assert row.budget_used == pytest.approx(0.25)
        assert b'title="250.00 / 1,000.00 USD">250 / 1K USD <span class="">25%</span>' in response.content

    def test_zero_denominators_show_a_dash(self, admin_client):
        CampaignFactory(total_spend=0, total_impressions=0, total_clicks=0, total_conversions=0)
        response = admin_client.get(changelist_url(Campaign))
        row = response.context["cl"].result_list[0]
        assert (row.ctr_value, row.cpc_value, row.cpa_value, row.roas_value) == (None, None, None, None)

    def test_experiment_leader_has_the_best_conversion_rate(self, admin_client, campaign_rows):
        response = admin_client.get(changelist_url(Experiment))
        row = response.context["cl"].result_list[0]
        # variant-a 30 / 10,000; variant-b 40 / 10,000
        assert row.leader["id"] == "variant-b"
        assert float(row.leader["rate"]) == pytest.approx(0.004)
        assert b"variant-b (0.40%)" in response.content

    def test_campaigns_sort_by_roas(self, admin_client):
        low, high = CampaignFactory(total_spend=100), CampaignFactory(total_spend=100)
        ConversionFactory(campaign=low, value=Decimal("50"))
        ConversionFactory(campaign=high, value=Decimal("500"))
        column = CampaignAdmin.list_display.index("roas") + 1
        response = admin_client.get(changelist_url(Campaign, o=f"-{column}"))
        assert [row.pk for row in response.context["cl"].result_list] == [high.pk, low.pk]

    def test_experiments_sort_by_the_leaders_conversion_rate(self, admin_client):
        low = ExperimentFactory(variants=[{"id": "a", "name": "A", "impressions": 100, "conversions": 1}])
        high = ExperimentFactory(variants=[{"id": "a", "name": "A", "impressions": 100, "conversions": 9}])
        column = ExperimentAdmin.list_display.index("leader_display") + 1
        response = admin_client.get(changelist_url(Experiment, o=str(column)))
        assert [row.pk for row in response.context["cl"].result_list] == [low.pk, high.pk]

    def test_experiment_leader_ignores_variants_without_counts(self, admin_client):
        ExperimentFactory(
            variants=[
                {"id": "a", "name": "A", "impressions": 0, "conversions": 0},
                {"id": "b", "name": "B", "impressions": "many", "conversions": 3},
                {"id": "c", "name": "C", "impressions": 100, "conversions": 1},
            ]
        )
        response = admin_client.get(changelist_url(Experiment))
        assert response.context["cl"].result_list[0].leader["id"] == "c"

    def test_experiment_without_usable_counts_has_no_leader(self, admin_client):
        ExperimentFactory(variants=[{"id": "a", "name": "A"}])
        response = admin_client.get(changelist_url(Experiment))
        assert response.context["cl"].result_list[0].leader is None


class TestFilters:
    def test_conversions_by_campaign(self, admin_client, campaign_rows):
        ConversionFactory()
        response = admin_client.get(changelist_url(Conversion, campaign=str(campaign_rows["campaign"].pk)))
        assert {row.pk for row in response.context["cl"].result_list} == {c.pk for c in campaign_rows["conversions"]}

    def test_conversions_by_source(self, admin_client, campaign_rows):
        manual = ConversionFactory(source="MANUAL")
        response = admin_client.get(changelist_url(Conversion, source__exact="MANUAL"))
        assert [row.pk for row in response.context["cl"].result_list] == [manual.pk]

    def test_conversions_by_owner(self, admin_client, campaign_rows):
        ConversionFactory()
        owner = campaign_rows["campaign"].user
        response = admin_client.get(changelist_url(Conversion, owner=str(owner.pk)))
        assert len(response.context["cl"].result_list) == 2

    def test_conversion_search_by_external_id(self, admin_client, campaign_rows):
        conversion = campaign_rows["conversions"][1]
        response = admin_client.get(changelist_url(Conversion, q=conversion.external_id))
        assert [row.pk for row in response.context["cl"].result_list] == [conversion.pk]

    def test_campaign_search_by_meta_id(self, admin_client, campaign_rows):
        response = admin_client.get(changelist_url(Campaign, q="meta-123"))
        assert [row.pk for row in response.context["cl"].result_list] == [campaign_rows["campaign"].pk]

    def test_campaign_search_by_owner_email(self, admin_client, campaign_rows):
        CampaignFactory()
        owner = campaign_rows["campaign"].user
        response = admin_client.get(changelist_url(Campaign, q=owner.email.upper()))
        assert [row.pk for row in response.context["cl"].result_list] == [campaign_rows["campaign"].pk]

    def test_campaign_page_links_back_to_its_owner(self, admin_client, campaign_rows):
        campaign = campaign_rows["campaign"]
        content = admin_client.get(change_url(Campaign, campaign.pk)).content.decode()
        assert f'href="{change_url(type(campaign.user), campaign.user_id)}"' in content

    def test_experiments_with_a_winner(self, admin_client, campaign_rows):
        decided = ExperimentFactory(winner_variant_id="variant-a", status=ExperimentStatus.COMPLETED)
        response = admin_client.get(changelist_url(Experiment, winner_variant_id__isempty="0"))
        assert [row.pk for row in response.context["cl"].result_list] == [decided.pk]


class TestQueryCounts:
    @staticmethod
    def rows(count):
        campaigns = CampaignFactory.create_batch(3)
        for index in range(count):
            campaign = campaigns[index % 3]
            ExperimentFactory(campaign=campaign)
            ConversionFactory(campaign=campaign, attributed_clip=ClipFactory() if index % 2 else None)
            CampaignFactory()

    @each_model(MODELS)
    def test_changelist(self, admin_client, model):
        self.rows(5)
        with same_query_count(admin_client, changelist_url(model)):
            self.rows(45)

    def test_campaign_change_form(self, admin_client):
        campaign = CampaignFactory()
        ExperimentFactory.create_batch(2, campaign=campaign)
        ConversionFactory.create_batch(2, campaign=campaign, attributed_clip=ClipFactory())
        with same_query_count(admin_client, change_url(Campaign, campaign.pk)):
            ExperimentFactory.create_batch(30, campaign=campaign)
            ConversionFactory.create_batch(30, campaign=campaign, attributed_clip=ClipFactory())


class TestInlines:
    def test_campaign_shows_experiments_and_latest_conversions(self, admin_client, campaign_rows):
        response = admin_client.get(change_url(Campaign, campaign_rows["campaign"].pk))
        inlines = {formset.opts.model: formset for formset in response.context["inline_admin_formsets"]}
        assert [form.original.pk for form in inlines[Experiment]] == [campaign_rows["experiment"].pk]
        assert {form.original.pk for form in inlines[Conversion]} == {c.pk for c in campaign_rows["conversions"]}

    def test_conversion_inline_is_limited(self, admin_client):
        campaign = CampaignFactory()
        ConversionFactory.create_batch(23, campaign=campaign)
        response = admin_client.get(change_url(Campaign, campaign.pk))
        inline = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Conversion)
        assert len(list(inline)) == 20
        assert f"/admin/campaigns/conversion/?campaign={campaign.pk}".encode() in response.content


class TestActions:
    def test_change_campaign_status(self, admin_client, campaign_rows):
        campaign = campaign_rows["campaign"]  # ACTIVE
        run_action(admin_client, Campaign, "change_status", [campaign], apply="1", status=CampaignStatus.PAUSED)
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.PAUSED

    def test_refused_campaign_status_is_a_message(self, admin_client, campaign_rows):
        campaign = campaign_rows["campaign"]
        response = run_action(admin_client, Campaign, "change_status", [campaign], apply="1", status="DRAFT")
        assert any("Cannot change status from ACTIVE to DRAFT" in message for message in messages_of(response))
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.ACTIVE

    def test_soft_delete_campaign_hides_its_experiments(self, admin_client, campaign_rows):
        campaign = campaign_rows["campaign"]
        run_action(admin_client, Campaign, "soft_delete_selected", [campaign])
        assert Campaign.all_objects.get(pk=campaign.pk).deleted_at is not None
        assert not Experiment.objects.filter(campaign=campaign).exists()

    def test_restore_campaign_brings_back_its_experiments(self, admin_client, campaign_rows):
        deleted = campaign_rows["deleted"]
        run_action(admin_client, Campaign, "restore_selected", [deleted], url_params={"deleted": "yes"})
        assert Campaign.objects.filter(pk=deleted.pk).exists()
        assert Experiment.objects.filter(campaign=deleted).count() == 1

    def test_select_winner_form_offers_the_variants(self, admin_client, campaign_rows):
        response = run_action(admin_client, Experiment, "select_winner", [campaign_rows["experiment"]])
        assert response.status_code == 200
        assert b'value="variant-a"' in response.content
        assert b'value="variant-b"' in response.content

    def test_select_winner_calls_the_service(self, admin_client, campaign_rows):
        experiment = campaign_rows["experiment"]
        response = run_action(
            admin_client,
            Experiment,
            "select_winner",
            [experiment],
            apply="1",
            variant_id="variant-b",
            confidence="0.97",
        )
        assert "“Headline test”: variant-b is the winner." in messages_of(response)
        experiment.refresh_from_db()
        assert (experiment.winner_variant_id, experiment.status, experiment.confidence) == (
            "variant-b",
            ExperimentStatus.COMPLETED,
            0.97,
        )
        assert experiment.winner_selected_at is not None

    def test_select_winner_refusal_is_a_message(self, admin_client, campaign_rows):
        experiment = campaign_rows["experiment"]
        experiment.status = ExperimentStatus.CANCELLED
        experiment.save()
        response = run_action(
            admin_client, Experiment, "select_winner", [experiment], apply="1", variant_id="variant-a"
        )
        assert any("cancelled experiment cannot have a winner" in message for message in messages_of(response))
        experiment.refresh_from_db()
        assert experiment.winner_variant_id is None

    def test_evaluate_records_the_statistics(self, admin_client, campaign_rows):
        experiment = campaign_rows["experiment"]
        answer = {"apply": "1", "metric": "conversion_rate", "threshold": "0.95", "min_sample": "1000", "record": "on"}
        response = run_action(admin_client, Experiment, "evaluate", [experiment], **answer)
        assert any(message.startswith("“Headline test”: ") for message in messages_of(response))
        experiment.refresh_from_db()
        assert experiment.metrics["metric"] == "conversion_rate"
        assert experiment.confidence is not None

    def test_evaluate_records_a_significant_winner(self, admin_client):
        experiment = ExperimentFactory(
            variants=[
                {"id": "a", "name": "A", "impressions": 50_000, "clicks": 1_000, "conversions": 100},
                {"id": "b", "name": "B", "impressions": 50_000, "clicks": 1_000, "conversions": 300},
            ]
        )
        answer = {"apply": "1", "metric": "conversion_rate", "threshold": "0.95", "min_sample": "1000", "record": "on"}
        run_action(admin_client, Experiment, "evaluate", [experiment], **answer)
        experiment.refresh_from_db()
        assert (experiment.winner_variant_id, experiment.status) == ("b", ExperimentStatus.COMPLETED)

    def test_evaluate_without_recording_changes_nothing(self, admin_client, campaign_rows):
        experiment = campaign_rows["experiment"]
        answer = {"apply": "1", "metric": "ctr", "threshold": "0.95", "min_sample": "0"}
        response = run_action(admin_client, Experiment, "evaluate", [experiment], **answer)
        assert len(messages_of(response)) == 1
        experiment.refresh_from_db()
        assert (experiment.metrics, experiment.confidence) == ({}, None)

    def test_select_winner_needs_exactly_one_experiment(self, admin_client, campaign_rows):
        other = ExperimentFactory()
        response = run_action(admin_client, Experiment, "select_winner", [campaign_rows["experiment"], other])
        assert "Select exactly one experiment." in messages_of(response)


class TestForms:
    def test_bad_json_in_variants_is_a_form_error(self, admin_client, campaign_rows):
        experiment = campaign_rows["experiment"]
        response = post_change_form(admin_client, experiment, variants="[{'id': 'a'}]")
        assert_form_error(response, "variants")

    def test_variants_with_duplicate_ids_are_a_form_error(self, admin_client, campaign_rows):
        experiment = campaign_rows["experiment"]
        response = post_change_form(
            admin_client, experiment, variants='[{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]'
        )
        assert "Variant id 'a' is used twice." in assert_form_error(response, "variants")

    def test_target_locations_must_be_a_list(self, admin_client, campaign_rows):
        campaign = campaign_rows["campaign"]
        response = post_change_form(admin_client, campaign, target_locations='{"country": "US"}')
        assert form_errors(response)["target_locations"] == ["Must be a JSON array."]

    def test_campaign_edit_saves(self, admin_client, campaign_rows):
        campaign = campaign_rows["campaign"]
        response = post_change_form(admin_client, campaign, name="Summer launch 2", target_locations='["US", "CA"]')
        assert response.status_code == 302, form_errors(response)
        campaign.refresh_from_db()
        assert (campaign.name, campaign.target_locations) == ("Summer launch 2", ["US", "CA"])
