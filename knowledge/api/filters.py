"""FilterSets of knowledge documents."""

import django_filters

from gateway.api.filters import MultiValueFilter, OrderingFilter, SoftDeleteFilterSet, integer_filters, text_filters
from knowledge.models import KnowledgeDocument


class TagsFilter(MultiValueFilter, django_filters.CharFilter):
    """Several tags (repeated or comma-separated) matched against the document's tag array (served by its GIN index)."""


class KnowledgeDocumentFilterSet(SoftDeleteFilterSet):
    category, category__in = text_filters("category")
    tags = TagsFilter(field_name="tags", lookup_expr="contains", label="Documents having all of these tags.")
    tags__overlap = TagsFilter(field_name="tags", lookup_expr="overlap", label="Documents having any of these tags.")
    version, version__in, version_min, version_max = integer_filters("version")
    ordering = OrderingFilter(fields=["created_at", "updated_at", "name", "category", "version"])

    class Meta:
        model = KnowledgeDocument
        fields = []
