"""Many validated rows written with one INSERT whose columns and types are read from the model.

Both ingest endpoints (conversions, performance metrics) write their batch through :func:`bulk_insert`.
The rows travel as one JSON document (encoded by orjson, unpacked in the database by
``jsonb_to_recordset``): far cheaper than a model instance per row (``bulk_create``) or one adapted
array per column (``unnest``). Column names, their PostgreSQL types and the values of the columns a
row leaves out all come from ``Model._meta``, so a field added to a model needs no change here.
"""

import json
import uuid
from collections.abc import Iterable, Sequence

import orjson
from django.db import connection, models
from django.utils import timezone


def insert_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields an INSERT into ``model``'s table writes, in the table's order (generated columns left out)."""
    return [field for field in model._meta.concrete_fields if not field.generated]


def bulk_insert(
    model: type[models.Model],
    rows: Iterable[dict],
    *,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
    keep_when_null: Sequence[str] = (),
    returning: Sequence[str] = ("id",),
) -> list[dict]:
    """Insert ``rows`` into ``model``'s table in one statement; what the database wrote, row by row.

    A row is keyed by field name (a related instance or its id) or column (``campaign_id``). Columns it
    leaves out take the field's default, as ``Model(**row)`` would, except that a default of
    ``timezone.now`` (and ``auto_now``) is one instant for the whole batch and a UUID primary key is
    drawn by the database (``gen_random_uuid()``: cheaper than a ``uuid4()`` per row here).

    With ``unique_fields`` a row that conflicts on them with a stored row (or an earlier row of the
    batch) is not inserted: it is skipped (``ON CONFLICT DO NOTHING``) or, with ``update_fields``, the
    stored row takes its values of those fields (``ON CONFLICT DO UPDATE``), except that a field of
    ``keep_when_null`` keeps its stored value when the new row brings null. The unique index decides,
    so two batches racing each other cannot both insert the same row.

    Returns one ``{column: value}`` per row inserted or updated, with the ``returning`` fields and
    ``created`` (false for a row updated instead of inserted).
    """
    fields = insert_fields(model)
    pk = model._meta.pk
    drawn_by_database = isinstance(pk, models.UUIDField) and pk.default is uuid.uuid4
    now = timezone.now()
    defaults = [
        (field.attname, _batch_default(field, now)) for field in fields if not (field.primary_key and drawn_by_database)
    ]
    keys = {}  # row key -> (column, whether the value may be a related instance)
    documents = []
    for row in rows:
        document = {}
        for key, value in row.items():
            column = keys.get(key)
            if column is None:
                field = model._meta.get_field(key)
                column = keys[key] = (field.attname, field.is_relation)
            attname, relation = column
            document[attname] = value.pk if relation and isinstance(value, models.Model) else value
        for attname, default in defaults:
            if attname not in document:
                document[attname] = default()
        documents.append(document)
    if not documents:
        return []

    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(field.column) for field in fields]
    record = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    selected = [
        f"coalesce({column}, gen_random_uuid())" if field.primary_key and drawn_by_database else column
        for field, column in zip(fields, columns, strict=True)
    ]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM jsonb_to_recordset(%s::jsonb) AS item({record})"
    )
    if unique_fields:
        sql += f" ON CONFLICT ({', '.join(_columns(model, unique_fields))}) "
        if update_fields:
            keep = set(_columns(model, keep_when_null))
            sql += "DO UPDATE SET " + ", ".join(
                f"{column} = coalesce(EXCLUDED.{column}, {table}.{column})"
                if column in keep
                else f"{column} = EXCLUDED.{column}"
                for column in _columns(model, update_fields)
            )
        else:
            sql += "DO NOTHING"
    # A row that ON CONFLICT updated carries this transaction's id in xmax; an inserted row has none.
    returned = _columns(model, returning)
    sql += f" RETURNING {', '.join(returned)}, (xmax = 0)"
    names = [model._meta.get_field(name).attname for name in returning]
    with connection.cursor() as cursor:
        cursor.execute(sql, [_encode(documents)])
        return [{**dict(zip(names, values[:-1], strict=True)), "created": values[-1]} for values in cursor.fetchall()]


def _batch_default(field: models.Field, now):
    """A callable giving the value of ``field`` for a row that leaves it out."""
    if field.default is timezone.now or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda: now
    return field.get_default


def _columns(model: type[models.Model], names: Sequence[str]) -> list[str]:
    return [connection.ops.quote_name(model._meta.get_field(name).column) for name in names]


def _encode(documents: list[dict]) -> str:
    """The rows as one JSON array; decimals, UUIDs and times as the strings PostgreSQL reads back.

    orjson refuses some values the standard library encodes (an integer beyond 64 bits, a key that is
    not a string, both valid in a JSON field): those batches take the standard library.
    """
    try:
        return orjson.dumps(documents, default=str).decode()
    except TypeError:
        return json.dumps(documents, default=_text)


def _text(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
