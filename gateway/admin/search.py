"""Search by id (full UUIDs and short ids, the first 8 hex digits), search fields that indexes serve, and
what kind of search a request is."""

import re
import uuid

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q

SHORT_ID = re.compile(r"^[0-9a-fA-F]{8}$")
# How many full ids a short id may stand for, per table searched (8 hex digits: 1 in 4 billion ids).
SHORT_ID_MATCHES = 100
# How many related rows a search through a foreign key (``user__email``, ``asset__original_name``) may
# name; the rows of more related rows than that are not found (narrow the term).
RELATED_MATCHES = 1000
LOOKUPS = {"=": "exact", "^": "istartswith"}


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


def search_field_q(model, spec: str, value: str) -> Q:
    """The condition on ``model`` that ``value`` matches the search field ``spec``.

    ``spec`` is written as in ``search_fields``: ``=field`` an exact match (an email lower-cased first, as
    emails are stored, so the unique index serves it), ``^field`` a prefix, anything else a substring
    (served by a trigram index on ``UPPER(field)`` where the table is big). A field across a foreign key
    (``=user__email``, ``asset__original_name``) is resolved first to the ids of at most
    ``RELATED_MATCHES`` related rows, then matched on the key's own column: one indexed lookup per table,
    and an OR with the row's own fields that a bitmap OR of indexes serves, rather than a join of both tables.
    """
    lookup = LOOKUPS.get(spec[:1], "icontains")
    field = spec[1:] if spec[:1] in LOOKUPS else spec
    name, _, rest = field.partition("__")
    relation = _foreign_key(model, name) if rest else None
    if relation is not None:
        related = relation.related_model
        ids = (
            related._base_manager.filter(search_field_q(related, spec[: len(spec) - len(field)] + rest, value))
            .order_by()
            .values_list("pk", flat=True)
        )
        return Q(**{f"{relation.attname}__in": list(ids[:RELATED_MATCHES])})
    if lookup == "exact" and isinstance(_field(model, field), models.EmailField):
        value = value.lower()
    return Q(**{f"{field}__{lookup}": value})


def _field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _foreign_key(model, name: str):
    field = _field(model, name)
    return field if field is not None and field.many_to_one and field.concrete else None
