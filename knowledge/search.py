"""Knowledge search: full-text, fuzzy name, vector and hybrid retrieval.

``knowledge_search()`` is the one entry point (the API, the admin and the benchmark call it). Every mode
works in two steps: a ranking query that returns only ids and scores for the best ``k`` documents, then
a page query that loads those ``k`` documents with their snippet, so ``ts_headline`` (the expensive
part of full-text search) runs for the returned page only, never for every matching row.

- ``text``: ``websearch_to_tsquery('english', query)`` against the weighted, database-generated
  ``search_vector`` (GIN index), ranked by ``ts_rank_cd`` normalised for document length.
- ``fuzzy``: trigram word similarity of the query to ``name`` (``name %> query``, trigram GIN index),
  so typos still find a document by its title.
- ``vector``: cosine distance over an HNSW index, with ``hnsw.ef_search`` from settings and pgvector
  0.8's iterative index scans so category and tag filters do not starve the result list. A client's
  ``embedding`` is compared with the client-supplied document embeddings of the same ``embedding_model``;
  a query without one is embedded here (``knowledge.embedding``) and compared with the chunks of the
  active model, through that model's own partial index; a document ranks by its nearest chunk, which
  becomes its snippet.
- ``hybrid``: reciprocal rank fusion (k = 60) of the full-text and vector lists.

Only documents that are not soft-deleted are ever returned (and, for vector search, that have an
embedding or chunks of current content).
"""

import html
import math
import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, TrigramSimilarity, TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Left
from pgvector.django import CosineDistance, VectorField

from knowledge.embedding import get_provider, query_embedding
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeChunk, KnowledgeDocument
from knowledge.querysets import SEARCH_CONFIG, text_rank, websearch_query

TEXT, FUZZY, VECTOR, HYBRID = "text", "fuzzy", "vector", "hybrid"
MODES = (TEXT, FUZZY, VECTOR, HYBRID)
TAGS_MODES = ("any", "all")
MAX_K = 100
MAX_QUERY_LENGTH = 1000
MAX_TAGS = 50
MAX_MODEL_NAME = 100
# The model a client's embedding comes from when the request does not say (the former schema's default).
DEFAULT_CLIENT_EMBEDDING_MODEL = "text-embedding-3-small"
# Nearest chunks fetched per wanted document: several chunks of one document may come first.
CHUNKS_PER_RESULT = 4
RRF_K = 60
# PostgreSQL text cannot hold NUL.
NUL_MESSAGE = "Null characters are not allowed."
# pgvector stores single-precision floats; anything beyond this overflows to infinity in the database.
FLOAT32_MAX = 3.4028234663852886e38

# Each option is read from settings at call time (tests and the benchmark override them).
DEFAULTS = {
    # HNSW candidate list size: higher is better recall and slower; raised to the list length if smaller.
    "KNOWLEDGE_EF_SEARCH": 100,
    # pgvector 0.8 iterative index scans: "relaxed_order" (results re-sorted here), "strict_order" or "off".
    "KNOWLEDGE_ITERATIVE_SCAN": "relaxed_order",
    # Stop an iterative scan after this many tuples (pgvector's hnsw.max_scan_tuples).
    "KNOWLEDGE_MAX_SCAN_TUPLES": 20_000,
    # Keep the planner off a sequential scan for vector search (pgvector's advice): computing a distance
    # to every 1,536-float embedding costs far more than its cost model assumes, so it may pick one for
    # small tables, slower than the index. Selective filters still get their own index and an exact sort.
    "KNOWLEDGE_VECTOR_AVOID_SEQSCAN": True,
    # pg_trgm word-similarity threshold of fuzzy name matching (pg_trgm's default is 0.6).
    "KNOWLEDGE_FUZZY_THRESHOLD": 0.45,
    # How deep each list goes before hybrid fusion (at least k).
    "KNOWLEDGE_HYBRID_CANDIDATES": 50,
}

# ts_headline marks matches with private-use characters, so the snippet can be HTML-escaped safely and
# the marks turned into <mark> tags afterwards.
_MARK_START, _MARK_STOP = "\ue000", "\ue001"
SNIPPET_WORDS = (15, 35)
SNIPPET_FRAGMENTS = 2
SNIPPET_FRAGMENT_DELIMITER = " … "
SNIPPET_PLAIN_CHARS = 300
# What makes a query web-search syntax rather than plain words: a quote, an excluded ``-word``, ``OR``.
WEBSEARCH_OPERATORS = re.compile(r'"|(?:^|\s)-\S|\sOR\s', re.IGNORECASE)


