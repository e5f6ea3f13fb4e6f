from rest_framework.routers import SimpleRouter

from knowledge.api.views import KnowledgeDocumentViewSet

router = SimpleRouter()
router.register("knowledge-documents", KnowledgeDocumentViewSet, basename="knowledgedocument")

urlpatterns = router.urls
