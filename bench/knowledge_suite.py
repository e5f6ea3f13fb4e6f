"""The knowledge benchmarks as table rows: search at scale (``bench/knowledge.py``, its own corpus, database and
targets) and retrieval quality on the labelled set with the server's embeddings (``bench/retrieval``)."""

from bench.harness import Row

UNITS = {"vector_recall": "recall", "filtered_recall": "recall", "vector_median_ms": "ms", "hybrid_median_ms": "ms"}
NAMES = {
    "vector_recall": "knowledge: vector search recall@10",
    "vector_median_ms": "knowledge: vector search median",
    "filtered_recall": "knowledge: filtered vector recall@10 (worst)",
    "hybrid_median_ms": "knowledge: hybrid search median",
}


def run(*, rows: int = 100_000, queries: int = 100, questions: int | None = None, verbose: bool = False) -> dict:
    from bench import knowledge, retrieval

    # Its own progress lines and table, always: building the corpus and its HNSW index takes minutes.
    figures = knowledge.run(rows, queries=queries, verbose=True)
    results = []
    for name, target in figures["targets"].items():
        unit = UNITS.get(name, "")
        rule = f"< {target['target']} ms" if unit == "ms" else f"≥ {target['target']}"
        label = f"{NAMES.get(name, name)} ({figures['rows']:,} docs)"
        results.append(Row(label, unit, target["figure"], target=rule, met=target["met"]))
    for label, key in (("full-text", "text"), ("fuzzy name", "fuzzy")):
        results.append(
            Row(f"knowledge: {label} search median", "ms", figures[key]["median_ms"], target="reported", met=None)
        )
    quality = retrieval.run(questions=questions, verbose=True)
    results.extend(quality_rows(quality))
    return {"rows": results, "extra": {"knowledge": figures, "retrieval": quality}}


def quality_rows(figures: dict) -> list[Row]:
    """Recall@10 and nDCG@10 per mode (hybrid must beat both others), throughput and latency."""
    quality, rows = figures["quality"], []
    for metric, label in (("recall_at_10", "recall@10"), ("ndcg_at_10", "nDCG@10")):
        best_single = max(quality["text"][metric], quality["vector"][metric])
        for mode in ("text", "vector", "hybrid"):
            is_hybrid = mode == "hybrid"
            rows.append(
                Row(
                    f"knowledge quality: {mode} {label} ({figures['queries']} questions)",
                    "score",
                    quality[mode][metric],
                    target="> text and vector" if is_hybrid else "reported",
                    met=quality[mode][metric] > best_single if is_hybrid else None,
                )
            )
    rows.append(
        Row(
            "knowledge: embedding throughput", "chunks/s", figures["throughput"]["chunks_per_second"], target="reported"
        )
    )
    for name, figure in figures["latency"].items():
        mode, cache_state = name.split("_")
        rows.append(
            Row(
                f"knowledge: {mode} search, server embedding, {cache_state} cache",
                "ms",
                figure["median_ms"],
                target="reported",
            )
        )
    return rows
