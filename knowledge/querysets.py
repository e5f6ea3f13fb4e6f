from gateway.models import SoftDeleteManager, SoftDeleteQuerySet


class KnowledgeDocumentQuerySet(SoftDeleteQuerySet):
    def in_category(self, category):
        return self.filter(category=category)

    def with_any_tag(self, tags):
        return self.filter(tags__overlap=list(tags))

    def with_all_tags(self, tags):
        return self.filter(tags__contains=list(tags))


KnowledgeDocumentManager = SoftDeleteManager.from_queryset(KnowledgeDocumentQuerySet)
