"""Knowledge search benchmark (not a test): recall and latency of ``knowledge_search`` on a large corpus.

Run it with ``python -m bench.knowledge [--rows 100000] [--queries 100] [--ef-search N] [--keep]``, or call
``run(rows, ...)`` (it returns the figures as a dict). It

1. creates its own database on the configured server (``<default database>_knowledge_bench``, dropped at
   the end unless ``keep``) and migrates the knowledge app into it, so the real schema is measured: the
   generated, weighted ``search_vector``, the triggers and the model's indexes;
2. generates a synthetic corpus: clustered 1536-d embeddings (categories > topics > documents, each topic
   a low-dimensional cloud around its centre, like real text embeddings rather than uniform noise) and
   text drawn from per-topic and shared vocabularies; 0.5 % of documents are soft-deleted, 0.5 % have no
   embedding;
3. loads it with binary ``COPY`` into the table with its indexes dropped, then builds each index and
   reports build time and size;
4. measures, through ``knowledge_search()`` itself: vector search recall@10 against an exact scan
   (brute force over every eligible row) and latency; filtered vector search (category, tag, both) recall
   and latency; full-text, fuzzy and hybrid latency.

Queries are new samples from the same topics as the documents (questions about a topic), not copies of
stored vectors. Latency is wall-clock time of the whole call from Python (validation, the ranking query,
the page query with snippets), on a warm cache, with ``DEBUG`` off.
"""

import argparse
import copy
import json
import os
import statistics
import struct
import sys
import time
import uuid
from datetime import UTC, datetime

TARGETS = {
    "vector_recall": 0.95,
    "vector_median_ms": 10.0,
    "filtered_recall": 0.90,
    "hybrid_median_ms": 25.0,
}
BENCH_ALIAS = "knowledge_bench"
DIMENSIONS = 1536
# The model the synthetic embeddings "come from": search compares a client's embedding only with documents of it.
EMBEDDING_MODEL = "bench-synthetic"
CATEGORIES = 8
DOCS_PER_TOPIC = 250
LATENT_DIMENSIONS = 12
TAGS = [f"tag-{number:02d}" for number in range(24)]
K = 10
EF_SEARCH_SWEEP = (20, 40, 100, 200)
# Latency is the median of every query over this many passes (after an unmeasured warm-up pass).
MEASURED_PASSES = 3
COPY_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "deleted_at",
    "name",
    "description",
    "content",
    "embedding",
    "embedding_model",
    "category",
    "tags",
    "version",
    "source",
    "author",
    "metadata",
)
# Binary COPY is untyped on the wire: the embedding goes as pgvector's binary format, declared as bytea here.
COPY_TYPES = [
    "uuid",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "varchar",
    "text",
    "text",
    "bytea",
    "varchar",
    "varchar",
    "varchar[]",
    "int4",
    "varchar",
    "varchar",
    "jsonb",
]


