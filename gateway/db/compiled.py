"""Queries whose SQL Django builds and compiles once per shape; each call only runs it with its own values.

Building a queryset and compiling it to SQL is most of what a small query costs in Python (a top-clips read:
half of it, a score update: a third), and it is the same work each time the same query runs with other values.
A ``CompiledQuery`` has Django do it once per *shape* and keeps the SQL::

    top_clips = CompiledQuery(lambda asset, min_score: Clip.objects.filter(asset=asset, score__gte=min_score))
    top_clips(asset=asset_id, min_score=0.5)  # a list of Clip instances, as list(queryset) would give

The builder returns a queryset (read as ``list()`` reads it: model instances, or dicts for ``values()``), a
``CountOf(queryset)`` (``queryset.count()``) or, for a write, ``(queryset, changes)``:
``queryset.update_returning(**changes)``'s ``UPDATE ... RETURNING``. ``window(start, stop, **values)`` reads the
rows ``start`` to ``stop`` of a read (``queryset[start:stop]``) with its bounds sent as parameters, so that one
plan serves every page of a list (Django writes a slice's bounds into the SQL text).

How the SQL is kept: the builder is called twice, with made-up values (sentinels, one set per call, of the
types of the call's values), and Django compiles each. The SQL text must come out the same, and every sentinel
must come out as parameters of its own, at the same positions as the other set's; a call then puts its values
at those positions and sends the SQL. A value Django changes on the way (an ``icontains`` pattern, an int for a
float column, a naive datetime), puts into the SQL text (a slice's ``LIMIT``) or does not send at all cannot be
found so: that shape runs as Django runs it, every time (never wrong, only not faster). A shape is the names of
the call's values, the type of each, the values of the names listed in ``shape`` (those that decide the SQL, as
a ``LIMIT`` does), and the values that are ``None`` or a bool, which always decide it.

A value may also be a model instance (the caller, whose rows a query is scoped to): ``instances`` names the
fields of it the builder decides on (a user's role), which are then part of the shape, and the builder is given a
stand-in of its model with only those fields and a made-up primary key, to be found as the other values are
(or not at all: an ADMIN's query does not name the user). No other field of a caller reaches a kept plan.

The rule for a builder: it uses its values only as query values. Whatever it decides from a value (an ``if``,
a slice bound, a choice of filter) other than its being ``None`` belongs in ``shape``.

Not for querysets that prefetch, lock rows or carry known related objects: those are run by Django each call.
"""

import datetime
import decimal
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, transaction
from django.db.models import sql
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators
from django.utils import timezone

# The types a call's value may have to be a parameter; a value of another type makes its call's shape run by
# Django. Each sentinel is random, so that it cannot stand for a constant the query holds.
SENTINELS = {
    uuid.UUID: lambda value: uuid.uuid4(),
    int: lambda value: random.randrange(2**40, 2**52),
    float: lambda value: random.randrange(2**20, 2**30) + random.random(),
    str: lambda value: f"sentinel-{uuid.uuid4().hex}",
    decimal.Decimal: lambda value: decimal.Decimal(random.randrange(2**20, 2**30)) / 100,
    datetime.datetime: lambda value: (
        datetime.datetime(2001, 1, 1, tzinfo=value.tzinfo) + datetime.timedelta(microseconds=random.randrange(2**40))
    ),
    datetime.date: lambda value: datetime.date(2001, 1, 1) + datetime.timedelta(days=random.randrange(2**16)),
}
# Shapes kept per query: calls past it (shape values nobody expected) run by Django rather than grow the cache.
MAX_SHAPES = 256


@dataclass(frozen=True)
class CountOf:
    """What a builder returns to have its queryset counted: the answer is ``queryset.count()``."""

    queryset: models.QuerySet


