"""Retrieval quality of knowledge search on a labelled set, embedding throughput and query latency.

``python -m bench.retrieval [--json FILE] [--keep]`` (also part of ``python -m bench knowledge``). In a
database of its own (``<database>_retrieval_bench``, dropped afterwards unless ``--keep``), in a process of
its own pointed at it, it

1. writes the 1,016 documents of the labelled set (``bench/retrieval/corpus.py``) through
   ``knowledge_document_create``, so they start ``PENDING`` as in production;
2. embeds them with ``corpus_reembed`` and the active provider (``EMBEDDING_PROVIDER``): chunks per second;
3. asks the 108 questions (``bench/retrieval/facts.py``) in ``text``, ``vector`` and ``hybrid`` mode through
   ``knowledge_search`` (the vector list from the server's embedding of the question): recall@10 and nDCG@10
   against the labels (grade 2: a document about the fact; 1: one that states it in passing);
4. measures latency of each mode with the question embedded by the server, once with an empty query
   embedding cache (embedding included) and once with it warm.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

K = 10
MODES = ("text", "vector", "hybrid")
ROOT = Path(__file__).resolve().parents[2]


def run(*, database: str | None = None, questions: int | None = None, keep: bool = False, verbose: bool = True) -> dict:
    """Run the benchmark in a child process against its own database; returns its figures.

    ``questions`` keeps only that many of the labelled questions, with documents in proportion (a smoke run).
    """
    from bench.harness import bench_environment

    default = os.environ.get("EMBEDDED_DATABASE") or "gateway"
    database = database or f"{default}_retrieval_bench"
    if "bench" not in database:
        raise ValueError(f"refusing to use {database!r}: it is dropped and recreated")
    env = bench_environment(database)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "retrieval.json"
        command = [sys.executable, "-m", "bench.retrieval", "--child", "--json", str(output)]
        if keep:
            command.append("--keep")
        if questions:
            command += ["--questions", str(questions)]
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=not verbose, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"the retrieval benchmark failed:\n{completed.stderr or ''}")
        return json.loads(output.read_text())


def measure(*, questions: int | None = None, keep: bool = False, say=print) -> dict:
    """In a process whose default database is the bench database: create it, measure, drop it."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    _recreate_database()
    try:
        call_command("migrate", verbosity=0, interactive=False)
        figures = _measure(say, questions)
        figures["settings"] = {
            "provider": getattr(settings, "EMBEDDING_PROVIDER", "local"),
            "chunk_words": settings.EMBEDDING_CHUNK_WORDS,
            "chunk_overlap": settings.EMBEDDING_CHUNK_OVERLAP,
            "hybrid_candidates": getattr(settings, "KNOWLEDGE_HYBRID_CANDIDATES", 50),
        }
    finally:
        if not keep:
            _drop_database()
    return figures


