"""FilterSets of knowledge documents."""

import django_filters

from gateway.api.filters import CharInFilter, IntegerFilter, IntegerInFilter, SoftDeleteFilterSet
from knowledge.models import KnowledgeDocument


class TagsFilter(django_filters.BaseCSVFilter, django_filters.CharFilter):
    """Comma-separated tags matched against the document's tag array (served by its GIN index)."""


class KnowledgeDocumentFilterSet(SoftDeleteFilterSet):
    category = django_filters.CharFilter(field_name="category", lookup_expr="exact")
    category__in = CharInFilter(field_name="category", lookup_expr="in")
    tags = TagsFilter(field_name="tags", lookup_expr="contains", label="Documents having all of these tags.")
    tags__overlap = TagsFilter(field_name="tags", lookup_expr="overlap", label="Documents having any of these tags.")
    version = IntegerFilter(field_name="version", lookup_expr="exact")
    version__in = IntegerInFilter(field_name="version", lookup_expr="in")
    version_min = IntegerFilter(field_name="version", lookup_expr="gte")
    version_max = IntegerFilter(field_name="version", lookup_expr="lte")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=["created_at", "updated_at", "name", "category", "version"])

    class Meta:
        model = KnowledgeDocument
        fields = []