def returning_update(queryset: models.QuerySet, changes: dict) -> tuple | None:
    """``queryset.update(**changes)`` as ``UPDATE ... RETURNING`` every concrete column, compiled by Django's update
    compiler: ``(sql, params, compiler, fields)``, or ``None`` when no row can match (``.none()``)."""
    if queryset.query.is_sliced:
        raise TypeError("Cannot update a query once a slice has been taken.")
    if not changes:
        raise TypeError("update_returning() needs at least one change.")
    queryset._for_write = True
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(changes)
    if query.related_updates:
        raise TypeError("update_returning() cannot change a parent model's fields.")
    query.clear_select_clause()
    compiler = query.get_compiler(queryset.db)
    try:
        statement, params = compiler.as_sql()
    except EmptyResultSet:  # no row can match, and update() sends nothing either
        return None
    meta, quote = queryset.model._meta, compiler.connection.ops.quote_name
    fields = meta.concrete_fields
    returning = ", ".join(f"{quote(meta.db_table)}.{quote(field.column)}" for field in fields)
    return f"{statement} RETURNING {returning}", list(params), compiler, fields


@dataclass
class Plan:
    """One shape's SQL, where its values go, and how its rows become what Django would have answered."""

    statement: str
    params: list
    slots: dict  # name -> the positions of its value in params
    queryset: models.QuerySet  # one of the sentinel builds: routes each call (``.db``), as Django would
    converters: list  # [(position, (functions, expression))], compiler.get_converters' items
    load: Callable  # (rows, db) -> the answer
    writes: bool = False
    windowed: bool = False  # a read whose rows may be windowed: no slice of its own, no lock (``window``)

    def run(self, values: dict, window: tuple[int, int] | None = None):
        params = self.params.copy()
        for name, positions in self.slots.items():
            for position in positions:
                params[position] = values[name]
        statement = self.statement
        if window is not None:
            start, stop = window
            statement = f"{statement} LIMIT %s OFFSET %s"
            params += [stop - start, start]
        db = self.queryset.db
        connection = connections[db]
        if self.writes:
            with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
                cursor.execute(statement, params)
                rows = cursor.fetchall()
        else:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                rows = cursor.fetchall()
        if self.converters:
            rows = list(convert(rows, self.converters, connection))
        return self.load(rows, db)


def convert(rows, converters: list, connection):
    """``SQLCompiler.apply_converters`` with the connection of this call (a plan outlives its compiler's)."""
    for row in map(list, rows):
        for position, (functions, expression) in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        yield row


