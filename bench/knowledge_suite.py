"""The knowledge search benchmark (``bench/knowledge.py``, its own corpus, database and targets) as table rows."""

from bench.harness import Row

UNITS = {"vector_recall": "recall", "filtered_recall": "recall", "vector_median_ms": "ms", "hybrid_median_ms": "ms"}
NAMES = {
    "vector_recall": "knowledge: vector search recall@10",
    "vector_median_ms": "knowledge: vector search median",
    "filtered_recall": "knowledge: filtered vector recall@10 (worst)",
    "hybrid_median_ms": "knowledge: hybrid search median",
}


def run(*, rows: int = 100_000, queries: int = 100, verbose: bool = False) -> dict:
    from bench import knowledge

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
    return {"rows": results, "extra": {"knowledge": figures}}
