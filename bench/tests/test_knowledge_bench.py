"""A fast smoke run of the knowledge benchmark, as a separate process (it creates and drops a database of its
own, which the test database machinery of this process would refuse)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "knowledge.json"
    database = f"smoke_{os.getpid()}_knowledge_bench"
    command = [sys.executable, "-m", "bench.knowledge", "--rows", "300", "--queries", "10"]
    command += ["--database", database, "--json", str(output)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode in (0, 1), completed.stderr  # 1: a target missed, which 300 rows cannot judge
    assert "knowledge search benchmark" in completed.stdout
    return {"database": database, **json.loads(output.read_text())}


def test_reports_every_index_with_its_build_time_and_size(figures):
    assert set(figures["indexes"]) == {
        "knowledge_doc_category_idx",
        "knowledge_doc_version_idx",
        "knowledge_doc_created_at_idx",
        "knowledge_doc_tags_idx",
        "knowledge_doc_search_idx",
        "knowledge_doc_name_trgm_idx",
        "knowledge_doc_embedding_idx",
        "knowledge_doc_embed_todo_idx",
    }
    assert all(index["size_bytes"] > 0 and index["build_seconds"] >= 0 for index in figures["indexes"].values())


def test_measures_recall_and_latency_of_every_mode(figures):
    assert figures["rows"] == 300
    assert figures["vector"]["recall_at_10"] >= 0.9
    assert all(entry["recall_at_10"] >= 0.9 for entry in figures["filtered"].values())
    for entry in [figures["vector"], figures["text"], figures["fuzzy"], figures["hybrid"]]:
        assert 0 < entry["median_ms"] <= entry["p95_ms"]
    assert figures["hybrid"]["mean_results"] == 10
    assert figures["text"]["mean_results"] > 0


def test_its_truth_agrees_with_the_databases_exact_scan(figures):
    assert figures["exact_scan_agreement"] == {"queries": 3, "identical_top10": 3}


def test_judges_the_targets(figures):
    assert set(figures["targets"]) == {"vector_recall", "vector_median_ms", "filtered_recall", "hybrid_median_ms"}
    assert all(isinstance(target["met"], bool) for target in figures["targets"].values())


@pytest.mark.django_db
def test_drops_its_database(figures):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [figures["database"]])
        assert cursor.fetchone()[0] == 0
