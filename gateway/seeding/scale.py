"""``manage.py seed --scale N``: generate N× a realistic data set and write it with COPY.

The data set grows in *user units*: each generated user brings what the apps' seeding parts add per
unit (``AppSeeding.per_unit``: ten assets of ten clips each, a campaign with experiments and
conversions, daily metrics and predictions, two knowledge documents...). ``--scale 1`` is ten units;
``--scale 1000`` is ten thousand units, i.e. 100,000 assets, 1,000,000 clips and 1,000,000 conversions.

Rows are plain tuples built by the apps' parts with one seeded ``random.Random`` and written with
PostgreSQL's COPY through psycopg 3, one transaction per chunk of units (the rows of a standalone
part, such as knowledge documents, in one transaction of their own). The factory-boy factories are
not used here: building a model instance per row costs far more than writing the row, and speed is
the point of this module (the tests use the factories). Every value respects the models' check
constraints, which the database enforces during COPY anyway; unique values (emails, GCS URLs,
Meta campaign ids, conversion external ids) embed a random UUID, so they collide neither with
existing rows nor with earlier runs.
"""

import functools
import itertools
import operator
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random

import orjson
from django.db import connection, transaction
from psycopg import sql

from gateway import history
from gateway.seeding import AppSeeding, registered

USERS_PER_SCALE = 10
DAY = 86_400.0


def expected_counts(scale: int) -> dict[type, int]:
    """Rows of each model that ``seed --scale scale`` adds."""
    return {
        model: per_unit * USERS_PER_SCALE * scale for part in registered() for model, per_unit in part.per_unit.items()
    }


@dataclass
class ScaleResult:
    """What a scale run wrote and how long it took.

    ``copy_seconds`` is the time spent writing (COPY, commits, index rebuild): all the run's time but
    waiting for rows and ANALYZE. Its rows per second are what COPY alone achieves on this database.
    """

    counts: dict[type, int] = field(default_factory=dict)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    copy_seconds: float = 0.0
    analyze_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def copy_rows_per_second(self) -> float:
        return self.rows / self.copy_seconds if self.copy_seconds else 0.0