def _measure(say, questions: int | None = None) -> dict:
    from django.core.cache import cache

    from bench.retrieval.corpus import build
    from knowledge.embedding import get_provider
    from knowledge.models import KnowledgeChunk
    from knowledge.search import knowledge_search
    from knowledge.services import corpus_reembed, knowledge_document_create

    labelled = build(questions=questions)
    started = time.perf_counter()
    for document in labelled.documents:
        created = knowledge_document_create(
            name=document.name, content=document.content, category=document.category, tags=document.tags
        )
        type(created).all_objects.filter(pk=created.pk).update(id=document.id)
    say(f"wrote {len(labelled.documents)} documents in {time.perf_counter() - started:.1f} s")

    provider = get_provider()
    provider.embed_query("warm up")  # the model's first call maps its weights: not part of the rate
    last = [0.0]

    def progress(done, total, chunks):
        if time.perf_counter() - last[0] > 15 or done == total:
            last[0] = time.perf_counter()
            say(f"  embedded {done}/{total} documents ({chunks} chunks)")

    embedded = corpus_reembed(provider=provider, progress=progress)
    chunks = KnowledgeChunk.objects.filter(model=provider.model).count()
    throughput = {
        "model": provider.model,
        "documents": embedded["documents"],
        "chunks": chunks,
        "seconds": embedded["seconds"],
        "chunks_per_second": chunks / embedded["seconds"],
    }
    say(f"embedded {chunks} chunks in {embedded['seconds']:.1f} s: {throughput['chunks_per_second']:.1f} chunks/s")

    quality = {}
    for mode in MODES:
        recalls, gains, found = [], [], []
        for question, labels in labelled.queries:
            ids = [item["id"] for item in knowledge_search(query=question, mode=mode, k=K)["results"]]
            recalls.append(recall_at_k(ids, labels))
            gains.append(ndcg_at_k(ids, labels))
            found.append(len(ids))
        quality[mode] = {
            "recall_at_10": statistics.mean(recalls),
            "ndcg_at_10": statistics.mean(gains),
            "queries_without_results": sum(1 for count in found if count == 0),
        }
        say(f"{mode:>6}: recall@10 {quality[mode]['recall_at_10']:.3f}  nDCG@10 {quality[mode]['ndcg_at_10']:.3f}")

    latency = {}
    questions = [question for question, _ in labelled.queries]
    for mode in MODES:
        for cache_state in ("cold", "warm"):
            timings = []
            for question in questions:
                if cache_state == "cold":
                    cache.clear()
                begun = time.perf_counter()
                knowledge_search(query=question, mode=mode, k=K)
                timings.append((time.perf_counter() - begun) * 1000)
            latency[f"{mode}_{cache_state}"] = {
                "median_ms": statistics.median(timings),
                "p95_ms": statistics.quantiles(timings, n=20)[-1],
            }
    for name, figure in latency.items():
        say(f"{name:>12}: median {figure['median_ms']:.1f} ms, p95 {figure['p95_ms']:.1f} ms")
    return {
        "documents": len(labelled.documents),
        "queries": len(labelled.queries),
        "relevant_per_query": statistics.mean(len(labels) for _, labels in labelled.queries),
        "throughput": throughput,
        "quality": quality,
        "latency": latency,
        "hybrid_beats_both": all(
            quality["hybrid"][metric] > max(quality["text"][metric], quality["vector"][metric])
            for metric in ("recall_at_10", "ndcg_at_10")
        ),
    }


def recall_at_k(ids: list, labels: dict, k: int = K) -> float:
    """Share of the relevant documents (any grade) among the first ``k`` results."""
    return sum(1 for pk in ids[:k] if pk in labels) / len(labels)


def ndcg_at_k(ids: list, labels: dict, k: int = K) -> float:
    """Normalised discounted cumulative gain at ``k`` with graded gains ``2**grade - 1``."""
    gain = sum((2 ** labels.get(pk, 0) - 1) / math.log2(rank + 2) for rank, pk in enumerate(ids[:k]))
    ideal = sorted(labels.values(), reverse=True)[:k]
    best = sum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return gain / best


def _server():
    import psycopg
    from django.db import connection
    from psycopg import sql

    params = connection.get_connection_params()  # starts the embedded server when it is the default
    server = {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}
    return psycopg.connect(dbname="postgres", autocommit=True, **server), sql, connection.settings_dict["NAME"]


def _recreate_database() -> None:
    conn, sql, name = _server()
    with conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database() -> None:
    from django.db import connections

    connections.close_all()
    conn, sql, name = _server()
    with conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def format_table(figures: dict) -> str:
    quality = figures["quality"]
    lines = [
        f"retrieval quality: {figures['queries']} labelled questions over {figures['documents']} documents, "
        f"{figures['throughput']['model']}",
        "| mode | recall@10 | nDCG@10 |",
        "| --- | --- | --- |",
        *(f"| {mode} | {quality[mode]['recall_at_10']:.3f} | {quality[mode]['ndcg_at_10']:.3f} |" for mode in MODES),
        f"hybrid beats both: {figures['hybrid_beats_both']}",
        f"embedding: {figures['throughput']['chunks']} chunks in {figures['throughput']['seconds']:.1f} s = "
        f"{figures['throughput']['chunks_per_second']:.1f} chunks/s",
        "| search, query embedded by the server | median | p95 |",
        "| --- | --- | --- |",
        *(
            f"| {name.replace('_', ', ')} cache | {figure['median_ms']:.1f} ms | {figure['p95_ms']:.1f} ms |"
            for name, figure in figures["latency"].items()
        ),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions (a smoke run)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
        figures = measure(questions=args.questions, keep=args.keep, say=lambda line: print(line, flush=True))
    else:
        sys.path.insert(0, str(ROOT))
        figures = run(questions=args.questions, keep=args.keep)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    print(format_table(figures))
    return 0
