"""The scale data set every other benchmark reads: built once with ``seed --scale``, then reused.

It lives in a database of its own, ``gateway_bench``, on the same server as the development database
(see ``bench.harness.bench_environment``), so benchmarks never touch development data and other tools
(a load test) can use it too. ``run()`` migrates it, then seeds it unless the row counts are already
there, then ``VACUUM ANALYZE``s it so the planner and the visibility map are those of a settled database.
"""

import time

from bench.harness import Row

# The floor for the data set, per table: what ``seed --scale 1000`` gives (users: 10 per unit).
SCALE = 1000
TABLES = ("users", "assets", "clips", "predictions", "campaigns", "experiments", "conversions")


def minimum_counts(scale: int) -> dict[str, int]:
    """Rows each table must hold for the data set of ``scale`` to count as built."""
    from gateway.seeding.scale import expected_counts

    return {
        model._meta.db_table: count for model, count in expected_counts(scale).items() if model._meta.db_table in TABLES
    }


def counts(connection=None) -> dict[str, int]:
    from django.db import connection as default

    connection = connection or default
    with connection.cursor() as cursor:
        found = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            found[table] = cursor.fetchone()[0]
    return found


def ensure_database() -> None:
    """Create the configured database when it does not exist (the embedded server does that by itself)."""
    import psycopg
    from django.db import connection
    from psycopg import sql

    from bench.harness import server_params

    name = connection.settings_dict["NAME"]
    params = server_params(connection)  # starts the embedded server, which creates its database
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run(*, scale: int = SCALE, seed: int | None = 20261125, verbose: bool = True, vacuum: bool = True) -> dict:
    """Build or reuse the data set of ``scale`` in the configured database; returns rows and figures."""
    from django.core.management import call_command
    from django.db import connection

    say = print if verbose else (lambda *args, **kwargs: None)
    ensure_database()
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrate_seconds = time.perf_counter() - started
    wanted = minimum_counts(scale)
    before = counts()
    reused = all(before[table] >= wanted[table] for table in wanted)
    seed_seconds = vacuum_seconds = 0.0
    if reused:
        say(f"dataset: reusing {connection.settings_dict['NAME']} ({_summary(before)})")
    else:
        say(f"dataset: seeding {connection.settings_dict['NAME']} with seed --scale {scale} (have {_summary(before)})")
        started = time.perf_counter()
        arguments = {"scale": scale, "force": True, "verbosity": 1}
        if seed is not None:
            arguments["seed"] = seed
        try:
            call_command("seed", **arguments)
        except Exception as error:
            if seed is None or "duplicate key" not in str(error):
                raise
            # A half-built set from an interrupted run holds the seeded ids already: add fresh ones.
            arguments.pop("seed")
            call_command("seed", **arguments)
        seed_seconds = time.perf_counter() - started
        if vacuum and not connection.in_atomic_block:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for table in TABLES:
                    cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
            vacuum_seconds = time.perf_counter() - started
    after = counts() if not reused else before
    missing = {table: (after[table], wanted[table]) for table in wanted if after[table] < wanted[table]}
    if missing:
        raise RuntimeError(f"the data set is short of rows after seeding: {missing}")
    rows = [
        Row(
            f"dataset {connection.settings_dict['NAME']}: " + ("reused" if reused else "built"),
            "s",
            migrate_seconds + seed_seconds + vacuum_seconds,
            target=f"≥ seed --scale {scale}",
            met=True,
            extra={"migrate_s": migrate_seconds, "seed_s": seed_seconds, "vacuum_s": vacuum_seconds},
        ),
        *(Row(f"  {table}", "rows", after[table], target=f"≥ {wanted[table]:,}", met=True) for table in TABLES),
    ]
    return {
        "rows": rows,
        "extra": {"reused": reused, "counts": after, "scale": scale, "database": connection.settings_dict["NAME"]},
    }


def _summary(found: dict) -> str:
    return ", ".join(f"{count:,} {table}" for table, count in found.items())
