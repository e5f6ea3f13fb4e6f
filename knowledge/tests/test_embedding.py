"""Embedding providers (the local model and an OpenAI-compatible server) and chunking."""

import math

import pytest
from django.core.cache import cache
from django.test import override_settings

from conftest import free_port
from knowledge.checks import check_embedding_settings
from knowledge.chunking import split_into_chunks
from knowledge.embedding import (
    EmbeddingError,
    LocalProvider,
    OpenAIProvider,
    TransientEmbeddingError,
    get_provider,
    query_embedding,
)
from knowledge.models import LOCAL_EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL
from knowledge.tests.conftest import SERVED_MODEL


def cosine(a, b) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def openai_provider(url, *, model=SERVED_MODEL, input_type=True, timeout=30.0) -> OpenAIProvider:
    return OpenAIProvider(url=url, api_key="not-needed", model=model, input_type=input_type, timeout=timeout)


class TestLocalProvider:
    def test_is_the_default(self):
        provider = get_provider()
        assert (provider.name, provider.model, provider.dimensions) == ("local", LOCAL_EMBEDDING_MODEL, 384)

    def test_returns_unit_vectors_of_its_dimensions(self):
        vectors = get_provider().embed_documents(["Hooks in the first three seconds.", "Budget pacing."])
        assert [len(vector) for vector in vectors] == [LOCAL_EMBEDDING_DIMENSIONS] * 2
        assert all(math.isclose(cosine(vector, vector), 1.0, rel_tol=1e-5) for vector in vectors)

    def test_a_question_is_nearest_the_passage_that_answers_it(self):
        provider = get_provider()
        passages = provider.embed_documents(
            ["Rotate your creatives every two weeks so the audience does not tire of them.", "Hash emails first."]
        )
        question = provider.embed_query("how often should I change my ad visuals")
        assert cosine(question, passages[0]) > cosine(question, passages[1])

    def test_nothing_to_embed_is_no_call(self):
        assert LocalProvider().embed_documents([]) == []


class TestOpenAIProvider:
    def test_embeds_through_a_real_server_the_same_vectors_as_the_local_model(self, embeddings_server):
        texts = ["Short videos are watched to the end.", "Consent comes before tracking."]
        served = openai_provider(embeddings_server).embed_documents(texts)
        local = get_provider().embed_documents(texts)
        assert [round(cosine(a, b), 3) for a, b in zip(served, local, strict=True)] == [1.0, 1.0]

    def test_sends_the_query_input_type_for_queries(self, embeddings_server):
        text = "how often should I change my ad visuals"
        served = openai_provider(embeddings_server).embed_query(text)
        assert round(cosine(served, get_provider().embed_query(text)), 3) == 1.0
        assert round(cosine(served, get_provider().embed_documents([text])[0]), 3) < 1.0

    def test_is_chosen_by_the_settings(self, embeddings_server):
        with override_settings(EMBEDDING_PROVIDER="openai", EMBEDDING_API_URL=embeddings_server, EMBEDDING_MODEL="m"):
            provider = get_provider()
        assert (provider.name, provider.model, provider.url) == ("openai", "m", f"{embeddings_server}/embeddings")

    def test_a_refused_request_is_an_error_not_worth_retrying(self, embeddings_server):
        provider = openai_provider(embeddings_server.removesuffix("/v1") + "/nowhere")
        with pytest.raises(EmbeddingError, match="answered 404") as raised:
            provider.embed_documents(["text"])
        assert not isinstance(raised.value, TransientEmbeddingError)

    def test_an_unreachable_server_is_a_transient_error(self):
        provider = openai_provider(f"http://127.0.0.1:{free_port()}/v1", timeout=2)
        with pytest.raises(TransientEmbeddingError, match="could not be reached"):
            provider.embed_query("text")


def test_an_unknown_provider_is_refused():
    with override_settings(EMBEDDING_PROVIDER="magic"), pytest.raises(ValueError, match="EMBEDDING_PROVIDER"):
        get_provider()


class CountingProvider:
    """The local model, counting its query embeddings."""

    model = LOCAL_EMBEDDING_MODEL

    def __init__(self):
        self.calls = 0

    def embed_query(self, text):
        self.calls += 1
        return get_provider().embed_query(text)


class TestQueryEmbedding:
    def test_is_computed_once_then_served_from_the_cache(self):
        cache.clear()
        provider = CountingProvider()
        first = query_embedding("creative fatigue", provider=provider)
        assert query_embedding("creative fatigue", provider=provider) == first
        assert provider.calls == 1

    def test_is_cached_per_model(self):
        cache.clear()
        provider, other = CountingProvider(), CountingProvider()
        other.model = "another-model"
        query_embedding("creative fatigue", provider=provider)
        query_embedding("creative fatigue", provider=other)
        assert (provider.calls, other.calls) == (1, 1)


class TestSplitIntoChunks:
    def test_a_short_text_is_one_chunk(self):
        assert [chunk.text for chunk in split_into_chunks("One two three.", max_words=10, overlap=2)] == [
            "One two three."
        ]

    def test_blank_text_has_no_chunk(self):
        assert split_into_chunks("  \n ", max_words=10, overlap=2) == []

    def test_windows_overlap_and_cover_every_word(self):
        text = " ".join(f"w{number}" for number in range(25))
        chunks = split_into_chunks(text, max_words=10, overlap=3)
        assert [chunk.text.split()[0] for chunk in chunks] == ["w0", "w7", "w14", "w21"]
        assert all(len(chunk.text.split()) <= 10 for chunk in chunks)
        assert chunks[-1].text.split()[-1] == "w24"

    def test_offsets_point_into_the_content(self):
        text = "Alpha beta.\n\nGamma delta epsilon. Zeta eta theta iota."
        for chunk in split_into_chunks(text, max_words=4, overlap=1):
            assert text[chunk.start : chunk.end] == chunk.text

    def test_a_window_ends_at_a_sentence_when_it_can(self):
        text = "One two three four five six. Seven eight nine ten eleven twelve."
        assert split_into_chunks(text, max_words=8, overlap=1)[0].text == "One two three four five six."

    @pytest.mark.parametrize(("max_words", "overlap"), [(0, 0), (5, 5), (5, -1)])
    def test_refuses_impossible_windows(self, max_words, overlap):
        with pytest.raises(ValueError):
            split_into_chunks("text", max_words=max_words, overlap=overlap)


class TestChecks:
    def test_pass_with_the_defaults(self):
        assert check_embedding_settings(None) == []

    def test_an_unknown_provider_is_an_error(self):
        with override_settings(EMBEDDING_PROVIDER="magic"):
            assert [error.id for error in check_embedding_settings(None)] == ["knowledge.E001"]

    def test_an_overlap_as_long_as_the_chunk_is_an_error(self):
        with override_settings(EMBEDDING_CHUNK_WORDS=30, EMBEDDING_CHUNK_OVERLAP=30):
            assert [error.id for error in check_embedding_settings(None)] == ["knowledge.E002"]
