"""Knowledge documents: every authenticated user reads them, ADMIN users write them."""

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gateway.api.permissions import IsAdminOrReadOnly
from gateway.api.schema import ErrorDetailSerializer
from gateway.api.viewsets import SoftDeleteModelViewSet
from knowledge.api.filters import KnowledgeDocumentFilterSet
from knowledge.api.search_serializers import (
    KnowledgeDocumentVersionSerializer,
    KnowledgeSearchResponseSerializer,
    KnowledgeSearchSerializer,
    RestoreVersionSerializer,
    SearchBodyParser,
)
from knowledge.api.serializers import KnowledgeDocumentSerializer
from knowledge.models import KnowledgeDocument, KnowledgeDocumentVersion
from knowledge.search import knowledge_search
from knowledge.services import knowledge_document_restore_version

# A query string must fit gunicorn's request line (gunicorn.conf.py): 500 characters are at most 6,000 bytes
# percent-encoded. Longer searches go in the body of POST search/ (MAX_QUERY_LENGTH).
MAX_Q_LENGTH = 500

FULL_TEXT_PARAMETER = OpenApiParameter(
    "q",
    {"type": "string", "maxLength": MAX_Q_LENGTH},
    description="Full-text search over name, description and content (web-search syntax: quoted phrases, OR, "
    "-word); results come best match first unless `ordering` is given.",
)


@extend_schema_view(list=extend_schema(parameters=[FULL_TEXT_PARAMETER]))
class KnowledgeDocumentViewSet(SoftDeleteModelViewSet):
    """The knowledge base behind the retrieval assistant."""

    queryset = KnowledgeDocument.objects.all()
    serializer_class = KnowledgeDocumentSerializer
    filterset_class = KnowledgeDocumentFilterSet
    permission_classes = [IsAdminOrReadOnly]
    search_fields = ["name"]
    owner_scoped = False

    def optimize_queryset(self, queryset):
        # Embeddings are 1,536 floats: leave them in the database and only say whether there is one.
        return queryset.defer("embedding", "search_vector").annotate(
            embedding_stored=ExpressionWrapper(Q(embedding__isnull=False), output_field=BooleanField())
        )

    def filter_queryset(self, queryset):
        # ?q= ranks by full-text relevance; the FilterSet's explicit ``ordering`` still wins when given.
        text = self.request.query_params.get("q", "") if self.action == "list" else ""
        if len(text) > MAX_Q_LENGTH:
            raise exceptions.ValidationError({"q": [f"Must be at most {MAX_Q_LENGTH} characters."]})
        if text := text.strip():
            queryset = queryset.text_search(text)
        return super().filter_queryset(queryset)

    @extend_schema(
        summary="Search the knowledge base",
        description="Full-text, fuzzy-name, vector or hybrid (reciprocal rank fusion) search. Send a `query`, an "
        "`embedding` or both; each result carries its score, its rank in each list and a highlighted snippet. "
        "Readable by every authenticated user. Bodies over 256 KB are refused with a 413.",
        request=KnowledgeSearchSerializer,
        responses={
            200: KnowledgeSearchResponseSerializer,
            413: OpenApiResponse(ErrorDetailSerializer, description="The request body is larger than 256 KB."),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        permission_classes=[IsAuthenticated],
        parser_classes=[SearchBodyParser],
        filter_backends=[],
        pagination_class=None,
    )
    def search(self, request):
        serializer = KnowledgeSearchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(KnowledgeSearchResponseSerializer(knowledge_search(**serializer.validated_data)).data)

    @extend_schema(
        summary="Earlier versions of a document",
        description="Every earlier version, newest first: the content as it was, who replaced it and when.",
        responses={200: KnowledgeDocumentVersionSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request, pk=None):
        document = self.get_object()
        versions = KnowledgeDocumentVersion.objects.of_document(document)
        page = self.paginate_queryset(versions)
        serializer = KnowledgeDocumentVersionSerializer(page if page is not None else versions, many=True)
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)

    @extend_schema(
        summary="Restore an earlier version (ADMIN)",
        description="The document gets the content of `version` back as a new version; the history is kept.",
        request=RestoreVersionSerializer,
        responses={200: KnowledgeDocumentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="restore-version", filter_backends=[])
    @transaction.atomic
    def restore_version(self, request, pk=None):
        document = self.get_object()
        serializer = RestoreVersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        restored = knowledge_document_restore_version(
            document=document, version=serializer.validated_data["version"], user=request.user
        )
        return self.object_response(restored, KnowledgeDocumentSerializer)
