"""The header's global search: one box on every console page that finds a row of any model.

A term that is an id (a full UUID or its first 8 characters) is looked up in every table; any other term
in the fields each app's model admin declares in ``global_search_fields`` (emails, names, external ids,
GCS URLs; see :class:`~gateway.admin.base.BaseAdmin`). Each model admin derived from ``BaseAdmin`` takes
part, when the staff user may view its model, through its own queryset (the changelist's scoping). Every
lookup is served by an index, and each model costs at most two queries (a short id's range scan, then
the rows), so the page stays fast on tables of millions of rows.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.template.response import TemplateResponse

from gateway.admin.formatting import short_pk
from gateway.admin.links import change_url, changelist_url

# Hits shown per model; "all matches" opens the model's changelist searched for the same term.
GLOBAL_SEARCH_LIMIT = 10
MAX_TERM_LENGTH = 255
# A trigram index cannot narrow a substring shorter than a trigram: such a term would read whole tables.
MIN_TERM_LENGTH = 3


@dataclass(frozen=True)
class Hit:
    """One row found: its title, short id, change page, and whether it is soft-deleted."""

    title: str
    short_id: str
    url: str
    deleted: bool


@dataclass(frozen=True)
class HitGroup:
    """The rows found in one model, at most ``GLOBAL_SEARCH_LIMIT``; ``more`` when there are others."""

    opts: object
    hits: list[Hit]
    more: bool
    changelist_url: str


def searchable_admins(request, site=admin.site) -> list:
    """The model admins the global search asks, in the admin index's order: those the user may view."""
    model_admins = [
        model_admin
        for model, model_admin in site._registry.items()
        if hasattr(model_admin, "get_global_search_q") and model_admin.has_view_or_change_permission(request)
    ]
    return sorted(model_admins, key=lambda model_admin: (model_admin.opts.app_label, model_admin.opts.verbose_name))


def global_search(request, term: str, site=admin.site) -> list[HitGroup]:
    """The rows of every model matching ``term``, grouped by model (models without hits left out)."""
    term = term.strip()[:MAX_TERM_LENGTH]
    if len(term) < MIN_TERM_LENGTH or "\x00" in term:  # PostgreSQL text cannot hold NUL: nothing can match it
        return []
    groups = []
    for model_admin in searchable_admins(request, site):
        query = model_admin.get_global_search_q(term)
        if query is None:
            continue
        rows = list(model_admin.get_global_search_queryset(request).filter(query)[: GLOBAL_SEARCH_LIMIT + 1])
        if not rows:
            continue
        model = model_admin.model
        params = {"q": term}
        if hasattr(model, "deleted_at"):
            params["deleted"] = "all"
        hits = [
            Hit(str(row), short_pk(row.pk), change_url(model, row.pk), getattr(row, "deleted_at", None) is not None)
            for row in rows[:GLOBAL_SEARCH_LIMIT]
        ]
        groups.append(
            HitGroup(model_admin.opts, hits, len(rows) > GLOBAL_SEARCH_LIMIT, changelist_url(model, **params))
        )
    return groups


def global_search_view(request):
    """``/admin/search/?q=...``: the hits of the header's search box, grouped by model."""
    term = request.GET.get("q", "").strip()
    site = admin.site
    context = {
        **site.each_context(request),
        "title": f"Search: {term}" if term else "Search",
        "subtitle": None,
        "global_search_term": term,
        "groups": global_search(request, term, site),
        "limit": GLOBAL_SEARCH_LIMIT,
        "min_length": MIN_TERM_LENGTH,
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/gateway/global_search.html", context)
