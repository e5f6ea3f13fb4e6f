"""Search by id: full UUIDs and short ids (the first 8 hex digits), and what kind of search a request is."""

import re
import uuid

from django.db.models import Q

SHORT_ID = re.compile(r"^[0-9a-fA-F]{8}$")
# How many full ids a short id may stand for, per table searched (8 hex digits: 1 in 4 billion ids).
SHORT_ID_MATCHES = 100


def is_autocomplete(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"


def is_id_term(term: str) -> bool:
    """Whether a search term is an id: a full UUID or a short id (8 hex digits)."""
    try:
        uuid.UUID(term)
    except ValueError:
        return bool(SHORT_ID.match(term))
    return True


def uuid_search_q(model, term: str, fields) -> Q | None:
    """A query on ``fields`` of ``model`` for a full UUID or a short id (its first 8 hex digits), else None.

    ``fields`` are ``"pk"`` and foreign keys (``"asset_id"``). A short id is first resolved to the
    full ids it starts, with a range scan of the primary key of each table it may name; the list is
    then matched exactly. (Filtering on the UUID range directly would leave the planner guessing: it
    cannot estimate ranges of UUIDs, and walks the date index of a big table instead.)
    """
    if not fields:
        return None
    try:
        value = uuid.UUID(term)
    except ValueError:
        if not SHORT_ID.match(term):
            return None
        low, high = uuid.UUID(term.lower() + "0" * 24), uuid.UUID(term.lower() + "f" * 24)
        query = Q()
        for field in fields:
            table = model if field == "pk" else model._meta.get_field(field).related_model
            ids = table._base_manager.filter(pk__gte=low, pk__lte=high).order_by().values_list("pk", flat=True)
            query |= Q(**{f"{field}__in": list(ids[:SHORT_ID_MATCHES])})
        return query
    query = Q()
    for field in fields:
        query |= Q(**{field: value})
    return query