def search_setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


@dataclass(frozen=True)
class SearchParams:
    """Validated search input (see ``validate_search_params``)."""

    query: str
    embedding: list[float] | None
    k: int
    category: str | None
    tags: list[str]
    tags_mode: str
    mode: str
    embedding_model: str = DEFAULT_CLIENT_EMBEDDING_MODEL


def validate_embedding(value) -> list[float]:
    """Return ``value`` as a list of floats, or raise ``ValidationError`` saying what is wrong with it.

    An embedding is a list of exactly ``EMBEDDING_DIMENSIONS`` finite numbers within the float32 range,
    not all zero (the cosine distance to a zero vector is undefined).
    """
    if hasattr(value, "tolist") and not isinstance(value, list | tuple):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise ValidationError(f"Must be a list of {EMBEDDING_DIMENSIONS} numbers.", code="invalid")
    if len(value) != EMBEDDING_DIMENSIONS:
        raise ValidationError(
            f"Must have exactly {EMBEDDING_DIMENSIONS} values, got {len(value)}.", code="wrong_dimensions"
        )
    # The usual embedding is all floats: builtins check it at C speed; anything else takes the slow path,
    # which also words the error.
    if (
        all(type(item) is float for item in value)
        and math.isfinite(sum(value))
        and max(map(abs, value)) <= FLOAT32_MAX
        and any(value)
    ):
        return list(value)
    floats = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValidationError(f"Value at index {index} is not a number: {item!r:.40}.", code="not_a_number")
        try:
            number = float(item)
        except OverflowError:  # an integer too large for a float
            number = math.inf if item > 0 else -math.inf
        if isinstance(item, int) and math.isinf(number):
            raise ValidationError(f"Value at index {index} is out of the float32 range.", code="out_of_range")
        if not math.isfinite(number):
            raise ValidationError(f"Value at index {index} is not finite ({number}).", code="not_finite")
        if abs(number) > FLOAT32_MAX:
            raise ValidationError(f"Value at index {index} is out of the float32 range.", code="out_of_range")
        floats.append(number)
    if not any(floats):
        raise ValidationError("Must not be all zeros: the cosine distance to it is undefined.", code="zero_vector")
    return floats


