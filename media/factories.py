import datetime

import factory

from media.choices import AssetStatus, ClipStatus
from media.models import Asset, Clip, PerformanceMetric, Prediction
from users.factories import UserFactory


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    user = factory.SubFactory(UserFactory)
    filename = factory.Sequence(lambda n: f"video-{n}.mp4")
    original_name = factory.Faker("file_name", extension="mp4")
    mime_type = "video/mp4"
    file_size = factory.Faker("random_int", min=1_000_000, max=500_000_000)
    gcs_bucket = "geminivideo-test"
    gcs_path = factory.LazyAttribute(lambda asset: f"assets/{asset.filename}")
    gcs_url = factory.LazyAttribute(lambda asset: f"gs://{asset.gcs_bucket}/{asset.gcs_path}")
    duration = factory.Faker("pyfloat", min_value=5, max_value=600, right_digits=1)
    width = 1920
    height = 1080
    fps = 30.0
    bitrate = 5_000_000
    codec = "h264"
    status = AssetStatus.READY


class ClipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clip

    asset = factory.SubFactory(AssetFactory)
    start_time = factory.Sequence(lambda n: float(n % 100) * 5)
    end_time = factory.LazyAttribute(lambda clip: clip.start_time + 15)
    score = factory.Faker("pyfloat", min_value=0, max_value=1, right_digits=3)
    viral_score = factory.Faker("pyfloat", min_value=0, max_value=1, right_digits=3)
    engagement_score = factory.Faker("pyfloat", min_value=0, max_value=1, right_digits=3)
    brand_safety_score = factory.Faker("pyfloat", min_value=0, max_value=1, right_digits=3)
    status = ClipStatus.SCORED
    has_speech = True


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    clip = factory.SubFactory(ClipFactory)
    model_version = "v1.0.0"
    model_type = "roas"
    predicted_roas = factory.Faker("pyfloat", min_value=0.5, max_value=6, right_digits=2)
    predicted_ctr = factory.Faker("pyfloat", min_value=0.005, max_value=0.08, right_digits=4)
    predicted_cpc = factory.Faker("pyfloat", min_value=0.2, max_value=3, right_digits=2)
    predicted_cpa = factory.Faker("pyfloat", min_value=5, max_value=50, right_digits=2)
    predicted_engagement = factory.Faker("pyfloat", min_value=0.01, max_value=0.3, right_digits=3)
    confidence = factory.Faker("pyfloat", min_value=0.5, max_value=1, right_digits=2)


class PerformanceMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PerformanceMetric

    asset = factory.SubFactory(AssetFactory)
    platform = "meta"
    date = factory.Sequence(lambda n: datetime.date(2025, 1, 1) + datetime.timedelta(days=n))
    impressions = 10_000
    clicks = 300
    conversions = 15
    spend = "150.00"
    revenue = "600.00"
    roas = "4.00"
    ctr = "0.0300"
