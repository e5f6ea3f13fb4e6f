"""Staff console for the knowledge base: documents and their earlier versions.

Edits of existing documents go through ``knowledge_document_update`` as the staff user, so the
version history records who changed the content; an earlier version comes back with
``knowledge_document_restore_version`` (the "Restore this version" action on versions). A new document
or a changed name or content asks for its chunk embeddings; their state is a column and a filter, and
"Embed the selected documents now" runs ``document_embed`` for a few documents at once.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, ExpressionWrapper, IntegerField, Q, Value, When
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from gateway.admin.actions import apply_each, run_form_action
from gateway.admin.base import BaseAdmin, SoftDeleteAdmin
from gateway.admin.filters import InputFilter, id_filter
from gateway.admin.formatting import validation_message
from gateway.admin.inlines import ReadOnlyLatestInline
from gateway.admin.links import admin_link
from gateway.admin.search import is_autocomplete, is_id_term
from gateway.admin.transfer import TransferAdminMixin
from knowledge import admin_dashboard  # noqa: F401  (registers the home page's work queue)
from knowledge.embedding import EmbeddingError
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument, KnowledgeDocumentVersion
from knowledge.querysets import websearch_query
from knowledge.resources import KnowledgeDocumentResource
from knowledge.search import TEXT, render_snippet, snippet_expression, text_then_fuzzy_hits, validate_search_params
from knowledge.services import (
    EDITABLE_FIELDS,
    document_embed,
    document_embedding_requested,
    knowledge_document_restore_version,
    knowledge_document_update,
)
from users.models import User


class TagFilter(InputFilter):
    title = "tag"
    parameter_name = "tag"
    placeholder = "a tag"

    def lookup(self, value):
        # Array containment is served by the GIN index on tags.
        return Q(tags__contains=[value])


class EmbeddingFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request, model_admin):
        return [("yes", "Computed"), ("no", "Missing")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(embedding__isnull=False)
        if self.value() == "no":
            return queryset.filter(embedding__isnull=True)
        return queryset


# Embedding runs in the request: keep the action to a handful of documents.
EMBED_NOW_LIMIT = 20


def embed_now(document) -> str:
    """``document_embed`` for the admin action: a provider failure is a message about the row."""
    try:
        return document_embed(document_id=document.pk)
    except EmbeddingError as error:
        raise ValidationError(f"Embedding failed: {error}") from error


class VersionInline(ReadOnlyLatestInline):
    model = KnowledgeDocumentVersion
    fields = ("short_id", "version", "name", "changed_by_email", "replaced_at")
    all_rows_param = "document"
    list_select_related = ("changed_by",)
    verbose_name_plural = "earlier versions"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content", "description").order_by("-version")

    @admin.display(description="replaced by")
    def changed_by_email(self, obj):
        return obj.changed_by.email if obj.changed_by_id else "–"

    @admin.display(description="replaced at")
    def replaced_at(self, obj):
        return obj.created_at


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(TransferAdminMixin, SoftDeleteAdmin):
    export_resource_class = KnowledgeDocumentResource
    list_display = (
        "short_id",
        "name",
        "category",
        "tag_list",
        "version",
        "has_embedding",
        "embedding_state",
        "author",
        "updated_at",
        "created_at",
    )
    list_display_links = ("short_id", "name")
    list_filter = ("category", TagFilter, EmbeddingFilter, "embedding_state", "created_at", "updated_at")
    list_defer = ("content", "description", "embedding", "search_vector", "metadata")
    search_fields = ("name",)
    search_help_text = (
        "Words of the name or the text (the API's full-text search), then names close to them (its fuzzy search: "
        "typos); or an id (full or first 8 characters)."
    )
    date_hierarchy = "created_at"
    readonly_fields = ("version", "embedding_status", "embedding_state", "embedding_error", "embedded_at", "chunks")
    fieldsets = (
        ("Document", {"fields": ("name", "description", "category", "tags", "source", "author")}),
        ("Content", {"fields": ("content", "version")}),
        ("Embedding", {"fields": ("embedding_model", "embedding_status")}),
        ("Chunk embeddings", {"fields": ("embedding_state", "embedding_error", "embedded_at", "chunks")}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at", "deleted_at")}),
    )
    inlines = (VersionInline,)
    actions = (*SoftDeleteAdmin.actions, "embed_selected")

    def get_queryset(self, request):
        computed = ExpressionWrapper(Q(embedding__isnull=False), output_field=BooleanField())
        return super().get_queryset(request).annotate(embedding_computed=computed)

    def get_search_results(self, request, queryset, search_term):
        """The API's search: full-text matches first (ranked as mode ``text``), then fuzzy name matches.

        Names only the fuzzy mode finds are typos of a title ("Meta Adz optimisation"). At most
        ``knowledge.search.MAX_K`` of each, numbered by rank (best first unless a column header was clicked),
        with the API's snippet. An id (full or short) and the autocomplete search as every list does.
        """
        term = search_term.strip()
        if not term or is_autocomplete(request) or is_id_term(term):
            return super().get_search_results(request, queryset, search_term)
        try:
            validate_search_params(query=term, mode=TEXT)
        except ValidationError as error:
            self.message_user(request, f"Search: {validation_message(error)}", messages.WARNING)
            return queryset.none(), False
        ids = [pk for pk, _, _ in text_then_fuzzy_hits(queryset, term)]
        rank = Case(
            *(When(pk=pk, then=Value(position)) for position, pk in enumerate(ids, 1)), output_field=IntegerField()
        )
        queryset = queryset.filter(pk__in=ids).annotate(search_rank=rank, search_snippet=snippet_expression(term))
        if not request.GET.get(ORDER_VAR):
            queryset = queryset.order_by("search_rank")
        return queryset, False

    def get_global_search_q(self, term):
        # Words of the name or the text, through the full-text search vector's GIN index.
        return super().get_global_search_q(term) if is_id_term(term) else Q(search_vector=websearch_query(term))

    def get_list_display(self, request):
        """While searching for words, the rank and the snippet come after the name."""
        columns = super().get_list_display(request)
        term = request.GET.get("q", "").strip()
        if not term or is_id_term(term):
            return columns
        position = columns.index("name") + 1
        return (*columns[:position], "search_rank_display", "snippet", *columns[position:])

    # The list comes in rank order; the column is not sortable (the rank exists only once the search has run).
    @admin.display(description="rank")
    def search_rank_display(self, obj):
        return getattr(obj, "search_rank", None) or "–"

    @admin.display(description="snippet")
    def snippet(self, obj):
        text = getattr(obj, "search_snippet", None)
        if text is None:
            return "–"
        return format_html('<span class="gv-snippet">{}</span>', mark_safe(render_snippet(text, highlighted=True)))

    @admin.display(description="tags")
    def tag_list(self, obj):
        return ", ".join(obj.tags) if obj.tags else "–"

    @admin.display(description="embedding", boolean=True, ordering="embedding_computed")
    def has_embedding(self, obj):
        return obj.embedding_computed

    @admin.display(description="embedding")
    def embedding_status(self, obj):
        if obj.embedding is None:
            return "Not computed yet."
        return f"Computed: {EMBEDDING_DIMENSIONS} dimensions."

    @admin.display(description="chunks")
    def chunks(self, obj):
        counts = {}
        for model in obj.chunks.values_list("model", flat=True):
            counts[model] = counts.get(model, 0) + 1
        return ", ".join(f"{count} of {model}" for model, count in sorted(counts.items())) or "None."

    @admin.action(description=f"Embed the selected documents now (at most {EMBED_NOW_LIMIT})", permissions=["change"])
    def embed_selected(self, request, queryset):
        rows = list(queryset.order_by("pk")[: EMBED_NOW_LIMIT + 1])
        if len(rows) > EMBED_NOW_LIMIT:
            self.message_user(
                request,
                f"Select at most {EMBED_NOW_LIMIT} documents; `manage.py embed_documents` embeds the rest.",
                messages.ERROR,
            )
            return
        count = apply_each(self, request, rows, embed_now, log="Embedded its chunks.")
        if count:
            self.message_user(request, f"{count} document(s) embedded.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        """Edits go through ``knowledge_document_update`` as the staff user, who is recorded in the history."""
        if not change:
            super().save_model(request, obj, form, change)
            document_embedding_requested(obj)
            return None
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
        if not fields:
            return None
        try:
            updated = knowledge_document_update(document=obj, user=request.user, **fields)
        except ValidationError as error:
            self.message_user(request, f"Not saved: {validation_message(error)}", messages.ERROR)
            return None
        obj.version, obj.updated_at = updated.version, updated.updated_at
        return None


class RestoreVersionForm(forms.Form):
    confirm = forms.BooleanField(
        label="Restore this content",
        help_text="The document gets this version's content back as a new version; its history is kept.",
    )


@admin.register(KnowledgeDocumentVersion)
class KnowledgeDocumentVersionAdmin(BaseAdmin):
    """Earlier versions are history: read-only, written by the database."""

    list_display = ("short_id", "document_link", "version", "name", "changed_by_link", "created_at")
    list_filter = (id_filter("document", "document"), "created_at")
    list_select_related = ("document", "changed_by")
    list_defer = (
        "content",
        "description",
        "document__content",
        "document__description",
        "document__embedding",
        "document__search_vector",
        "document__metadata",
        "changed_by__settings",
    )
    search_fields = ("name",)
    uuid_search_fields = ("pk", "document_id")
    search_help_text = "A name, or an id (version or document, full or first 8 characters)."
    date_hierarchy = "created_at"
    fields = ("document", "version", "name", "description", "content", "changed_by", "id", "created_at")
    actions = ("restore_version",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_restore_version_permission(self, request):
        opts = KnowledgeDocument._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.display(description="document", ordering="document__name")
    def document_link(self, obj):
        return admin_link(KnowledgeDocument, obj.document_id, obj.document.name)

    @admin.display(description="replaced by")
    def changed_by_link(self, obj):
        return admin_link(User, obj.changed_by_id, obj.changed_by.email) if obj.changed_by_id else "–"

    @admin.action(description="Restore the selected version into its document", permissions=["restore_version"])
    def restore_version(self, request, queryset):
        return run_form_action(
            self,
            request,
            queryset,
            action="restore_version",
            form_class=RestoreVersionForm,
            title="Restore a version",
            apply=lambda version, data: knowledge_document_restore_version(
                document=version.document, version=version.version, user=request.user
            ),
            describe=lambda version, document, data: (
                f"“{document}” now has the content of version {version.version} as version {document.version}."
            ),
            submit_label="Restore",
            single=True,
        )