def validate_search_params(
    *, query=None, embedding=None, k=10, category=None, tags=None, tags_mode="any", mode=None, embedding_model=None
) -> SearchParams:
    """Check search input and choose the mode; raise ``ValidationError`` with an error per field.

    With no ``mode``, it follows from the inputs: query and embedding -> hybrid, query -> text,
    embedding -> vector. A blank query counts as no query. ``vector`` and ``hybrid`` with a query and no
    embedding embed the query on the server.
    """
    errors = {}

    if embedding_model is None:
        embedding_model = DEFAULT_CLIENT_EMBEDDING_MODEL
    elif not isinstance(embedding_model, str) or not embedding_model.strip():
        errors["embedding_model"] = "Must be a non-empty string."
    elif len(embedding_model) > MAX_MODEL_NAME or "\x00" in embedding_model:
        errors["embedding_model"] = f"Must be at most {MAX_MODEL_NAME} characters, without null characters."

    text = ""
    if query is not None:
        if not isinstance(query, str):
            errors["query"] = "Must be a string."
        else:
            text = query.strip()
            if len(text) > MAX_QUERY_LENGTH:
                errors["query"] = f"Must be at most {MAX_QUERY_LENGTH} characters, got {len(text)}."
            elif "\x00" in text:
                errors["query"] = NUL_MESSAGE

    vector = None
    if embedding is not None:
        try:
            vector = validate_embedding(embedding)
        except ValidationError as exc:
            errors["embedding"] = exc.messages[0]

    if isinstance(k, bool) or not isinstance(k, int):
        errors["k"] = "Must be an integer."
    elif not 1 <= k <= MAX_K:
        errors["k"] = f"Must be between 1 and {MAX_K}, got {k}."

    if category is not None and (not isinstance(category, str) or not category.strip()):
        errors["category"] = "Must be a non-empty string."
    elif category is not None and "\x00" in category:
        errors["category"] = NUL_MESSAGE

    tag_list = []
    if tags is not None:
        if isinstance(tags, str) or not isinstance(tags, Sequence):
            errors["tags"] = "Must be a list of strings."
        elif len(tags) > MAX_TAGS:
            errors["tags"] = f"At most {MAX_TAGS} tags, got {len(tags)}."
        elif not all(isinstance(tag, str) and tag.strip() for tag in tags):
            errors["tags"] = "Every tag must be a non-empty string."
        elif any("\x00" in tag for tag in tags):
            errors["tags"] = NUL_MESSAGE
        else:
            tag_list = list(dict.fromkeys(tag.strip() for tag in tags))

    if tags_mode not in TAGS_MODES:
        errors["tags_mode"] = f"Must be one of: {', '.join(TAGS_MODES)}; got {tags_mode!r}."

    has_text = bool(text) and "query" not in errors
    has_vector = vector is not None
    if mode is None:
        if not text and embedding is None and "query" not in errors:
            errors["query"] = "Give a query, an embedding, or both."
        mode = HYBRID if has_text and has_vector else TEXT if has_text else VECTOR
    elif mode not in MODES:
        errors["mode"] = f"Unknown mode {mode!r}; choose one of: {', '.join(MODES)}."
    else:
        needs_text = mode in (TEXT, FUZZY, HYBRID)
        needs_vector = mode in (VECTOR, HYBRID)
        if needs_text and not text and "query" not in errors:
            errors["query"] = f"Mode {mode!r} needs a non-empty query."
        if needs_vector and embedding is None and not text and "query" not in errors:
            errors["embedding"] = f"Mode {mode!r} needs an embedding or a query to embed."

    if errors:
        raise ValidationError(errors)
    return SearchParams(
        query=text,
        embedding=vector,
        k=k,
        category=category.strip() if category else None,
        tags=tag_list,
        tags_mode=tags_mode,
        mode=mode,
        embedding_model=embedding_model.strip() if isinstance(embedding_model, str) else embedding_model,
    )


