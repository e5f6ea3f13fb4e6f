from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import models
from django.db.models import F

from gateway.models import SoftDeleteManager, SoftDeleteQuerySet
from knowledge.choices import EmbeddingState

SEARCH_CONFIG = "english"
# ts_rank_cd normalization bits: 1 divides by 1 + log(document length), so a long document does not
# win on repetition alone; 32 maps the rank into [0, 1) as rank / (rank + 1) without reordering.
TEXT_RANK_NORMALIZATION = 1 | 32


def websearch_query(text: str) -> SearchQuery:
    """``websearch_to_tsquery('english', text)``: quotes, ``OR`` and ``-`` behave as users expect."""
    return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)


def text_rank(query: SearchQuery) -> SearchRank:
    """Cover-density rank of the weighted search vector (name A > description B > content C)."""
    return SearchRank(F("search_vector"), query, cover_density=True, normalization=TEXT_RANK_NORMALIZATION)


class KnowledgeDocumentQuerySet(SoftDeleteQuerySet):
    def visible_to(self, user):
        """The documents ``user`` may read: the knowledge base is shared, so all of them once authenticated."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.all()

    def in_category(self, category):
        return self.filter(category=category)

    def with_any_tag(self, tags):
        return self.filter(tags__overlap=list(tags))

    def with_all_tags(self, tags):
        return self.filter(tags__contains=list(tags))

    def with_embedding(self):
        return self.filter(embedding__isnull=False)

    def embedding_failed(self):
        """Live documents whose last embedding attempt failed (served by the partial embedding-state index)."""
        return self.alive().filter(embedding_state=EmbeddingState.FAILED)

    def text_search(self, text: str):
        """Documents matching ``text`` (web-search syntax), best first, with their rank as ``search_rank``.

        Served by the GIN index on ``search_vector``; the rank is computed for matching rows only.
        """
        query = websearch_query(text)
        return self.filter(search_vector=query).annotate(search_rank=text_rank(query)).order_by("-search_rank", "pk")


class KnowledgeDocumentVersionQuerySet(models.QuerySet):
    def of_document(self, document):
        """The earlier versions of ``document``, newest first, with who replaced each."""
        return self.filter(document=document).select_related("changed_by").order_by("-version")


KnowledgeDocumentManager = SoftDeleteManager.from_queryset(KnowledgeDocumentQuerySet)
