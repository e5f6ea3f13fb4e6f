"""Knowledge search against a labelled corpus: each mode finds the right document first, filters hold,
deleted documents never appear, and the database keeps the search vector current."""

import math

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from knowledge.search import knowledge_search, reciprocal_rank_fusion, validate_search_params
from knowledge.tests.corpus import (
    CATEGORIES,
    FUZZY_QUERIES,
    HYBRID_QUERIES,
    TEXT_QUERIES,
    VECTOR_TARGETS,
    category_embedding,
    create_corpus,
    query_embedding_near,
    rebuild_vector_index,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus():
    return create_corpus()


def names(response) -> list[str]:
    return [result["name"] for result in response["results"]]


def explain(sql: str, *settings: str) -> str:
    """The plan of ``sql`` with the given planner settings (e.g. ``enable_seqscan = off``), in this transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting}")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def ranking_sql(captured, marker: str) -> str:
    return next(query["sql"] for query in captured if marker in query["sql"] and "LIMIT" in query["sql"])


# One search per mode, for tests that must hold in every mode.
def mode_search(mode: str, word: str) -> dict:
    """Search arguments of ``mode`` about ``word`` (the vector is the meta-ads direction, for all filters)."""
    return {
        "text": {"query": word},
        "fuzzy": {"query": word, "mode": "fuzzy"},
        "vector": {"embedding": category_embedding("meta-ads")},
        "hybrid": {"query": word, "embedding": category_embedding("meta-ads")},
    }[mode]


MODES = ["text", "fuzzy", "vector", "hybrid"]


class TestFullText:
    @pytest.mark.parametrize(("query", "expected"), TEXT_QUERIES.items())
    def test_puts_the_relevant_document_first(self, corpus, query, expected):
        response = knowledge_search(query=query)
        assert response["mode"] == "text"
        assert names(response)[0] == expected

    def test_a_quoted_phrase_must_appear_as_a_phrase(self, corpus):
        assert names(knowledge_search(query='"daily budget"')) == ["Daily Budget Pacing"]

    def test_minus_excludes_documents_with_the_word(self, corpus):
        found = names(knowledge_search(query="retargeting audiences -tiktok", k=100))
        assert "Meta Retargeting Audiences" in found
        assert "TikTok Retargeting Audiences" not in found

    def test_or_finds_either_word(self, corpus):
        found = names(knowledge_search(query="lookalike OR storyboard", k=100))
        assert set(found) == {"Lookalike Audience Seeds", "Storyboarding Short Videos"}

    def test_words_are_stemmed(self, corpus):
        assert names(knowledge_search(query="storyboards"))[0] == "Storyboarding Short Videos"

    def test_a_match_in_the_name_outranks_one_in_the_content(self):
        in_content = KnowledgeDocumentFactory(name="Notes", description="", content="All about zebras today.")
        in_name = KnowledgeDocumentFactory(name="Zebras", description="", content="All about stripes today.")
        found = [result["id"] for result in knowledge_search(query="zebra")["results"]]
        assert found == [in_name.pk, in_content.pk]

    def test_results_carry_text_rank_and_score_best_first(self, corpus):
        results = knowledge_search(query="audiences OR budget", k=100)["results"]
        assert [result["text_rank"] for result in results] == list(range(1, len(results) + 1))
        assert [result["score"] for result in results] == sorted((result["score"] for result in results), reverse=True)
        assert all(result["vector_rank"] is None and result["distance"] is None for result in results)

    def test_returns_at_most_k_results(self, corpus):
        assert len(knowledge_search(query="audiences OR budget OR creators", k=2)["results"]) == 2

    def test_a_query_of_stop_words_only_finds_nothing(self, corpus):
        assert knowledge_search(query="the and of")["results"] == []

    def test_the_snippet_highlights_the_matches(self, corpus):
        snippet = knowledge_search(query="hook rate")["results"][0]["snippet"]
        assert "<mark>Hook</mark> <mark>rate</mark>" in snippet

    def test_the_snippet_is_html_escaped(self):
        KnowledgeDocumentFactory(name="Markup", content="When CTR < 1% & CPC > 2, rewrite the <b>caption</b>.")
        snippet = knowledge_search(query="caption")["results"][0]["snippet"]
        assert "&lt; 1% &amp; CPC &gt; 2" in snippet
        assert "<b>" not in snippet
        assert "<mark>caption</mark>" in snippet

    def test_headlines_are_computed_for_the_returned_page_only(self, corpus):
        with CaptureQueriesContext(connection) as captured:
            response = knowledge_search(query="audiences OR budget OR creators OR video", k=2)
        headline_queries = [query["sql"] for query in captured if "ts_headline" in query["sql"]]
        assert len(headline_queries) == 1
        # The headline query is restricted to the page's ids, nothing else.
        for result in response["results"]:
            assert result["id"].hex in headline_queries[0]
        assert headline_queries[0].count("::uuid") == 2
        assert "@@" not in headline_queries[0]

    def test_the_gin_index_can_serve_the_match(self, corpus):
        with CaptureQueriesContext(connection) as captured:
            knowledge_search(query="audiences")
        plan = explain(ranking_sql(captured, "@@"), "enable_seqscan = off")
        assert "knowledge_doc_search_idx" in plan


class TestSearchVectorFollowsUpdates:
    def test_through_the_orm(self):
        document = KnowledgeDocumentFactory(content="Original wording about kangaroos.")
        document.content = "Rewritten wording about platypuses."
        document.save()
        assert names(knowledge_search(query="platypus")) == [document.name]
        assert names(knowledge_search(query="kangaroo")) == []

    def test_through_a_queryset_update(self):
        document = KnowledgeDocumentFactory(content="Original wording about kangaroos.")
        KnowledgeDocument.objects.filter(pk=document.pk).update(description="Wombats welcome.")
        assert names(knowledge_search(query="wombat")) == [document.name]

    def test_through_raw_sql(self):
        document = KnowledgeDocumentFactory(name="Marsupials", content="Original wording about kangaroos.")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE knowledge_documents SET content = %s, name = %s WHERE id = %s",
                ["Rewritten wording about platypuses.", "Monotremes", document.pk],
            )
        assert names(knowledge_search(query="platypus")) == ["Monotremes"]
        assert names(knowledge_search(query="monotreme")) == ["Monotremes"]
        assert names(knowledge_search(query="kangaroo OR marsupials")) == []


class TestFuzzy:
    @pytest.mark.parametrize(("query", "expected"), FUZZY_QUERIES.items())
    def test_puts_the_document_meant_by_a_misspelt_name_first(self, corpus, query, expected):
        response = knowledge_search(query=query, mode="fuzzy")
        assert response["mode"] == "fuzzy"
        assert names(response)[0] == expected

    def test_full_text_alone_misses_the_misspelt_name(self, corpus):
        assert "Meta Ads Optimization Guide" not in names(knowledge_search(query="Meta Adz optimisation"))

    def test_finds_nothing_for_an_unrelated_query(self, corpus):
        assert knowledge_search(query="xylophone quartet", mode="fuzzy")["results"] == []

    def test_scores_are_word_similarities_best_first(self, corpus):
        results = knowledge_search(query="retargeting", mode="fuzzy", k=100)["results"]
        scores = [result["score"] for result in results]
        assert scores == sorted(scores, reverse=True)
        assert all(0 < score <= 1 for score in scores)

    def test_the_trigram_index_can_serve_the_match(self, corpus):
        with CaptureQueriesContext(connection) as captured:
            knowledge_search(query="Meta Adz optimisation", mode="fuzzy")
        plan = explain(ranking_sql(captured, "%>"), "enable_seqscan = off")
        assert "knowledge_doc_name_trgm_idx" in plan


class TestVector:
    @pytest.mark.parametrize("target", VECTOR_TARGETS)
    def test_puts_the_nearest_document_first(self, corpus, target):
        response = knowledge_search(embedding=query_embedding_near(target))
        assert response["mode"] == "vector"
        assert names(response)[0] == target

    @pytest.mark.parametrize("category", CATEGORIES)
    def test_a_category_direction_finds_that_categorys_documents_first(self, corpus, category):
        size = sum(1 for document in corpus.values() if document.category == category)
        results = knowledge_search(embedding=category_embedding(category), k=size)["results"]
        assert {result["category"] for result in results} == {category}

    def test_documents_without_an_embedding_never_appear(self, corpus):
        KnowledgeDocument.objects.filter(name="Daily Budget Pacing").update(embedding=None)
        found = names(knowledge_search(embedding=query_embedding_near("Daily Budget Pacing"), k=100))
        assert "Daily Budget Pacing" not in found
        assert len(found) == len(corpus) - 1

    def test_results_carry_distance_rank_and_cosine_similarity(self, corpus):
        results = knowledge_search(embedding=query_embedding_near("Attribution Windows"), k=5)["results"]
        assert [result["vector_rank"] for result in results] == [1, 2, 3, 4, 5]
        distances = [result["distance"] for result in results]
        assert distances == sorted(distances)
        assert all(result["score"] == pytest.approx(1 - result["distance"]) for result in results)
        assert all(result["text_rank"] is None for result in results)

    def test_a_snippet_is_the_start_of_the_content(self, corpus):
        result = knowledge_search(embedding=query_embedding_near("Lighting on a Budget"), k=1)["results"][0]
        assert result["snippet"].startswith("A large window as key light")
        assert "<mark>" not in result["snippet"]

    @pytest.mark.parametrize("scale", [1e-200, 1e-30, 1e30, 3e38])
    def test_the_length_of_the_query_does_not_matter(self, corpus, scale):
        embedding = [value * scale for value in query_embedding_near("Brand Safety Controls")]
        results = knowledge_search(embedding=embedding, k=3)["results"]
        assert results[0]["name"] == "Brand Safety Controls"
        assert results[0]["distance"] == pytest.approx(
            knowledge_search(embedding=query_embedding_near("Brand Safety Controls"), k=1)["results"][0]["distance"],
            abs=1e-6,
        )

    def test_a_stored_embedding_without_a_defined_distance_is_left_out(self, corpus):
        KnowledgeDocumentFactory(name="Overflowing", embedding=[3e38] * EMBEDDING_DIMENSIONS)
        found = names(knowledge_search(embedding=category_embedding("tiktok"), k=100))
        assert "Overflowing" not in found
        assert len(found) == len(corpus)

    def test_ef_search_comes_from_settings(self, corpus, settings):
        settings.KNOWLEDGE_EF_SEARCH = 123
        with CaptureQueriesContext(connection) as captured:
            knowledge_search(embedding=query_embedding_near("Attribution Windows"))
        assert any("'hnsw.ef_search', '123'" in query["sql"] for query in captured)

    def test_ef_search_is_at_least_the_list_length(self, corpus, settings):
        settings.KNOWLEDGE_EF_SEARCH = 5
        with CaptureQueriesContext(connection) as captured:
            knowledge_search(embedding=query_embedding_near("Attribution Windows"), k=30)
        assert any("'hnsw.ef_search', '30'" in query["sql"] for query in captured)

    def test_the_hnsw_index_serves_the_search(self, corpus):
        with CaptureQueriesContext(connection) as captured:
            knowledge_search(embedding=query_embedding_near("Attribution Windows"))
        plan = explain(ranking_sql(captured, "<=>"), "enable_seqscan = off")
        assert "knowledge_doc_embedding_idx" in plan


class TestFilteredVectorSearchKeepsItsResults:
    """With a small ``ef_search``, the HNSW walk finds few documents that pass a filter; iterative scans
    keep walking until ``k`` pass. The plan is checked to be the HNSW index scan."""

    def search_through_the_index(self, settings, iterative_scan: str):
        settings.KNOWLEDGE_EF_SEARCH = 1
        settings.KNOWLEDGE_ITERATIVE_SCAN = iterative_scan
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            with CaptureQueriesContext(connection) as captured:
                response = knowledge_search(embedding=query_embedding_near("Daily Budget Pacing"), tags=["tiktok"], k=4)
            plan = explain(
                ranking_sql(captured, "<=>"),
                "enable_seqscan = off",
                "enable_bitmapscan = off",
                "hnsw.iterative_scan = " + iterative_scan,
            )
            transaction.set_rollback(True)
        assert "knowledge_doc_embedding_idx" in plan
        return response

    @pytest.mark.parametrize("iterative_scan", ["relaxed_order", "strict_order"])
    def test_iterative_scans_return_k_documents_that_pass_the_filter(self, corpus, settings, iterative_scan):
        results = self.search_through_the_index(settings, iterative_scan)["results"]
        assert len(results) == 4
        assert all("tiktok" in result["tags"] for result in results)
        distances = [result["distance"] for result in results]
        assert distances == sorted(distances)

    def test_without_them_the_filter_starves_the_list(self, corpus, settings):
        assert len(self.search_through_the_index(settings, "off")["results"]) < 4


class TestHybrid:
    @pytest.mark.parametrize(("query", "target"), HYBRID_QUERIES)
    def test_fusion_puts_the_document_meant_first(self, corpus, query, target):
        response = knowledge_search(query=query, embedding=query_embedding_near(target, noise=0.9))
        assert response["mode"] == "hybrid"
        assert names(response)[0] == target

    def test_fusion_beats_either_list_alone(self, corpus):
        query, embedding = "audiences", query_embedding_near("Lookalike Audience Seeds", noise=0.9)
        best = knowledge_search(query=query, embedding=embedding)["results"][0]
        assert best["name"] == "Lookalike Audience Seeds"
        assert best["text_rank"] > 1
        assert names(knowledge_search(query=query))[0] != "Lookalike Audience Seeds"

    def test_each_result_carries_its_fused_score_and_both_ranks(self, corpus):
        results = knowledge_search(query="budget", embedding=query_embedding_near("Daily Budget Pacing"), k=20)[
            "results"
        ]
        for result in results:
            ranks = [rank for rank in (result["text_rank"], result["vector_rank"]) if rank is not None]
            assert result["score"] == pytest.approx(sum(1 / (60 + rank) for rank in ranks))
        assert any(result["text_rank"] is None for result in results)
        assert all(result["vector_rank"] is not None for result in results)
        assert [result["score"] for result in results] == sorted((result["score"] for result in results), reverse=True)

    def test_the_snippet_highlights_the_text_query(self, corpus):
        best = knowledge_search(query="budget", embedding=query_embedding_near("Daily Budget Pacing"))["results"][0]
        assert "<mark>budget</mark>" in best["snippet"]

    def test_a_query_without_text_matches_falls_back_to_the_vector_list(self, corpus):
        response = knowledge_search(query="the", embedding=query_embedding_near("Brand Safety Controls"))
        assert names(response)[0] == "Brand Safety Controls"


def test_reciprocal_rank_fusion_sums_reciprocal_ranks():
    fused = reciprocal_rank_fusion([("a", 0.9), ("b", 0.5)], [("b", 0.1), ("c", 0.2)])
    assert [(pk, score) for pk, score, _ in fused] == [
        ("b", pytest.approx(1 / 62 + 1 / 61)),
        ("a", pytest.approx(1 / 61)),
        ("c", pytest.approx(1 / 62)),
    ]
    assert fused[0][2] == {"text_rank": 2, "text_score": 0.5, "vector_rank": 1, "distance": 0.1}


class TestFilters:
    @pytest.mark.parametrize("mode", MODES)
    def test_a_category_filter_never_returns_another_category(self, corpus, mode):
        results = knowledge_search(**mode_search(mode, "video"), category="creative", k=100)["results"]
        assert results
        assert {result["category"] for result in results} == {"creative"}

    @pytest.mark.parametrize("mode", MODES)
    def test_any_tags_returns_documents_with_at_least_one(self, corpus, mode):
        wanted = {"audiences", "budget"}
        results = knowledge_search(**mode_search(mode, "audiences"), tags=sorted(wanted), k=100)["results"]
        assert results
        assert all(wanted & set(result["tags"]) for result in results)

    @pytest.mark.parametrize("mode", MODES)
    def test_all_tags_returns_documents_with_every_one(self, corpus, mode):
        wanted = {"meta", "audiences"}
        search = mode_search(mode, "audiences")
        results = knowledge_search(**search, tags=sorted(wanted), tags_mode="all", k=100)["results"]
        assert results
        assert all(wanted <= set(result["tags"]) for result in results)

    @pytest.mark.parametrize("mode", MODES)
    def test_category_and_tags_combine(self, corpus, mode):
        search = mode_search(mode, "audiences")
        results = knowledge_search(**search, category="tiktok", tags=["audiences"], k=100)["results"]
        assert results
        assert all(result["category"] == "tiktok" and "audiences" in result["tags"] for result in results)

    @pytest.mark.parametrize("mode", MODES)
    def test_an_unknown_category_finds_nothing(self, corpus, mode):
        assert knowledge_search(**mode_search(mode, "audiences"), category="nowhere")["results"] == []


class TestDeletedDocuments:
    SEARCHES = {
        "text": {"query": "hook rate"},
        "fuzzy": {"query": "Hook Rate", "mode": "fuzzy"},
        "vector": {"embedding": query_embedding_near("Hook Rate: The First Three Seconds")},
        "hybrid": {"query": "hook rate", "embedding": query_embedding_near("Hook Rate: The First Three Seconds")},
    }

    @pytest.mark.parametrize("mode", SEARCHES)
    def test_never_appear(self, corpus, mode):
        document = corpus["Hook Rate: The First Three Seconds"]
        assert document.name in names(knowledge_search(**self.SEARCHES[mode], k=100))
        document.soft_delete()
        assert document.name not in names(knowledge_search(**self.SEARCHES[mode], k=100))

    def test_appear_again_when_restored(self, corpus):
        document = corpus["Hook Rate: The First Three Seconds"]
        document.soft_delete()
        document.restore()
        assert names(knowledge_search(query="hook rate"))[0] == document.name


class TestModeChoice:
    def test_query_and_embedding_mean_hybrid(self, corpus):
        assert knowledge_search(query="budget", embedding=category_embedding("tiktok"))["mode"] == "hybrid"

    def test_query_alone_means_text(self, corpus):
        assert knowledge_search(query="budget")["mode"] == "text"

    def test_embedding_alone_means_vector(self, corpus):
        assert knowledge_search(embedding=category_embedding("tiktok"))["mode"] == "vector"

    def test_a_blank_query_with_an_embedding_means_vector(self, corpus):
        assert knowledge_search(query="   ", embedding=category_embedding("tiktok"))["mode"] == "vector"

    def test_an_explicit_mode_wins(self, corpus):
        response = knowledge_search(query="budget", embedding=category_embedding("tiktok"), mode="text")
        assert response["mode"] == "text"
        assert all(result["vector_rank"] is None for result in response["results"])


def test_embeddings_are_stored_in_the_row():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'knowledge_documents'::regclass"
            " AND attname = 'embedding'"
        )
        assert cursor.fetchone()[0] == "p"


def test_a_document_with_every_long_column_still_fits_its_row():
    document = KnowledgeDocumentFactory(
        name="n" * 255,
        description="word " * 20_000,
        content="text " * 200_000,
        tags=[f"{number:03d}" + "t" * 97 for number in range(60)],
        metadata={"notes": "m" * 100_000},
        source="s" * 255,
        author="a" * 255,
        embedding=category_embedding("tiktok"),
    )
    rebuild_vector_index()
    assert knowledge_search(embedding=category_embedding("tiktok"), k=1)["results"][0]["id"] == document.pk


def test_text_search_queryset_orders_by_rank_and_hides_deleted(corpus):
    ranked = list(KnowledgeDocument.objects.text_search("audiences"))
    assert ranked[0].search_rank >= ranked[-1].search_rank
    assert [d.search_rank for d in ranked] == sorted((d.search_rank for d in ranked), reverse=True)
    ranked[0].soft_delete()
    assert ranked[0] not in KnowledgeDocument.objects.text_search("audiences")


VALID_EMBEDDING = [0.01] * EMBEDDING_DIMENSIONS


def with_value(index: int, value) -> list:
    embedding = list(VALID_EMBEDDING)
    embedding[index] = value
    return embedding


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "field", "message"),
        [
            ({"embedding": [0.1] * 3}, "embedding", "exactly 1536 values, got 3"),
            ({"embedding": [0.1] * 1537}, "embedding", "exactly 1536 values, got 1537"),
            ({"embedding": []}, "embedding", "got 0"),
            ({"embedding": "0.1, 0.2"}, "embedding", "list of 1536 numbers"),
            ({"embedding": {"a": 1}}, "embedding", "list of 1536 numbers"),
            ({"embedding": with_value(7, "0.5")}, "embedding", "index 7 is not a number"),
            ({"embedding": with_value(3, None)}, "embedding", "index 3 is not a number"),
            ({"embedding": with_value(0, True)}, "embedding", "index 0 is not a number"),
            ({"embedding": with_value(9, math.nan)}, "embedding", "index 9 is not finite"),
            ({"embedding": with_value(9, math.inf)}, "embedding", "index 9 is not finite"),
            ({"embedding": with_value(9, -math.inf)}, "embedding", "index 9 is not finite"),
            ({"embedding": with_value(2, 1e39)}, "embedding", "float32 range"),
            ({"embedding": with_value(2, 10**400)}, "embedding", "float32 range"),
            ({"embedding": with_value(2, -(10**400))}, "embedding", "float32 range"),
            ({"embedding": [0.0] * EMBEDDING_DIMENSIONS}, "embedding", "all zeros"),
            ({}, "query", "Give a query, an embedding, or both"),
            ({"query": ""}, "query", "Give a query, an embedding, or both"),
            ({"query": "   "}, "query", "Give a query, an embedding, or both"),
            ({"query": 42}, "query", "Must be a string"),
            ({"query": "x" * 1001}, "query", "at most 1000 characters"),
            ({"query": "budget", "k": 0}, "k", "between 1 and 100"),
            ({"query": "budget", "k": 101}, "k", "between 1 and 100"),
            ({"query": "budget", "k": -5}, "k", "between 1 and 100"),
            ({"query": "budget", "k": "10"}, "k", "integer"),
            ({"query": "budget", "k": 2.5}, "k", "integer"),
            ({"query": "budget", "k": True}, "k", "integer"),
            ({"query": "budget", "mode": "semantic"}, "mode", "Unknown mode 'semantic'"),
            ({"mode": "vector"}, "embedding", "Mode 'vector' needs an embedding or a query to embed"),
            ({"query": " ", "mode": "vector"}, "embedding", "Mode 'vector' needs an embedding or a query to embed"),
            ({"embedding": VALID_EMBEDDING, "mode": "text"}, "query", "Mode 'text' needs a non-empty query"),
            ({"embedding": VALID_EMBEDDING, "mode": "fuzzy"}, "query", "Mode 'fuzzy' needs a non-empty query"),
            ({"embedding": VALID_EMBEDDING, "mode": "hybrid"}, "query", "Mode 'hybrid' needs a non-empty query"),
            ({"query": "budget", "tags_mode": "some"}, "tags_mode", "any, all"),
            ({"query": "budget", "embedding_model": " "}, "embedding_model", "non-empty string"),
            ({"query": "budget", "embedding_model": "m" * 101}, "embedding_model", "at most 100 characters"),
            ({"query": "budget", "tags": "meta"}, "tags", "list of strings"),
            ({"query": "budget", "tags": ["meta", 3]}, "tags", "non-empty string"),
            ({"query": "budget", "tags": ["meta", " "]}, "tags", "non-empty string"),
            ({"query": "budget", "tags": ["t"] * 51}, "tags", "At most 50 tags"),
            ({"query": "budget", "category": ""}, "category", "non-empty string"),
            ({"query": "budget", "category": 7}, "category", "non-empty string"),
            ({"query": "bud\x00get"}, "query", "Null characters are not allowed"),
            ({"query": "budget", "category": "a\x00"}, "category", "Null characters are not allowed"),
            ({"query": "budget", "tags": ["ok", "a\x00"]}, "tags", "Null characters are not allowed"),
        ],
    )
    def test_bad_input_names_the_field_and_the_problem(self, kwargs, field, message):
        with pytest.raises(ValidationError) as error:
            knowledge_search(**kwargs)
        assert field in error.value.message_dict
        assert message in error.value.message_dict[field][0]

    def test_every_problem_is_reported_at_once(self):
        with pytest.raises(ValidationError) as error:
            validate_search_params(query="budget", embedding=[1.0], k=0, tags_mode="x")
        assert set(error.value.message_dict) == {"embedding", "k", "tags_mode"}

    def test_integers_are_accepted_in_an_embedding(self):
        params = validate_search_params(embedding=[1] + [0] * (EMBEDDING_DIMENSIONS - 1))
        assert params.embedding[0] == 1.0
        assert isinstance(params.embedding[0], float)

    def test_tags_are_trimmed_and_deduplicated(self):
        assert validate_search_params(query="x", tags=[" meta", "meta", "ads "]).tags == ["meta", "ads"]


@pytest.mark.django_db(transaction=True)
def test_search_settings_do_not_outlive_the_search():
    KnowledgeDocumentFactory(embedding=category_embedding("tiktok"))
    knowledge_search(embedding=category_embedding("tiktok"), query="x", mode="hybrid")
    knowledge_search(query="tiktok", mode="fuzzy")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan'),"
            " current_setting('pg_trgm.word_similarity_threshold'), current_setting('enable_seqscan')"
        )
        assert cursor.fetchone() == ("40", "off", "0.6", "on")