def run(
    rows: int = 100_000,
    *,
    queries: int = 100,
    ef_search: int | None = None,
    seed: int = 20261125,
    database: str | None = None,
    keep: bool = False,
    verbose: bool = True,
) -> dict:
    """Build a corpus of ``rows`` documents in a database of its own, measure search on it, return the figures.

    ``ef_search`` overrides ``KNOWLEDGE_EF_SEARCH`` for the run. The returned dict holds ``rows``,
    ``timings`` (generate/load seconds), ``indexes`` (build seconds and size per index), ``table_bytes``,
    ``vector``, ``filtered`` (per filter), ``text``, ``fuzzy``, ``hybrid`` (recall@10 where it applies,
    ``median_ms``/``p95_ms``), ``plan`` (the vector query's top plan nodes) and ``targets`` (each target
    with its figure and whether it is met).
    """
    import numpy as np
    from django.test.utils import override_settings

    say = _printer(verbose)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    corpus = _generate_corpus(rng, rows)
    workload = _generate_queries(rng, corpus, queries)
    generate_seconds = time.perf_counter() - started
    say(f"generated {rows:,} documents and {queries} queries in {generate_seconds:.1f}s")

    alias = _create_database(database)
    try:
        load_seconds, indexes, table_bytes = _load(alias, corpus, say)
        overrides = {"DEBUG": False}
        if ef_search is not None:
            overrides["KNOWLEDGE_EF_SEARCH"] = ef_search
        with override_settings(**overrides):
            from django.conf import settings

            from knowledge.search import search_setting

            figures = {
                "rows": rows,
                "dimensions": DIMENSIONS,
                "queries": queries,
                "ef_search": search_setting("KNOWLEDGE_EF_SEARCH"),
                "iterative_scan": search_setting("KNOWLEDGE_ITERATIVE_SCAN"),
                "timings": {"generate_seconds": generate_seconds, "load_seconds": load_seconds},
                "indexes": indexes,
                "table_bytes": table_bytes,
            }
            assert settings.DEBUG is False
            figures.update(_measure(alias, corpus, workload, say))
    finally:
        _drop_database(alias, keep=keep)
    figures["targets"] = _check_targets(figures)
    if verbose:
        print(format_table(figures))
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.knowledge", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="documents to generate (default 100000)")
    parser.add_argument("--queries", type=int, default=100, help="queries per measurement (default 100)")
    parser.add_argument("--ef-search", type=int, default=None, help="override KNOWLEDGE_EF_SEARCH")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--database", default=None, help="bench database name (must contain 'bench')")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    _setup_django()
    figures = run(
        args.rows,
        queries=args.queries,
        ef_search=args.ef_search,
        seed=args.seed,
        database=args.database,
        keep=args.keep,
    )
    if args.json_path:
        with open(args.json_path, "w") as file:
            json.dump(figures, file, indent=2)
    return 0 if all(target["met"] for target in figures["targets"].values()) else 1


def format_table(figures: dict) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"knowledge search benchmark: {figures['rows']:,} documents x {figures['dimensions']} dims, "
        f"{figures['queries']} queries, ef_search={figures['ef_search']}, iterative_scan={figures['iterative_scan']}",
        f"generate {figures['timings']['generate_seconds']:.1f}s, COPY load {figures['timings']['load_seconds']:.1f}s, "
        f"table {_megabytes(figures['table_bytes'])}, shared_buffers {figures['server']['shared_buffers']}, "
        f"{figures['server']['cpus']} CPUs, load average {figures['server']['load_average']}",
        "",
        f"{'index':<28}{'build':>10}{'size':>12}",
    ]
    for name, index in figures["indexes"].items():
        lines.append(f"{name:<28}{index['build_seconds']:>9.1f}s{_megabytes(index['size_bytes']):>12}")
    lines += ["", f"{'search':<28}{'recall@10':>10}{'median':>10}{'p95':>10}{'results':>9}"]
    rows = [("vector", figures["vector"]), ("vector (hot buffers)", figures["vector_hot_buffers"])]
    rows += [(f"vector, {name}", entry) for name, entry in figures["filtered"].items()]
    rows += [("full-text", figures["text"]), ("fuzzy name", figures["fuzzy"]), ("hybrid", figures["hybrid"])]
    for name, entry in rows:
        recall = f"{entry['recall_at_10']:.3f}" if entry.get("recall_at_10") is not None else "-"
        lines.append(
            f"{name:<28}{recall:>10}{entry['median_ms']:>8.2f}ms{entry['p95_ms']:>8.2f}ms{entry['mean_results']:>9.1f}"
        )
    lines += ["", f"{'vector, ef_search sweep':<28}{'recall@10':>10}{'median':>10}{'p95':>10}"]
    for ef_search, entry in figures["ef_search_sweep"].items():
        lines.append(
            f"{'ef_search=' + str(ef_search):<28}{entry['recall_at_10']:>10.3f}{entry['median_ms']:>8.2f}ms"
            f"{entry['p95_ms']:>8.2f}ms"
        )
    agreement = figures["exact_scan_agreement"]
    lines += [
        "",
        "vector plan: " + " / ".join(figures["plan"]),
        f"truth check: brute force and PostgreSQL's exact scan agree on {agreement['identical_top10']} of "
        f"{agreement['queries']} top-10 lists",
        "",
        "targets:",
    ]
    for name, target in figures["targets"].items():
        verdict = "met" if target["met"] else "MISSED"
        lines.append(f"  {name:<20} {target['figure']:.3f} (target {target['target']}) {verdict}")
    return "\n".join(lines)


def _printer(verbose: bool):
    def say(message: str) -> None:
        if verbose:
            print(message, flush=True)

    return say


def _setup_django() -> None:
    # The benchmark is a development tool: the development defaults, without logging every SQL statement.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_SQL", "false")
    import django

    django.setup()


