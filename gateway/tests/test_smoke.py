import pytest

from campaigns.factories import ConversionFactory, ExperimentFactory
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import PerformanceMetricFactory, PredictionFactory

pytestmark = pytest.mark.django_db


def test_factories_create_valid_rows():
    prediction = PredictionFactory()
    assert prediction.clip.duration == pytest.approx(prediction.clip.end_time - prediction.clip.start_time)
    PerformanceMetricFactory()
    ExperimentFactory()
    ConversionFactory()
    document = KnowledgeDocumentFactory()
    assert document.version == 1
