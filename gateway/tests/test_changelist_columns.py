"""Changelist columns that fit a 1,366-pixel screen: compact figures, and every KPI column sortable.

The browser check of the widths is ``gateway/tests/test_browser_console.py``.
"""

from decimal import Decimal

import pytest
from django.contrib import admin

from campaigns.models import Campaign, Experiment
from gateway.admin.formatting import compact, compact_number
from media.models import Asset, PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db

# The key figures of each list: each must sort (its header is a link).
KPI_COLUMNS = {
    Campaign: ("spend_vs_budget", "impressions", "clicks", "conversions", "ctr", "cpc", "cpa", "roas"),
    Experiment: ("variant_count", "leader_display", "confidence"),
    Asset: ("size", "duration", "clip_count"),
    PerformanceMetric: ("impressions", "clicks", "conversions", "spend", "revenue", "roas", "ctr_display"),
    Prediction: ("predicted_roas", "actual_roas", "confidence", "error"),
}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (987, "987"),
        (1_234, "1.23K"),
        (12_345, "12.3K"),
        (100_000, "100K"),
        (1_234_567, "1.23M"),
        (123_456_789, "123M"),
        (4_500_000_000, "4.5B"),
        (Decimal("49.90"), "49.9"),
        (Decimal("5000000.00"), "5M"),
        (None, "–"),
    ],
)
def test_compact_number(value, text):
    assert compact_number(value) == text


def test_a_compact_figure_keeps_the_exact_one_in_its_title():
    assert compact(1_234_567) == '<span class="gv-nowrap" title="1,234,567">1.23M</span>'


@pytest.mark.parametrize(
    ("model", "column"),
    [(model, column) for model, columns in KPI_COLUMNS.items() for column in columns],
    ids=lambda item: item if isinstance(item, str) else item.__name__,
)
def test_every_kpi_column_sorts(admin_client, model, column):
    model_admin = admin.site._registry[model]
    index = list(model_admin.list_display).index(column) + 1  # the checkbox column comes first
    for direction in ("", "-"):
        response = admin_client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/?o={direction}{index}")
        assert response.status_code == 200
        assert response.context["cl"].get_ordering_field_columns()[index] == ("desc" if direction else "asc")
