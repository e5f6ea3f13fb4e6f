from django.db import models


class CampaignObjective(models.TextChoices):
    AWARENESS = "AWARENESS", "Awareness"
    TRAFFIC = "TRAFFIC", "Traffic"
    ENGAGEMENT = "ENGAGEMENT", "Engagement"
    LEADS = "LEADS", "Leads"
    CONVERSIONS = "CONVERSIONS", "Conversions"
    SALES = "SALES", "Sales"


class CampaignStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    SCHEDULED = "SCHEDULED", "Scheduled"
    ACTIVE = "ACTIVE", "Active"
    PAUSED = "PAUSED", "Paused"
    COMPLETED = "COMPLETED", "Completed"
    ARCHIVED = "ARCHIVED", "Archived"


class ExperimentStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    RUNNING = "RUNNING", "Running"
    PAUSED = "PAUSED", "Paused"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"


class ConversionSource(models.TextChoices):
    META = "META", "Meta"
    GOOGLE = "GOOGLE", "Google"
    TIKTOK = "TIKTOK", "TikTok"
    MANUAL = "MANUAL", "Manual"
    WEBHOOK = "WEBHOOK", "Webhook"
