"""One HNSW index per model (partial) or one shared index with a model filter: measured on two models' chunks.

``python -m bench.chunk_index [--chunks 50000] [--queries 100]``. In a database of its own (dropped afterwards)
it writes ``--chunks`` chunks for each of two 384-dimension models, as during a change of model when both are
stored: model A's vectors are clustered like real text embeddings (topics around centres), model B's are the
same kind of cloud in another random basis, as a different model's are. Then it measures model A's vector
search (the ranking query of ``knowledge_search``, with its settings) two ways:

- ``partial``: each model's own partial index (``WHERE model = ...``), as the project does;
- ``shared``: one index over every chunk's ``embedding::vector(384)``, the filter ``model = 'A'`` applied
  during the walk (pgvector's iterative scan), as one column per dimension would give;

and reports build time and size of the indexes, recall@10 against an exact scan of A's chunks, and latency.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

DIMENSIONS = 384
TOPICS = 200
K = 10
MODELS = ("model-a", "model-b")


def _vectors(rng, count, basis):
    centres = rng.normal(size=(TOPICS, DIMENSIONS))
    topics = rng.integers(0, TOPICS, size=count)
    vectors = centres[topics] + 0.6 * rng.normal(size=(count, DIMENSIONS))
    vectors = vectors @ basis
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), centres, topics


def measure(chunks: int, queries: int, say=print) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.retrieval import _drop_database, _recreate_database
    from knowledge.search import _vector_settings, vector_literal

    _recreate_database()
    try:
        call_command("migrate", verbosity=0, interactive=False)
        rng = np.random.default_rng(7)
        identity = np.eye(DIMENSIONS)
        rotation, _ = np.linalg.qr(rng.normal(size=(DIMENSIONS, DIMENSIONS)))
        a, centres, _ = _vectors(rng, chunks, identity)
        b, _, _ = _vectors(rng, chunks, rotation)
        asked = centres[rng.integers(0, TOPICS, size=queries)] + 0.6 * rng.normal(size=(queries, DIMENSIONS))
        asked = asked / np.linalg.norm(asked, axis=1, keepdims=True)
        truth = np.argsort(-(a @ asked.T), axis=0)[:K].T  # row numbers of A's exact top 10 per query

        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX knowledge_chunk_e5_small_idx")
            cursor.execute(
                "INSERT INTO knowledge_documents (id, created_at, updated_at, name, content, embedding_model, "
                "category, tags, version, metadata) VALUES (gen_random_uuid(), now(), now(), 'bench', 'bench', "
                "'none', 'bench', '{}', 1, '{}') RETURNING id"
            )
            document = cursor.fetchone()[0]
        started = time.perf_counter()
        raw = connection.connection
        for model, vectors in zip(MODELS, (a, b), strict=True):
            with raw.cursor().copy(
                "COPY knowledge_chunks (id, created_at, updated_at, document_id, model, ordinal, document_version, "
                'start, "end", content, embedding) FROM STDIN'
            ) as copy:
                for number, vector in enumerate(vectors):
                    literal = "[" + ",".join(f"{value:.6f}" for value in vector) + "]"
                    copy.write_row((os.urandom(16).hex(), "now", "now", document, model, number, 1, 0, 1, "x", literal))
        say(f"wrote {2 * chunks:,} chunks in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE knowledge_chunks")

        expression = f"(embedding::vector({DIMENSIONS})) vector_cosine_ops"
        layouts = {
            "partial": [
                f"CREATE INDEX bench_chunk_{i} ON knowledge_chunks USING hnsw ({expression}) "
                f"WITH (m = 16, ef_construction = 64) WHERE model = '{model}'"
                for i, model in enumerate(MODELS)
            ],
            "shared": [
                f"CREATE INDEX bench_chunk_shared ON knowledge_chunks USING hnsw ({expression}) "
                "WITH (m = 16, ef_construction = 64)"
            ],
        }
        figures = {"chunks_per_model": chunks, "queries": queries}
        for layout, statements in layouts.items():
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
                started = time.perf_counter()
                for statement in statements:
                    cursor.execute(statement)
                build = time.perf_counter() - started
                cursor.execute(
                    "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relname LIKE 'bench_chunk_%%'"
                )
                size = int(cursor.fetchone()[0])
            recalls, timings, plans = [], [], set()
            for run in range(2):  # the first pass warms the cache; the second is measured
                for number, query in enumerate(asked):
                    sql = (
                        f"SELECT ordinal FROM knowledge_chunks WHERE model = '{MODELS[0]}' "
                        f"ORDER BY embedding::vector({DIMENSIONS}) <=> %s::vector({DIMENSIONS}) LIMIT {K * 4}"
                    )
                    literal = vector_literal(list(map(float, query)))
                    with connection.cursor() as cursor:
                        cursor.execute("BEGIN")
                        for name, value in _vector_settings(K * 4).items():
                            cursor.execute("SELECT set_config(%s, %s, true)", [name, str(value)])
                        begun = time.perf_counter()
                        cursor.execute(sql, [literal])
                        found = [row[0] for row in cursor.fetchall()][:K]
                        elapsed = (time.perf_counter() - begun) * 1000
                        if run == 1 and number == 0:
                            cursor.execute("EXPLAIN " + sql, [literal])
                            plans.add(" / ".join(row[0].strip() for row in cursor.fetchall()[:2]))
                        cursor.execute("COMMIT")
                    if run == 1:
                        timings.append(elapsed)
                        recalls.append(len(set(found) & set(truth[number].tolist())) / K)
            figures[layout] = {
                "build_seconds": build,
                "index_bytes": size,
                "recall_at_10": statistics.mean(recalls),
                "median_ms": statistics.median(timings),
                "p95_ms": statistics.quantiles(timings, n=20)[-1],
                "plan": sorted(plans),
            }
            result = figures[layout]
            say(
                f"{layout}: build {build:.1f} s, {size / 2**20:.1f} MB, recall@10 {result['recall_at_10']:.3f}, "
                f"median {result['median_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms"
            )
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute("DROP INDEX " + statement.split()[2])
        return figures
    finally:
        _drop_database()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chunk_index", description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=50_000, help="chunks per model (default 50000)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.child:
        import subprocess

        from bench.harness import ROOT, bench_environment

        database = f"{os.environ.get('EMBEDDED_DATABASE') or 'gateway'}_chunk_index_bench"
        command = [sys.executable, "-m", "bench.chunk_index", "--child", *(argv if argv is not None else sys.argv[1:])]
        return subprocess.run(command, cwd=ROOT, env=bench_environment(database)).returncode
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    figures = measure(args.chunks, args.queries, say=lambda line: print(line, flush=True))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