def seed_scale(
    scale: int,
    *,
    seed: int | None = None,
    chunk_users: int = 100,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ScaleResult:
    """Generate ``scale`` × the unit data set and write it with COPY.

    Users and everything they own go in one transaction per ``chunk_users`` users; the rows of each
    standalone part (knowledge documents) follow in one transaction of their own. ``seed`` makes the
    rows reproducible (the same seed gives the same ids, so it cannot be loaded twice into one
    database); without it every run is different. ``progress`` is called with the number of rows
    written after each COPY. Tables are analysed at the end so the planner sees the new sizes at once.
    The rows are written without history events (``gateway.history.ignored``).
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    generator = ScaleGenerator(Random(seed), now=now or datetime.now(UTC))
    result = ScaleResult(counts=dict.fromkeys(generator.fields, 0))
    started = time.perf_counter()
    connection.ensure_connection()
    jobs = generator.jobs(scale, chunk_users=chunk_users)
    # Generated rows have no history worth keeping: the history triggers stand aside (docs/HISTORY.md).
    with history.ignored(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-scale") as builder:
        batches = _built_ahead(builder, [(build, size) for _, build, size in jobs], result)
        for part, group in itertools.groupby(jobs, key=operator.itemgetter(0)):
            sizes = [size for _, _, size in group]
            if part is None:
                for batch in itertools.islice(batches, len(sizes)):
                    with transaction.atomic():
                        _write(batch, generator.fields, result, progress)
            else:
                with transaction.atomic(), part.writing(sum(sizes)):
                    for batch in itertools.islice(batches, len(sizes)):
                        _write(batch, generator.fields, result, progress)
    result.copy_seconds = time.perf_counter() - started - result.generate_seconds
    tick = time.perf_counter()
    with connection.cursor() as cursor:
        for model in generator.fields:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    result.analyze_seconds = time.perf_counter() - tick
    result.seconds = time.perf_counter() - started
    return result


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - first) for first in range(0, total, size)]


def _built_ahead(builder: ThreadPoolExecutor, jobs: list[tuple[Callable, int]], result: ScaleResult):
    """Yield ``build(size)`` for each job, building the next batch in ``builder`` while the caller writes.

    COPY mostly waits on the server (index and constraint work) with the GIL released, so rows are
    built nearly for free meanwhile; ``result.generate_seconds`` counts only the time spent waiting
    for them. One batch at a time: the generator's random state is never shared between threads.
    """
    pending = builder.submit(*jobs[0])
    for next_job in [*jobs[1:], None]:
        tick = time.perf_counter()
        batch = pending.result()
        result.generate_seconds += time.perf_counter() - tick
        pending = builder.submit(*next_job) if next_job else None
        yield batch


def _write(batch: dict[type, list[tuple]], fields: dict, result: ScaleResult, progress) -> None:
    """COPY a batch inside the current transaction."""
    with connection.cursor() as cursor:
        # Seeding is maintenance work: the API's per-statement limit does not apply, and a crash
        # losing the last commits of generated data is harmless, so commits need not wait for the disk.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL synchronous_commit = off")
    with connection.connection.cursor() as cursor:
        for model, rows in batch.items():
            copy_rows(cursor, model, fields[model], rows)
            result.counts[model] += len(rows)
            if progress:
                progress(len(rows))


def copy_rows(cursor, model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Write ``rows`` (tuples in ``fields`` order) into ``model``'s table with one COPY."""
    columns = [model._meta.get_field(name).column for name in fields]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def json_text(value) -> str:
    """``value`` as JSON text for COPY (psycopg would send bytes as bytea)."""
    return orjson.dumps(value).decode()


class ScaleGenerator:
    """The rows of a scale run, as tuples in each model's ``fields`` order, from one seeded random generator.

    The apps' seeding parts build the rows; this holds what they share (the random generator, the
    clock, ids) and puts their parts together: ``batch`` gives the rows of whole user units, each part
    adding its share in ``INSTALLED_APPS`` order, and ``jobs`` every batch a run writes, in its order.
    """

    def __init__(self, rng: Random, *, now: datetime, parts: list[AppSeeding] | None = None):
        self.rng = rng
        self.now = now.timestamp()
        self.parts = registered() if parts is None else parts
        self.fields = {model: columns for part in self.parts for model, columns in part.fields.items()}

    def uuid(self) -> str:
        """A random version-4 UUID drawn from the seeded generator (uuid4() would ignore the seed)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, start: float, end: float) -> datetime:
        """A time between two epoch seconds."""
        return datetime.fromtimestamp(start + (end - start) * self.rng.random(), UTC)

    def batch(self, users: int) -> dict[type, list[tuple]]:
        """The rows of ``users`` user units, by model, parents first (standalone parts' rows apart)."""
        unit_parts = [part for part in self.parts if not part.standalone]
        batch = {model: [] for part in unit_parts for model in part.fields}
        for _ in range(users):
            unit = {}
            for part in unit_parts:
                part.add_unit(self, batch, unit)
        return batch

    def jobs(self, scale: int, *, chunk_users: int = 100) -> list[tuple[AppSeeding | None, Callable, int]]:
        """``(part, build, size)`` of every batch a run of ``scale`` writes, in order; ``build(size)`` makes it.

        ``part`` is None for batches of user units, else the standalone part whose rows the batch holds.
        """
        users = USERS_PER_SCALE * scale
        jobs = [(None, self.batch, size) for size in _chunks(users, chunk_users)]
        for part in self.parts:
            if part.standalone:
                count = users * sum(part.per_unit.values())
                build = functools.partial(part.build, self)
                jobs += [(part, build, size) for size in _chunks(count, part.chunk)]
        return jobs