@dataclass
class CompiledQuery:
    """A query built by ``build(**values)``, compiled by Django once per shape (the module's docstring)."""

    build: Callable
    shape: tuple = ()
    # name -> the fields of a model instance given as that value which the builder decides on (a user's role):
    # part of the shape. The builder is given a stand-in of the instance's model with only those fields and a
    # made-up primary key, which must reach the SQL as a parameter (as a filter on the instance does).
    instances: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict, repr=False)

    def __call__(self, **values):
        plan = self.kept_plan(values)
        if plan is None:
            return run_by_django(self.build(**values))
        return plan.run(self.parameters(values))

    def window(self, start: int, stop: int, **values) -> list:
        """The rows ``start`` to ``stop`` (``0 <= start <= stop``) of a read's answer: ``list(queryset[start:stop])``,
        with both bounds sent as parameters, so that the plan of the unsliced read serves every window."""
        if not 0 <= start <= stop:
            raise ValueError(f"A window is 0 <= start <= stop, not {start}:{stop}.")
        if start == stop:
            return []  # as Django answers an empty slice: without a query
        plan = self.kept_plan(values)
        if plan is None or not plan.windowed:
            return list(self.build(**values)[start:stop])
        return plan.run(self.parameters(values), window=(start, stop))

    def kept_plan(self, values: dict) -> "Plan | None":
        """The plan of the call's shape (made and kept on its first call), or ``None`` when Django must run it."""
        key = self.key(values)
        try:
            return self.plans[key]
        except KeyError:
            plan = self.plan(values) if key is not None else None
            if key is not None and len(self.plans) < MAX_SHAPES:
                self.plans[key] = plan
            return plan

    def parameters(self, values: dict) -> dict:
        return {name: value.pk if name in self.instances else value for name, value in values.items()}

    def key(self, values: dict) -> tuple | None:
        """The call's shape, or ``None`` when a value can be neither a parameter nor part of a shape."""
        key = []
        for name, value in sorted(values.items()):
            if name in self.instances:
                if not isinstance(value, models.Model) or type(value.pk) not in SENTINELS:
                    return None
                key.append((name, value.__class__, *(getattr(value, decided) for decided in self.instances[name])))
            elif name in self.shape or value is None or isinstance(value, bool):
                try:
                    hash(value)
                except TypeError:
                    return None
                key.append((name, True, value))
            elif type(value) in SENTINELS:
                key.append((name, False, type(value), getattr(value, "tzinfo", None) is None))
            else:
                return None
        return tuple(key)

    def plan(self, values: dict) -> Plan | None:
        """Compile the call's shape twice with sentinels; ``None`` unless each sentinel is found as a parameter."""
        (first, given_first), (second, given_second) = self.sentinels(values, 0), self.sentinels(values, 1)
        try:
            one, two = (compile_query(self.build(**{**values, **given})) for given in (given_first, given_second))
        except Exception:  # a sentinel Django refuses (a text for a UUID): Django runs this shape
            return None
        if one is None or two is None or one.statement != two.statement or len(one.params) != len(two.params):
            return None
        slots = {name: [] for name in first}
        for position, (a, b) in enumerate(zip(one.params, two.params, strict=True)):
            name = next((name for name, sentinel in first.items() if same(a, sentinel)), None)
            if name is not None and same(b, second[name]):
                slots[name].append(position)
            elif name is not None or any(same(b, sentinel) for sentinel in second.values()) or not same(a, b):
                return None  # a sentinel changed on its way, or a constant that depends on one
        if not all(positions for name, positions in slots.items() if name not in self.instances):
            return None  # a value that never reaches the SQL as itself (an instance's key may not: an ADMIN's)
        one.slots = slots
        return one

    def sentinels(self, values: dict, variant: int) -> tuple[dict, dict]:
        """Set ``variant`` (0 or 1) of sentinels: ``(name -> the parameter to find, name -> what the builder gets)``."""
        found, given = {}, {}
        for name, value in values.items():
            if name in self.instances:
                found[name] = SENTINELS[type(value.pk)](value.pk)
                given[name] = stand_in(value, found[name], self.instances[name], variant)
            elif not (name in self.shape or value is None or isinstance(value, bool)):
                found[name] = given[name] = SENTINELS[type(value)](value)
        return found, given


def stand_in(instance: models.Model, pk, decided: tuple, variant: int) -> models.Model:
    """An unsaved instance of ``instance``'s model with primary key ``pk``, the ``decided`` fields of ``instance`` and
    made-up values in the others: a builder that reads one of those gets another value in each variant, so
    whatever it makes of it cannot come out the same twice and no plan is kept (booleans are True in variant 0 and
    False in 1; fields of other types keep their defaults)."""
    made_up = {}
    for model_field in instance._meta.concrete_fields:
        if model_field.primary_key or model_field.name in decided:
            continue
        if isinstance(model_field, models.BooleanField):
            made_up[model_field.attname] = variant == 0
        elif python_type := made_up_type(model_field.target_field if model_field.is_relation else model_field):
            made_up[model_field.attname] = SENTINELS[python_type](timezone.now())
    return instance.__class__(pk=pk, **made_up, **{name: getattr(instance, name) for name in decided})


def made_up_type(model_field: models.Field) -> type | None:
    """The Python type of a made-up value for ``model_field``, if it has one."""
    for field_class, python_type in (
        (models.UUIDField, uuid.UUID),
        (models.DateTimeField, datetime.datetime),
        (models.DateField, datetime.date),
        ((models.IntegerField, models.AutoField), int),
        (models.FloatField, float),
        (models.DecimalField, decimal.Decimal),
        ((models.CharField, models.TextField), str),
    ):
        if isinstance(model_field, field_class):
            return python_type
    return None


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