def _generate_corpus(rng, rows: int) -> dict:
    """Documents as arrays: clustered unit embeddings, topics, categories, tags and text."""
    import numpy as np

    topics = max(CATEGORIES, rows // DOCS_PER_TOPIC)
    category_centres = _unit_rows(rng.standard_normal((CATEGORIES, DIMENSIONS), dtype=np.float32))
    topic_category = np.arange(topics) % CATEGORIES
    topic_centres = _unit_rows(
        category_centres[topic_category] + 0.8 * _unit_rows(rng.standard_normal((topics, DIMENSIONS), dtype=np.float32))
    )
    # Each topic spreads its documents along a few directions of its own (low intrinsic dimension).
    topic_bases = _unit_rows(rng.standard_normal((topics * LATENT_DIMENSIONS, DIMENSIONS), dtype=np.float32)).reshape(
        topics, LATENT_DIMENSIONS, DIMENSIONS
    )
    vocabulary = _vocabulary(rng, 6000)
    common_words, topic_pool = vocabulary[:2000], vocabulary[2000:]
    topic_words = np.array([rng.choice(len(topic_pool), size=10, replace=False) for _ in range(topics)])

    doc_topic = rng.integers(0, topics, size=rows)
    embeddings = _sample_embeddings(rng, doc_topic, topic_centres, topic_bases)
    zipf = 1.0 / np.arange(1, len(common_words) + 1)
    zipf /= zipf.sum()

    def words(count: int, topic_share: float) -> np.ndarray:
        common = rng.choice(len(common_words), size=(rows, count), p=zipf)
        topical = topic_words[doc_topic][np.arange(rows)[:, None], rng.integers(0, 10, size=(rows, count))]
        use_topic = rng.random((rows, count)) < topic_share
        return np.where(use_topic, topical + len(common_words), common)

    all_words = np.array(list(common_words) + list(topic_pool), dtype=object)
    content_words = words(100, 0.3)
    description_words = words(12, 0.4)
    name_words = topic_words[doc_topic][np.arange(rows)[:, None], rng.integers(0, 10, size=(rows, 3))]
    tag_choices = np.argsort(rng.random((rows, len(TAGS))), axis=1)[:, :2]
    return {
        "rows": rows,
        "ids": [uuid.UUID(bytes=bytes(rng.bytes(16)), version=4) for _ in range(rows)],
        "embeddings": embeddings,
        "has_embedding": rng.random(rows) >= 0.005,
        "deleted": rng.random(rows) < 0.005,
        "topic": doc_topic,
        "category": topic_category[doc_topic],
        "tags": tag_choices,
        "names": [
            " ".join(topic_pool[w].title() for w in name_words[i]) + f" {common_words[i % 2000]} {i}"
            for i in range(rows)
        ],
        "descriptions": [" ".join(all_words[description_words[i]]) for i in range(rows)],
        "contents": [" ".join(all_words[content_words[i]]) for i in range(rows)],
        "topic_centres": topic_centres,
        "topic_bases": topic_bases,
        "topic_words": [[topic_pool[w] for w in topic_words[t]] for t in range(topics)],
    }


def _generate_queries(rng, corpus: dict, count: int) -> list[dict]:
    """Questions: a fresh embedding from a random topic, two of its words, its category and a random tag."""
    topics = rng.integers(0, len(corpus["topic_words"]), size=count)
    embeddings = _sample_embeddings(rng, topics, corpus["topic_centres"], corpus["topic_bases"])
    workload = []
    for number, topic in enumerate(topics):
        words = rng.choice(corpus["topic_words"][topic], size=2, replace=False)
        workload.append(
            {
                "embedding": embeddings[number],
                "text": " ".join(words),
                "category": int(topic % CATEGORIES),
                "tag": int(rng.integers(0, len(TAGS))),
                "name_typo": _typo(rng, corpus["names"][int(rng.integers(0, corpus["rows"]))]),
            }
        )
    return workload


def _sample_embeddings(rng, topics, centres, bases):
    import numpy as np

    latent = rng.standard_normal((len(topics), LATENT_DIMENSIONS), dtype=np.float32) / np.sqrt(LATENT_DIMENSIONS)
    spread = np.empty((len(topics), DIMENSIONS), dtype=np.float32)
    for topic in np.unique(topics):
        members = np.flatnonzero(topics == topic)
        spread[members] = latent[members] @ bases[topic]
    noise = rng.standard_normal((len(topics), DIMENSIONS), dtype=np.float32) / np.sqrt(DIMENSIONS)
    return _unit_rows(centres[topics] + 0.6 * spread + 0.25 * noise)


def _unit_rows(matrix):
    import numpy as np

    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def _vocabulary(rng, size: int) -> list[str]:
    """Pronounceable made-up words; the final k/x/z keeps them clear of English stop words."""
    syllables = [c + v for c in "bdfglmnprstv" for v in "aeiou"]
    words = set()
    while len(words) < size:
        parts = rng.choice(syllables, size=int(rng.integers(2, 4)))
        words.add("".join(parts) + str(rng.choice(list("kxz"))))
    return sorted(words)


def _typo(rng, name: str) -> str:
    """The name's first two words with one letter changed in each (a misspelt title)."""
    words = name.split()[:2]
    typed = []
    for word in words:
        position = int(rng.integers(1, len(word)))
        typed.append(word[:position] + ("e" if word[position] != "e" else "a") + word[position + 1 :])
    return " ".join(typed)


def _create_database(name: str | None) -> str:
    """Create (afresh) the bench database next to the default one, register it as an alias, migrate it."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections
    from psycopg import sql

    default = connections["default"]
    name = name or f"{default.settings_dict['NAME']}_knowledge_bench"
    if "bench" not in name or name == default.settings_dict["NAME"]:
        raise ValueError(f"refusing to use {name!r} as the bench database (it is dropped and recreated)")
    params = default.get_connection_params()  # also starts the embedded server if that is the default
    server = {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    settings_dict = copy.deepcopy(default.settings_dict)
    settings_dict["NAME"] = name
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "NAME": name}
    options = settings_dict["OPTIONS"]
    options.pop("pool", None)
    options["options"] = "-c statement_timeout=0"  # index builds take minutes
    settings_dict["CONN_MAX_AGE"] = None
    connections.settings[BENCH_ALIAS] = settings_dict
    call_command("migrate", "knowledge", database=BENCH_ALIAS, verbosity=0, interactive=False)
    return BENCH_ALIAS


def _drop_database(alias: str, *, keep: bool) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    settings_dict = connections.settings[alias]
    connections[alias].close()
    del connections[alias]
    del connections.settings[alias]
    if keep:
        return
    params = connections["default"].get_connection_params()
    server = {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(settings_dict["NAME"])))


def _load(alias: str, corpus: dict, say) -> tuple[float, dict, int]:
    """COPY the corpus into the table without its indexes, then build each index; returns timings and sizes."""
    from django.db import DatabaseError, connections

    from knowledge.models import KnowledgeDocument

    connection = connections[alias]
    indexes = KnowledgeDocument._meta.indexes
    with connection.schema_editor() as editor:
        for index in indexes:
            editor.remove_index(KnowledgeDocument, index)

    started = time.perf_counter()
    now = datetime.now(UTC)
    header = struct.pack(">HH", DIMENSIONS, 0)
    big_endian = corpus["embeddings"].astype(">f4")
    connection.ensure_connection()
    columns = ", ".join(COPY_COLUMNS)
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY knowledge_documents ({columns}) FROM STDIN (FORMAT BINARY)") as copy_in,
    ):
        copy_in.set_types(COPY_TYPES)
        for i in range(corpus["rows"]):
            copy_in.write_row(
                (
                    corpus["ids"][i],
                    now,
                    now,
                    now if corpus["deleted"][i] else None,
                    corpus["names"][i],
                    corpus["descriptions"][i],
                    corpus["contents"][i],
                    header + big_endian[i].tobytes() if corpus["has_embedding"][i] else None,
                    EMBEDDING_MODEL,
                    f"category-{corpus['category'][i]}",
                    [TAGS[t] for t in corpus["tags"][i]],
                    1,
                    "bench",
                    None,
                    {},
                )
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE knowledge_documents")
    load_seconds = time.perf_counter() - started
    say(f"loaded with COPY in {load_seconds:.1f}s")

    built = {}
    with connection.cursor() as cursor:
        # The HNSW graph of 100k x 1536 floats needs ~1 GB to be built in memory (much slower otherwise).
        cursor.execute("SET maintenance_work_mem = '2GB'")
        cursor.execute("SET max_parallel_maintenance_workers = %s", [max(1, (os.cpu_count() or 2) - 1)])
    for index in sorted(indexes, key=lambda index: index.name != "knowledge_doc_embedding_idx"):
        started = time.perf_counter()
        with connection.schema_editor() as editor:
            editor.add_index(KnowledgeDocument, index)
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size(%s::regclass)", [index.name])
            size = cursor.fetchone()[0]
        built[index.name] = {"build_seconds": seconds, "size_bytes": size}
        say(f"built {index.name} in {seconds:.1f}s ({_megabytes(size)})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE knowledge_documents")
        cursor.execute("SELECT pg_table_size('knowledge_documents')")
        table_bytes = cursor.fetchone()[0]
    # Flush the freshly built indexes now, so the checkpointer does not write them during the measurements.
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:  # not a superuser (nor pg_checkpoint): measure anyway
        pass
    return load_seconds, built, table_bytes


def _measure(alias: str, corpus: dict, workload: list[dict], say) -> dict:
    import numpy as np
    from django.db import connections
    from django.test.utils import override_settings

    from knowledge.search import knowledge_search

    ids = corpus["ids"]
    row_of = {pk: row for row, pk in enumerate(ids)}
    eligible = corpus["has_embedding"] & ~corpus["deleted"]
    embeddings = corpus["embeddings"]
    has_tag = np.zeros((corpus["rows"], len(TAGS)), dtype=bool)
    has_tag[np.arange(corpus["rows"])[:, None], corpus["tags"]] = True

    def search(**kwargs):
        return knowledge_search(using=alias, k=K, embedding_model=EMBEDDING_MODEL, **kwargs)

    def timed(make_kwargs, truth_mask=None) -> dict:
        for query in workload:  # warm-up: the same queries once, unmeasured
            search(**make_kwargs(query))
        latencies, recalls, counts = [], [], []
        for measured_pass in range(MEASURED_PASSES):
            for query in workload:
                started = time.perf_counter()
                response = search(**make_kwargs(query))
                latencies.append((time.perf_counter() - started) * 1000)
                if measured_pass == 0:
                    counts.append(len(response["results"]))
                    if truth_mask is not None:
                        mask = eligible & truth_mask(query)
                        recalls.append(_recall(response["results"], query["embedding"], embeddings, mask, row_of))
        return {
            "recall_at_10": float(np.mean(recalls)) if recalls else None,
            "median_ms": statistics.median(latencies),
            "p95_ms": float(np.percentile(latencies, 95)),
            "mean_results": float(np.mean(counts)),
        }

    everything = np.ones(corpus["rows"], dtype=bool)
    figures = {}
    figures["vector"] = timed(lambda q: {"embedding": q["embedding"]}, lambda q: everything)
    say(f"vector: {figures['vector']}")
    # Each query timed right after a first run of itself: what a server whose shared buffers hold the index
    # would see (with a small shared_buffers, as the embedded server's default, most pages are re-read).
    hot = []
    for query in workload:
        search(embedding=query["embedding"])
        started = time.perf_counter()
        search(embedding=query["embedding"])
        hot.append((time.perf_counter() - started) * 1000)
    figures["vector_hot_buffers"] = {
        "recall_at_10": figures["vector"]["recall_at_10"],
        "median_ms": statistics.median(hot),
        "p95_ms": float(np.percentile(hot, 95)),
        "mean_results": figures["vector"]["mean_results"],
    }
    figures["ef_search_sweep"] = {}
    for ef_search in EF_SEARCH_SWEEP:
        with override_settings(KNOWLEDGE_EF_SEARCH=ef_search):
            figures["ef_search_sweep"][ef_search] = timed(lambda q: {"embedding": q["embedding"]}, lambda q: everything)
    say(f"ef_search sweep: {figures['ef_search_sweep']}")
    figures["filtered"] = {
        "category": timed(
            lambda q: {"embedding": q["embedding"], "category": f"category-{q['category']}"},
            lambda q: corpus["category"] == q["category"],
        ),
        "tag (~8%)": timed(
            lambda q: {"embedding": q["embedding"], "tags": [TAGS[q["tag"]]]},
            lambda q: has_tag[:, q["tag"]],
        ),
        "category + tag (~1%)": timed(
            lambda q: {"embedding": q["embedding"], "category": f"category-{q['category']}", "tags": [TAGS[q["tag"]]]},
            lambda q: (corpus["category"] == q["category"]) & has_tag[:, q["tag"]],
        ),
    }
    say(f"filtered: {figures['filtered']}")
    figures["text"] = timed(lambda q: {"query": q["text"]})
    figures["fuzzy"] = timed(lambda q: {"query": q["name_typo"], "mode": "fuzzy"})
    figures["hybrid"] = timed(lambda q: {"query": q["text"], "embedding": q["embedding"]})
    say(f"text/fuzzy/hybrid: {figures['text']} {figures['fuzzy']} {figures['hybrid']}")
    figures["plan"] = _vector_plan(alias, workload[0]["embedding"])
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        figures["server"] = {
            "shared_buffers": cursor.fetchone()[0],
            "cpus": os.cpu_count(),
            "load_average": " ".join(f"{value:.1f}" for value in os.getloadavg()),
        }
    figures["exact_scan_agreement"] = _exact_scan_agreement(alias, workload[:3], embeddings, eligible, ids)
    return figures


def _recall(results, query, embeddings, mask, row_of) -> float:
    """Share of the true top 10 (exact cosine over ``mask``) found; a tie at the 10th distance counts as found."""
    import numpy as np

    candidates = np.flatnonzero(mask)
    if len(candidates) == 0:
        return 1.0
    distances = 1.0 - embeddings[candidates] @ query
    wanted = min(K, len(candidates))
    kth = np.partition(distances, wanted - 1)[wanted - 1]
    found = sum(1 for result in results if 1.0 - float(embeddings[row_of[result["id"]]] @ query) <= kth + 1e-6)
    return min(found, wanted) / wanted


def _vector_plan(alias: str, embedding) -> list[str]:
    """The top plan nodes of the vector ranking query, with the settings the search uses."""
    from django.db import connections, transaction
    from django.test.utils import CaptureQueriesContext

    from knowledge.search import knowledge_search

    connection = connections[alias]
    with CaptureQueriesContext(connection) as captured:
        knowledge_search(using=alias, embedding=embedding, k=K, embedding_model=EMBEDDING_MODEL)
    ranking = next(query["sql"] for query in captured if "<=>" in query["sql"])
    settings_sql = next(query["sql"] for query in captured if "hnsw.ef_search" in query["sql"])
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(settings_sql)
        cursor.execute("EXPLAIN " + ranking)
        plan = [row[0].strip().split("  (cost")[0] for row in cursor.fetchall()]
    return [line for line in plan if "Scan" in line or line.startswith("Limit")][:2]


def _exact_scan_agreement(alias: str, workload, embeddings, eligible, ids) -> dict:
    """Check the brute-force truth against PostgreSQL's own exact scan (index scans off) on a few queries."""
    import numpy as np
    from django.db import connections, transaction

    agree = 0
    for query in workload:
        vector = "[" + ",".join(repr(float(value)) for value in query["embedding"]) + "]"
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(
                "SELECT id FROM knowledge_documents WHERE deleted_at IS NULL AND embedding IS NOT NULL "
                "ORDER BY embedding <=> %s::vector LIMIT %s",
                [vector, K],
            )
            exact = [row[0] for row in cursor.fetchall()]
        candidates = np.flatnonzero(eligible)
        order = np.argsort(1.0 - embeddings[candidates] @ query["embedding"])[:K]
        agree += len({ids[candidates[i]] for i in order} & set(exact)) == K
    return {"queries": len(workload), "identical_top10": agree}


def _check_targets(figures: dict) -> dict:
    filtered_recall = min(entry["recall_at_10"] for entry in figures["filtered"].values())
    measured = {
        "vector_recall": (figures["vector"]["recall_at_10"], lambda value, target: value >= target),
        "vector_median_ms": (figures["vector"]["median_ms"], lambda value, target: value < target),
        "filtered_recall": (filtered_recall, lambda value, target: value >= target),
        "hybrid_median_ms": (figures["hybrid"]["median_ms"], lambda value, target: value < target),
    }
    return {
        name: {"figure": value, "target": TARGETS[name], "met": bool(check(value, TARGETS[name]))}
        for name, (value, check) in measured.items()
    }


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


if __name__ == "__main__":
    sys.exit(main())
