"""Seed benchmark: ``seed --scale`` (``gateway.seeding.scale.seed_scale``) against COPY of the same rows.

Both write into the bench database, on top of the 1,000,000-row tables (so they maintain the same indexes),
and both are rolled back, so the data set stays as it is. The figure is rows per second of the whole
``seed_scale`` call (building rows, COPY, ANALYZE); the baseline, measured in the same run and interleaved
with it, is a plain psycopg ``COPY`` of the very rows it writes, built beforehand.
"""

import time
from datetime import UTC, datetime
from random import Random

from bench.harness import Row, median, raw_connection

REPEAT = 3
SCALE = 50
TARGET_SHARE = 0.5
SEED = 4242


def build_batches(scale: int, *, seed: int, now: datetime) -> list[dict]:
    """The batches ``seed_scale(scale, seed=seed, now=now)`` writes, in its order."""
    from gateway.seeding.scale import ScaleGenerator

    generator = ScaleGenerator(Random(seed), now=now)
    return [build(size) for _, build, size in generator.jobs(scale)]


def copy_batches(raw, batches: list[dict]) -> int:
    """COPY every batch in one transaction that is rolled back; the rows written."""
    from gateway.seeding import registered
    from gateway.seeding.scale import copy_rows

    fields = {model: columns for part in registered() for model, columns in part.fields.items()}
    written = 0
    with raw.transaction(force_rollback=True), raw.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        for batch in batches:
            for model, rows in batch.items():
                copy_rows(cursor, model, fields[model], rows)
                written += len(rows)
    return written


def seed_rolled_back(scale: int, *, seed: int, now: datetime):
    """``seed_scale`` inside a transaction that is rolled back; its ``ScaleResult``."""
    from django.db import transaction

    from gateway.seeding.scale import seed_scale

    with transaction.atomic():
        result = seed_scale(scale, seed=seed, now=now)
        transaction.set_rollback(True)
    return result


def run(*, repeat: int = REPEAT, scale: int = SCALE, verbose: bool = False) -> dict:
    now = datetime.now(UTC)
    batches = build_batches(scale, seed=SEED, now=now)
    expected = sum(len(rows) for batch in batches for rows in batch.values())
    seeds, copies, results = [], [], []
    with raw_connection() as raw:
        for _ in range(repeat):
            started = time.perf_counter()
            result = seed_rolled_back(scale, seed=SEED, now=now)
            seeds.append((time.perf_counter() - started) * 1000)
            results.append(result)
            started = time.perf_counter()
            written = copy_batches(raw, batches)
            copies.append((time.perf_counter() - started) * 1000)
            if result.rows != expected or written != expected:
                raise AssertionError(f"seed wrote {result.rows} rows, COPY {written}, expected {expected}")
    seed_rate = expected / (median(seeds) / 1000)
    copy_rate = expected / (median(copies) / 1000)
    last = results[-1]
    row = Row(
        f"seed --scale {scale} ({expected:,} rows, on the data set)",
        "rows/s",
        seed_rate,
        copy_rate,
        None,
        f"≥ {TARGET_SHARE:.0%} of COPY rows/s",
        seed_rate >= TARGET_SHARE * copy_rate,
        {
            "seed_ms": seeds,
            "copy_ms": copies,
            "generate_wait_s": last.generate_seconds,
            "copy_phase_s": last.copy_seconds,
            "analyze_s": last.analyze_seconds,
        },
    )
    if verbose:
        print(
            f"seed --scale {scale}: {median(seeds) / 1000:.2f} s (waiting for rows {last.generate_seconds:.2f} s, "
            f"writing {last.copy_seconds:.2f} s, ANALYZE {last.analyze_seconds:.2f} s); "
            f"COPY of the same rows {median(copies) / 1000:.2f} s"
        )
    return {"rows": [row], "extra": {"scale": scale, "rows_written": expected}}
