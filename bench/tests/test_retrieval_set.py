"""The labelled retrieval set and its measures (the benchmark itself embeds 1,016 documents: not a test)."""

import math

from bench.retrieval import ndcg_at_k, recall_at_k
from bench.retrieval.corpus import build
from bench.retrieval.facts import FACTS


def test_has_at_least_100_questions_over_at_least_1000_documents():
    labelled = build()
    assert len(labelled.queries) == len(FACTS) >= 100
    assert len(labelled.documents) >= 1000
    assert len({document.id for document in labelled.documents}) == len(labelled.documents)


def test_is_the_same_every_time():
    first, second = build(), build()
    assert [(d.id, d.name, d.content) for d in first.documents] == [(d.id, d.name, d.content) for d in second.documents]


def test_a_document_is_relevant_exactly_when_it_states_the_fact():
    labelled = build()
    for (_, labels), fact in zip(labelled.queries, FACTS, strict=True):
        stating = {document.id for document in labelled.documents if fact[2] in document.content}
        assert set(labels) == stating
        assert sorted(labels.values(), reverse=True)[:2] == [2, 2]


def test_recall_counts_relevant_documents_in_the_first_ten():
    labels = {"a": 2, "b": 1, "c": 1, "d": 2}
    assert recall_at_k(["a", "x", "c"], labels) == 0.5


def test_ndcg_is_one_for_the_ideal_order_and_less_otherwise():
    labels = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b"], labels) == 1.0
    swapped = (1 / math.log2(2) + 3 / math.log2(3)) / (3 / math.log2(2) + 1 / math.log2(3))
    assert math.isclose(ndcg_at_k(["b", "a"], labels), swapped)
    assert ndcg_at_k(["x"], labels) == 0.0