def compile_query(built) -> Plan | None:
    """A plan of what a builder returned (its values still the sentinels); ``None`` when Django must run it."""
    if isinstance(built, tuple):
        return update_plan(*built)
    if isinstance(built, CountOf):
        return count_plan(built.queryset)
    return read_plan(built)


def update_plan(queryset: models.QuerySet, changes: dict) -> Plan | None:
    """``queryset.update_returning(**changes)``'s plan: its rows as instances; ``None`` when no row can match."""
    compiled = returning_update(queryset, changes)
    if compiled is None:
        return None
    statement, params, compiler, fields = compiled
    columns = [field.get_col(queryset.model._meta.db_table) for field in fields]
    loader = instances_loader(queryset.model, [field.attname for field in fields])
    return Plan(statement, params, {}, queryset, converters_of(compiler, columns), loader, writes=True)


def read_plan(queryset: models.QuerySet) -> Plan | None:
    """``list(queryset)``'s plan: instances (with their ``select_related`` ones) or ``values()`` dicts."""
    if (
        queryset._prefetch_related_lookups
        or queryset._known_related_objects
        or queryset.query.select_for_update
        or queryset._iterable_class not in (ModelIterable, ValuesIterable)
    ):
        return None
    query = queryset.query
    compiler = query.get_compiler(using=queryset.db)
    try:
        statement, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    if compiler.has_extra_select:
        return None
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    if compiler.has_composite_fields(fields):
        return None
    converters = converters_of(compiler, fields)
    # Django ends an unsliced read (no lock: see above) with its ORDER BY: a window's LIMIT and OFFSET go after it.
    windowed = not query.is_sliced and not query.combinator
    if queryset._iterable_class is ValuesIterable:
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        return Plan(statement, list(params), {}, queryset, converters, dicts_loader(names), windowed=windowed)
    loader = related_instances_loader(compiler)
    return Plan(statement, list(params), {}, queryset, converters, loader, windowed=windowed)


def count_plan(queryset: models.QuerySet) -> Plan | None:
    """``queryset.count()``'s plan: its rows counted as Django counts a sliced or distinct query's, in a subquery."""
    try:
        statement, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return None
    return Plan(f"SELECT COUNT(*) FROM ({statement}) counted", list(params), {}, queryset, [], first_value)


def first_value(rows, db):
    return rows[0][0]


def converters_of(compiler, fields) -> list:
    return list(compiler.get_converters(fields).items())


def dicts_loader(names: list) -> Callable:
    return lambda rows, db: [dict(zip(names, row, strict=True)) for row in rows]


def instances_loader(model, names: list) -> Callable:
    return lambda rows, db: [model.from_db(db, names, row) for row in rows]


def related_instances_loader(compiler) -> Callable:
    """What ``ModelIterable`` does with a compiled query's rows: instances, their ``select_related`` ones and
    annotations."""
    select, klass_info, annotations = compiler.select, compiler.klass_info, compiler.annotation_col_map
    model, start, last = klass_info["model"], klass_info["select_fields"][0], klass_info["select_fields"][-1]
    names = [selected[0].target.attname for selected in select[start : last + 1]]

    def load(rows, db):
        populators = get_related_populators(klass_info, select, db)
        loaded = []
        for row in rows:
            instance = model.from_db(db, names, row[start : last + 1])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in (annotations or {}).items():
                setattr(instance, name, row[position])
            loaded.append(instance)
        return loaded

    return load


def run_by_django(built):
    """What the builder returned, run by Django: the list of a queryset, or its ``update_returning``."""
    if isinstance(built, tuple):
        queryset, changes = built
        return queryset.update_returning(**changes)
    if isinstance(built, CountOf):
        return built.queryset.count()
    return list(built)
