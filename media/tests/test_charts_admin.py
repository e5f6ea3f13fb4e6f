"""The admin's prediction-accuracy page compares model versions in a chart and a table."""

import pytest
from django.urls import reverse

from media.factories import ClipFactory, PredictionFactory
from media.models import Prediction
from users.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCURACY = "admin:media_prediction_accuracy"


def prediction(clip, version, **values):
    fields = {f"{kind}_{metric}": None for kind in ("predicted", "actual") for metric in Prediction.METRICS}
    return PredictionFactory(clip=clip, model_version=version, **{**fields, **values})


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_accuracy_page_compares_versions(staff_client):
    clip = ClipFactory()
    prediction(clip, "v1.2.3", predicted_roas=4.0, actual_roas=5.0)  # MAPE 20%
    prediction(clip, "v1.3.0", predicted_roas=5.5, actual_roas=5.0)  # MAPE 10%
    prediction(clip, "v0.9", predicted_roas=3.0)  # no actuals yet
    response = staff_client.get(reverse(ACCURACY))
    assert response.status_code == 200
    html = response.content.decode()
    assert "roas models: mean absolute percentage error by metric" in html
    assert 'data-series="v1.2.3" data-label="roas" data-value="0.2"' in html
    assert 'data-series="v1.3.0" data-label="roas" data-value="0.1"' in html
    assert "20.00%" in html and "10.00%" in html
    assert "no actual values yet" in html


def test_accuracy_page_without_predictions(staff_client):
    response = staff_client.get(reverse(ACCURACY))
    assert response.status_code == 200
    assert "No predictions yet." in response.content.decode()


def test_prediction_list_links_to_the_accuracy_page(staff_client):
    response = staff_client.get(reverse("admin:media_prediction_changelist"))
    assert response.status_code == 200
    assert reverse(ACCURACY) in response.content.decode()


def test_accuracy_page_needs_staff(client):
    client.force_login(UserFactory(is_staff=False))
    response = client.get(reverse(ACCURACY))
    assert response.status_code == 302  # to the admin login
