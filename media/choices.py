from django.db import models


class AssetStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PROCESSING = "PROCESSING", "Processing"
    READY = "READY", "Ready"
    FAILED = "FAILED", "Failed"
    ARCHIVED = "ARCHIVED", "Archived"


class ClipStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    ANALYZED = "ANALYZED", "Analyzed"
    SCORED = "SCORED", "Scored"
    PUBLISHED = "PUBLISHED", "Published"
    REJECTED = "REJECTED", "Rejected"
