from django.db import models

from gateway.models import SoftDeleteManager, SoftDeleteQuerySet


class CampaignQuerySet(SoftDeleteQuerySet):
    def owned_by(self, user):
        return self.filter(user=user)


class ExperimentQuerySet(SoftDeleteQuerySet):
    def owned_by(self, user):
        return self.filter(campaign__user=user)


class ConversionQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(campaign__user=user)


CampaignManager = SoftDeleteManager.from_queryset(CampaignQuerySet)
ExperimentManager = SoftDeleteManager.from_queryset(ExperimentQuerySet)
