"""What the staff console exports of campaigns and conversions, and how it imports them.

Plugged into ``campaigns.admin`` through ``gateway.admin.transfer.TransferAdminMixin`` (docs/CONSOLE.md). Rows
are validated by the API's serializers and written by the same code as the API: a campaign with an id is
changed through ``CampaignSerializer`` (``campaign_update``: status along the allowed transitions), one with
an empty id is created as ``POST campaigns/`` creates it; conversions are ingested as ``POST conversions/ingest/``
ingests them (``conversions_ingest``, idempotent on ``external_id``: a conversion already stored is unchanged).
"""

from django.core.exceptions import ValidationError
from import_export.fields import Field
from import_export.instance_loaders import ModelInstanceLoader

from campaigns.api.serializers import CampaignSerializer, ConversionIngestSerializer
from campaigns.models import Campaign, Conversion
from campaigns.services import conversions_ingest
from gateway.resources import ExportResource, ServiceResource, UUIDWidget, field_errors

CAMPAIGN_COLUMNS = (
    "id", "user", "name", "description", "objective", "budget", "daily_budget", "currency", "status",
    "meta_campaign_id", "meta_ad_set_id", "meta_account_id", "start_date", "end_date",
)  # fmt: skip
CONVERSION_COLUMNS = (
    "id", "campaign", "source", "external_id", "value", "currency", "attributed_clip", "attributed_ad_id", "timestamp",
)  # fmt: skip


class CampaignResource(ExportResource):
    """A campaign per line: its settings (the columns the import reads), owner's email and totals."""

    owner_email = Field(attribute="user__email", column_name="owner_email", readonly=True)

    class Meta:
        model = Campaign
        fields = (
            *CAMPAIGN_COLUMNS, "owner_email", "total_spend", "total_impressions", "total_clicks",
            "total_conversions", "created_at", "updated_at", "deleted_at",
        )  # fmt: skip
        export_order = fields


class CampaignImportResource(ServiceResource):
    """Campaigns changed (by id) or created (empty id) as the API's ``PATCH`` and ``POST campaigns/`` do."""

    creates = True
    id = Field(attribute="id", column_name="id", widget=UUIDWidget())
    user = Field(attribute="user_id", column_name="user", widget=UUIDWidget())

    class Meta:
        model = Campaign
        fields = CAMPAIGN_COLUMNS
        import_id_fields = ("id",)

    def write(self, *, instance, changes, new):
        context = self.serializer_context()
        if new:
            # An empty cell leaves the API's default (the owner is the staff member, the status DRAFT...).
            serializer = CampaignSerializer(
                data={name: value for name, value in changes.items() if value is not None}, context=context
            )
        elif not changes:
            return instance
        else:
            # Locked, as the API's update locks it: the serializer validates against the row as it is now.
            stored = Campaign.objects.select_for_update().get(pk=instance.pk)
            serializer = CampaignSerializer(stored, data=changes, partial=True, context=context)
        serializer.is_valid(raise_exception=True)
        return serializer.save()


class ConversionResource(ExportResource):
    """A conversion per line (the columns the import reads) with its campaign's name."""

    campaign_name = Field(attribute="campaign__name", column_name="campaign_name", readonly=True)

    class Meta:
        model = Conversion
        fields = (*CONVERSION_COLUMNS, "campaign_name", "created_at")
        export_order = fields


class ConversionImportResource(ServiceResource):
    """New conversions, ingested as ``POST conversions/ingest/``; one whose ``external_id`` is stored is unchanged."""

    creates = True
    required_columns = ("value",)
    campaign = Field(attribute="campaign_id", column_name="campaign", widget=UUIDWidget())
    attributed_clip = Field(attribute="attributed_clip_id", column_name="attributed_clip", widget=UUIDWidget())

    class Meta:
        model = Conversion
        fields = CONVERSION_COLUMNS[1:]
        import_id_fields = ("external_id",)
        # Looked up row by row: a file may repeat an external id, and the repeat must see the first one.
        instance_loader_class = ModelInstanceLoader

    def get_instance(self, instance_loader, row):
        # Only a platform's id makes a conversion a duplicate; rows without one are always new.
        if not str(row.get("external_id") or "").strip():
            return None
        return super().get_instance(instance_loader, row)

    def get_or_init_instance(self, instance_loader, row):
        instance = self.get_instance(instance_loader, row)
        return (instance, False) if instance is not None else (self.init_instance(row), True)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """A conversion already stored (same ``external_id``) is a duplicate: unchanged, as the ingest counts it."""
        return not instance._state.adding

    def write(self, *, instance, changes, new):
        item = {name: value for name, value in changes.items() if value is not None}
        serializer = ConversionIngestSerializer(data={"conversions": [item]}, context=self.serializer_context())
        serializer.is_valid(raise_exception=True)
        rows, errors = serializer.validated_rows()
        if errors:
            raise ValidationError(field_errors(errors[0]["errors"]))
        result = conversions_ingest(conversions=rows)
        return Conversion.objects.get(pk=result["created_ids"][0]) if result["created_ids"] else None