def knowledge_search(
    *,
    query: str | None = None,
    embedding: Sequence[float] | None = None,
    k: int = 10,
    category: str | None = None,
    tags: Sequence[str] | None = None,
    tags_mode: str = "any",
    mode: str | None = None,
    embedding_model: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> dict:
    """Search the knowledge base; returns ``{"mode": <mode used>, "results": [<result>, ...]}``.

    Each result is a dict: ``id``, ``name``, ``category``, ``tags``, ``score`` (the mode's own score,
    higher is better: ts_rank_cd for text, trigram word similarity for fuzzy, cosine similarity for
    vector, the fused RRF score for hybrid), ``text_rank`` and ``vector_rank`` (1-based position in the
    full-text — or, in fuzzy mode, the name-similarity — list and in the vector list; ``None`` when the
    document is not in that list), ``text_score`` and ``distance`` (the raw full-text/similarity score
    and cosine distance, ``None`` when absent), ``chunk`` (the position of the document's nearest chunk when
    the vector list came from chunks, else ``None``) and ``snippet`` (HTML-escaped text of that chunk, or of
    the content, with query matches wrapped in ``<mark>``). Raises ``ValidationError`` (a dict of field
    errors) on bad input.
    """
    params = validate_search_params(
        query=query,
        embedding=embedding,
        k=k,
        category=category,
        tags=tags,
        tags_mode=tags_mode,
        mode=mode,
        embedding_model=embedding_model,
    )
    base = KnowledgeDocument.objects.db_manager(using).filter(_document_filter(params))
    query_vector = None
    if params.mode in (VECTOR, HYBRID) and params.embedding is None:
        provider = get_provider()
        query_vector = (provider.model, query_embedding(params.query, provider=provider))
    best_chunks: dict = {}

    def vector_list(limit):
        if query_vector is None:
            clients = base.filter(embedding_model=params.embedding_model)
            return _vector_hits(clients, params.embedding, limit, using=using)
        hits = _chunk_hits(params, *query_vector, limit, using=using)
        best_chunks.update({pk: chunk for pk, _, chunk in hits})
        return [(pk, distance) for pk, distance, _ in hits]

    # The other modes SET LOCAL their settings, which needs a transaction; full-text search saves the
    # BEGIN and COMMIT round trips.
    with nullcontext() if params.mode == TEXT else transaction.atomic(using=using):
        if params.mode == TEXT:
            text_hits = _text_hits(base, params.query, params.k)
            ranked = [(pk, score, {"text_rank": rank, "text_score": score}) for rank, (pk, score) in _ranked(text_hits)]
        elif params.mode == FUZZY:
            fuzzy_hits = _fuzzy_hits(base, params.query, params.k, using=using)
            ranked = [
                (pk, score, {"text_rank": rank, "text_score": score}) for rank, (pk, score) in _ranked(fuzzy_hits)
            ]
        elif params.mode == VECTOR:
            vector_hits = vector_list(params.k)
            ranked = [
                (pk, 1.0 - distance, {"vector_rank": rank, "distance": distance})
                for rank, (pk, distance) in _ranked(vector_hits)
            ]
        else:
            depth = max(params.k, search_setting("KNOWLEDGE_HYBRID_CANDIDATES"))
            text_hits = _text_hits(base, params.query, depth)
            vector_hits = vector_list(depth)
            ranked = reciprocal_rank_fusion(text_hits, vector_hits)[: params.k]
        page_ids = [pk for pk, _, _ in ranked]
        documents = _page(base.model.objects.db_manager(using), page_ids, params.query)
        snippets = _chunk_snippets(using, [best_chunks[pk] for pk in page_ids if pk in best_chunks], params.query)

    results = []
    for pk, score, explanation in ranked:
        document = documents.get(pk)
        if document is None:  # deleted between the two queries
            continue
        results.append(
            {
                "id": pk,
                "name": document["name"],
                "category": document["category"],
                "tags": document["tags"],
                "score": score,
                "text_rank": explanation.get("text_rank"),
                "vector_rank": explanation.get("vector_rank"),
                "text_score": explanation.get("text_score"),
                "distance": explanation.get("distance"),
                "chunk": snippets[best_chunks[pk]][0] if pk in best_chunks else None,
                "snippet": snippets[best_chunks[pk]][1] if pk in best_chunks else document["snippet"],
            }
        )
    return {"mode": params.mode, "results": results}


def text_then_fuzzy_hits(base, text: str, limit: int = MAX_K) -> list[tuple]:
    """The documents of ``base`` matching ``text`` as ``(id, mode, score)``, best first (the console's search box).

    First the full-text matches, ranked as mode ``text`` ranks them; then the names only mode ``fuzzy`` finds
    (a typo in a title: "Meta Adz optimisation"), ranked as it ranks them; at most ``limit`` of each. A query
    in web-search syntax (quotes, ``-word``, ``OR``) says exactly what it wants: no fuzzy matches. ``base``
    is any queryset of documents (the console's list, deleted rows and filters included). ``text`` must be
    valid (``validate_search_params``).
    """
    if WEBSEARCH_OPERATORS.search(text):
        return [(pk, TEXT, score) for pk, score in _text_hits(base, text, limit)]
    with transaction.atomic(using=base.db):
        text_hits = _text_hits(base, text, limit)
        fuzzy_hits = _fuzzy_hits(base, text, limit, using=base.db)
    found = {pk for pk, _ in text_hits}
    return [(pk, TEXT, score) for pk, score in text_hits] + [
        (pk, FUZZY, score) for pk, score in fuzzy_hits if pk not in found
    ]


def reciprocal_rank_fusion(text_hits, vector_hits, *, rrf_k: int = RRF_K) -> list[tuple]:
    """Fuse two ranked ``(id, score)`` lists: each document scores ``sum(1 / (rrf_k + rank))`` over the lists.

    Returns ``(id, fused score, explanation)`` best first; ties go to the better single-list rank.
    """
    explanations: dict = {}
    for rank, (pk, score) in _ranked(text_hits):
        explanations.setdefault(pk, {})
        explanations[pk].update(text_rank=rank, text_score=score)
    for rank, (pk, distance) in _ranked(vector_hits):
        explanations.setdefault(pk, {})
        explanations[pk].update(vector_rank=rank, distance=distance)
    fused = []
    for pk, explanation in explanations.items():
        ranks = [explanation[key] for key in ("text_rank", "vector_rank") if key in explanation]
        fused.append((pk, sum(1.0 / (rrf_k + rank) for rank in ranks), explanation, min(ranks)))
    fused.sort(key=lambda item: (-item[1], item[3], str(item[0])))
    return [(pk, score, explanation) for pk, score, explanation, _ in fused]


def _ranked(hits):
    return enumerate(hits, start=1)


def _text_hits(base, text: str, limit: int) -> list[tuple]:
    """The ``limit`` best full-text matches as ``(id, ts_rank_cd)``."""
    query = websearch_query(text)
    rows = base.filter(search_vector=query).annotate(rank=text_rank(query)).order_by("-rank", "pk")
    return list(rows.values_list("pk", "rank")[:limit])


def _fuzzy_hits(base, text: str, limit: int, *, using: str) -> list[tuple]:
    """The ``limit`` names most similar to ``text`` as ``(id, word similarity)``.

    ``name %> text`` (word similarity above the threshold) is what the trigram GIN index serves; whole-name
    similarity breaks ties, so the closest full title wins among equally good partial matches.
    """
    _set_local(using, {"pg_trgm.word_similarity_threshold": search_setting("KNOWLEDGE_FUZZY_THRESHOLD")})
    rows = (
        base.filter(name__trigram_word_similar=text)
        .annotate(word_similarity=TrigramWordSimilarity(text, "name"), similarity=TrigramSimilarity("name", text))
        .order_by("-word_similarity", "-similarity", "pk")
    )
    return list(rows.values_list("pk", "word_similarity")[:limit])


def _vector_hits(base, embedding: list[float], limit: int, *, using: str) -> list[tuple]:
    """The ``limit`` nearest documents by cosine distance as ``(id, distance)``, nearest first.

    The HNSW index is walked with ``ef_search`` candidates; with filters (category, tags, not deleted,
    has an embedding) an iterative scan keeps walking until ``limit`` rows pass them. ``relaxed_order``
    may return rows slightly out of order, so they are re-sorted here.
    """
    iterative_scan = search_setting("KNOWLEDGE_ITERATIVE_SCAN")
    _set_local(using, _vector_settings(limit))
    distance = CosineDistance("embedding", Value(vector_literal(embedding)))
    rows = base.with_embedding().annotate(distance=distance).order_by("distance")[:limit]
    # A stored embedding whose norm overflows single precision has no defined distance (NaN): leave it out.
    hits = [hit for hit in rows.values_list("pk", "distance") if math.isfinite(hit[1])]
    if iterative_scan == "relaxed_order":
        hits.sort(key=lambda hit: (hit[1], str(hit[0])))
    return hits


def _document_filter(params: SearchParams, prefix: str = "") -> Q:
    """The category and tag filters, on documents (``prefix=""``) or through a relation to them."""
    condition = Q()
    if params.category:
        condition &= Q(**{f"{prefix}category": params.category})
    if params.tags:
        lookup = "contains" if params.tags_mode == "all" else "overlap"
        condition &= Q(**{f"{prefix}tags__{lookup}": params.tags})
    return condition


def _chunk_hits(params: SearchParams, model: str, embedding: list[float], limit: int, *, using: str) -> list[tuple]:
    """The ``limit`` documents with the nearest chunks of ``model`` as ``(id, distance, chunk id)``, nearest first.

    Only ``model``'s chunks are compared, as ``embedding::vector(n)`` with ``n`` the query's dimensions: the
    expression and the ``model = ...`` condition of that model's partial HNSW index, which the planner then
    walks. Chunks of older content (``document_version`` behind the document) and of deleted documents are
    left out. ``CHUNKS_PER_RESULT`` chunks are fetched per wanted document and the first of each document kept.
    """
    candidates = min(limit * CHUNKS_PER_RESULT, 1000)
    _set_local(using, _vector_settings(candidates))
    distance = CosineDistance(
        Cast("embedding", VectorField(dimensions=len(embedding))), Value(vector_literal(embedding))
    )
    rows = (
        KnowledgeChunk.objects.db_manager(using)
        .filter(
            _document_filter(params, "document__"),
            model=model,
            document__deleted_at__isnull=True,
            document_version=F("document__version"),
        )
        .annotate(distance=distance)
        .order_by("distance")
        .values_list("document_id", "distance", "pk")[:candidates]
    )
    hits = sorted((hit for hit in rows if math.isfinite(hit[1])), key=lambda hit: (hit[1], str(hit[0])))
    nearest: dict = {}
    for pk, chunk_distance, chunk in hits:
        nearest.setdefault(pk, (pk, chunk_distance, chunk))
    return list(nearest.values())[:limit]


def _chunk_snippets(using: str, chunk_ids: list, text: str) -> dict:
    """``{chunk id: (position, snippet)}``: each chunk's text, with the query's matches marked when there is one."""
    if not chunk_ids:
        return {}
    rows = KnowledgeChunk.objects.db_manager(using).filter(pk__in=chunk_ids)
    snippets = {}
    for row in rows.annotate(snippet_text=snippet_expression(text)).values("pk", "ordinal", "snippet_text"):
        snippets[row["pk"]] = (row["ordinal"], render_snippet(row["snippet_text"], highlighted=bool(text)))
    return snippets


def vector_literal(embedding: list[float]) -> str:
    """The embedding, scaled to unit length, as a pgvector literal.

    Cosine distance ignores length, and a unit query cannot overflow single precision inside pgvector
    however large its values were. Nine significant digits round-trip a float32 exactly, at a third of the
    cost of pgvector's own formatting.
    """
    largest = max(abs(value) for value in embedding)  # scaled first, so squares neither overflow nor vanish
    scaled = [value / largest for value in embedding]
    norm = math.sqrt(math.fsum(value * value for value in scaled))
    return "[" + ",".join(["%.9g" % (value / norm) for value in scaled]) + "]"


def _vector_settings(limit: int) -> dict:
    """The transaction-local settings of a vector query returning ``limit`` rows."""
    values = {
        "hnsw.ef_search": min(max(int(search_setting("KNOWLEDGE_EF_SEARCH")), limit), 1000),
        "hnsw.iterative_scan": search_setting("KNOWLEDGE_ITERATIVE_SCAN"),
        "hnsw.max_scan_tuples": search_setting("KNOWLEDGE_MAX_SCAN_TUPLES"),
    }
    if search_setting("KNOWLEDGE_VECTOR_AVOID_SEQSCAN"):
        values["enable_seqscan"] = "off"
    return values


def _page(manager, ids: list, text: str) -> dict:
    """Load the returned documents (and only those) with their snippet, keyed by id."""
    if not ids:
        return {}
    rows = manager.filter(pk__in=ids)
    page = {}
    for row in rows.annotate(snippet_text=snippet_expression(text)).values(
        "pk", "name", "category", "tags", "snippet_text"
    ):
        row["snippet"] = render_snippet(row.pop("snippet_text"), highlighted=bool(text))
        page[row.pop("pk")] = row
    return page


def snippet_expression(text: str):
    """``ts_headline`` of ``content`` with the query's matches marked, or its start when there is no query."""
    if not text:
        return Left("content", SNIPPET_PLAIN_CHARS + 1)
    return SearchHeadline(
        "content",
        websearch_query(text),
        config=SEARCH_CONFIG,
        start_sel=_MARK_START,
        stop_sel=_MARK_STOP,
        min_words=SNIPPET_WORDS[0],
        max_words=SNIPPET_WORDS[1],
        max_fragments=SNIPPET_FRAGMENTS,
        fragment_delimiter=SNIPPET_FRAGMENT_DELIMITER,
    )


def render_snippet(text: str, *, highlighted: bool) -> str:
    """HTML-escape a snippet, turn the match marks into ``<mark>`` and cut a plain excerpt at a word."""
    if not highlighted and len(text) > SNIPPET_PLAIN_CHARS:
        text = text[:SNIPPET_PLAIN_CHARS].rsplit(maxsplit=1)[0] + " …"
    text = " ".join(text.split())
    return html.escape(text, quote=False).replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


def _set_local(using: str, values: dict) -> None:
    """``SET LOCAL`` each setting for the current transaction only (they vanish at commit or rollback)."""
    names = list(values)
    sql = "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names)
    params = [item for name in names for item in (name, str(values[name]))]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
