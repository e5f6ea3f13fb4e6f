"""Answers Schemathesis counts as failures that are the API's documented rules, shared by both fuzz runs.

``gateway/tests/test_schemathesis.py`` (in process, part of ``make test``) and ``gateway/fuzz_hooks.py``
(``make fuzz``, the CLI against the live server) judge with these, so both runs let through exactly the same
answers, each for a reason listed here:

- ``semantic_rejection``: a 400 to schema-valid data whose every message is a rule JSON Schema cannot state
  (``SEMANTIC_RULES``: the rule depends on the database's rows or on several fields at once). Such a 400 is
  not counted against ``positive_data_acceptance``; every other check still applies to it.
- ``conditional_rejection``: a 412 to an ``If-Match`` the case sent (a made-up ETag is stale) or a 422 to an
  ``Idempotency-Key`` an earlier case used with another request: answers that depend on what was sent
  before. Not counted against ``positive_data_acceptance``, and they are the rejection
  ``negative_data_rejection`` asks for (preconditions are evaluated before the body, RFC 9110, 13.2.2).
- ``items_refused``: an ingest batch answered 200 with its invalid items in ``errors`` (the API's per-item
  rejection, docs/API.md) is the rejection ``negative_data_rejection`` asks for.

Nothing here imports Schemathesis: ``case`` and ``response`` are read through ``operation.label``,
``operation.path``, ``headers``, ``status_code`` and ``json()``, which both its objects have.
"""

import re

# Rules JSON Schema cannot state (see the module docstring): a regular expression over ``field: message``
# (``non_field_errors``, ``detail`` for a whole-body error; nested fields joined with dots), the operations
# it applies to (a regular expression over the operation's label, None: all) and the rule.
SEMANTIC_RULES = [
    (r"^(status|detail): Cannot change status from ", None, "a status transition depends on the current status"),
    (r"^end_time: Must be after start_time\.$", None, "a clip ends after it starts"),
    (r"^end_date: Must not be before start_date\.$", None, "a date range ends after it starts"),
    (r"^daily_budget: Must not exceed the budget\.$", None, "a daily budget within the budget"),
    (r": An? [a-z ]+ with this \w+ already exists\.$", None, "a unique value another row already holds"),
    (r"^date: This asset already has a .* metric for ", None, "one metric per asset, platform and day"),
    (r"^expires_at: Must be in the future\.$", None, "a key's expiry depends on the clock"),
    (r"^password: (This password is |The password is too similar)", None, "Django's password validators"),
    (r"^embedding: Must not be all zeros", None, "an embedding must have a direction"),
    (r"^variants: Variant id .* is used twice\.$", None, "variant ids are unique"),
    (r"^variants: Must keep the winning variant ", None, "the winner stays among the variants"),
    (r"^variant_id: (Unknown variant |The experiment already has a winner)", None, "one of the variants, once"),
    (r"^(status|apply): A cancelled experiment cannot ", None, "a cancelled experiment is final"),
    (r"^variants(\.\d+)?: ", r"/evaluate/$", "the stored variants must suit the statistics"),
    (r"^version: (Version \d+ is the current|Version \d+ has the same|Document has no earlier)", None, "history"),
    (r"^(non_field_errors|actuals|metrics): Give at least one ", None, "at least one of several optional fields"),
    (r"^\w+: The resulting total is out of range\.$", None, "an increment keeps the total in range"),
    (r"^\w+: Give total_\w+ or its alias \w+, not both\.$", r"/metrics/$", "a total under one of its two names"),
    (r"^(to: The range may cover at most |from: Must not be after 'to')", None, "a date range's length and order"),
    (r"^ordering: With a cursor, ordering must be one of", None, "cursor pages order by their own fields only"),
    (r"^cursor: Invalid cursor", None, "a cursor is one a page's next/previous link gave (or empty)"),
    (r"^\w+: The \w+ is deleted; restore it first\.$", None, "a row comes back after its parent"),
    (r"^non_field_errors: You cannot delete your own account\.$", None, "a user cannot delete themselves"),
    (r"^query: Give a query, an embedding, or both\.$", None, "a search needs something to search for"),
    (r"^\w+: (Mode '?\w+'? needs|Needs) ", r"/search/$", "the search mode needs its input"),
    (r"^campaign: This field is required\.$", r"/conversions/", "a non-ADMIN's conversion is one of their campaigns'"),
    # PostgreSQL stores NUL in no text or jsonb column: every string refuses it, in bodies and query strings.
    # The schema's patterns say so of every string but those inside free-form JSON objects (metadata,
    # settings...), which only their description can: the parser refuses the body as a whole.
    (r"(Null characters are not allowed\.|cannot contain NUL \(0x00\) bytes|the NUL character)", None, "NUL"),
    # A date-time whose UTC time falls before year 1 or after 9999 (an offset at the very ends of the range).
    (r"^non_field_errors: Invalid value: (time zone displacement|timestamp) out of range", None, "UTC range"),
    (r"^\w+: Datetime value out of range\.$", None, "UTC range"),
    # A reference is a row's id: any UUID is schema-valid, the row must exist (and be the caller's to use).
    (r"^\w+: No \w+ with id \S+ exists,? or you may not ", None, "a reference names an existing row"),
    (
        r"^(non_field_errors|role|is_active): Cannot (delete|change the role of|deactivate) the last active ADMIN",
        None,
        "one active ADMIN remains",
    ),
]


def error_messages(body, path="") -> list[str]:
    """``field: message`` for every message of an error body (nested fields joined with dots)."""
    if isinstance(body, str):
        return [f"{path or 'detail'}: {body}"]
    if isinstance(body, dict):
        return [text for key, value in body.items() for text in error_messages(value, f"{path}.{key}".strip("."))]
    if isinstance(body, list):
        return [text for value in body for text in error_messages(value, path)]
    return [f"{path}: {body!r}"]


def semantic_rules(case, response) -> set[str]:
    """The ``SEMANTIC_RULES`` (their reasons) a 400's messages break, when every message is one of them; else empty."""
    if response.status_code != 400:
        return set()
    try:
        body = response.json()
    except ValueError:
        return set()
    # The request's id rides along in every error body; it is not a message.
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "request_id"}
    rules = [
        (rule, why) for rule, where, why in SEMANTIC_RULES if where is None or re.search(where, case.operation.label)
    ]
    broken = set()
    for text in error_messages(body):
        reasons = {why for rule, why in rules if re.search(rule, text)}
        if not reasons:
            return set()
        broken |= reasons
    return broken


def semantic_rejection(case, response) -> bool:
    """A 400 whose every message is a rule JSON Schema cannot state (``SEMANTIC_RULES``)."""
    return bool(semantic_rules(case, response))


def items_refused(case, response) -> bool:
    """An ingest batch answered 200 with items in ``errors``: how the API refuses an invalid item of a batch."""
    if response.status_code != 200 or not case.operation.path.endswith("/ingest/"):
        return False
    try:
        return bool(response.json().get("errors"))
    except (ValueError, AttributeError):
        return False


def conditional_rejection(case, response) -> bool:
    """A 412 to an ``If-Match`` or a 422 to a reused ``Idempotency-Key`` the case sent (see the module)."""
    headers = {name.lower() for name in case.headers or {}}
    return (response.status_code == 412 and "if-match" in headers) or (
        response.status_code == 422 and "idempotency-key" in headers
    )


# The items of a query parameter that is a list of any texts: any string, or any without NUL (the pattern
# gateway/api/schema.py's ``text_without_nul`` gives every string a client sends, ``WITHOUT_NUL``).
TEXT_ITEMS = ({"type": "string"}, {"type": "string", "pattern": r"^[^\x00]*$"})


def sent_texts(value) -> list[str]:
    """The texts a generated query value is sent as: a list's items, a dict's keys, nothing for None."""
    if value is None:
        return []
    if isinstance(value, dict | list | tuple):
        return [str(item) for item in value]
    return [str(value)]


def number_within(value, schema) -> bool:
    """Whether ``value`` is one number ``schema`` (a list's items: number or integer, bounds) takes as is."""
    if isinstance(value, bool) or not isinstance(value, int | float) or schema.get("type") not in ("number", "integer"):
        return False
    if schema["type"] == "integer" and not isinstance(value, int):
        return False
    return schema.get("minimum", value) <= value <= schema.get("maximum", value)


def query_valid_as_sent(case) -> bool:
    """A negative case whose every mutation is a query parameter that reaches the server valid.

    Three kinds, and only these: one number where the parameter is a list of such numbers (``?score__in=0.5``
    is the one-element list; Schemathesis's own allowance for this misses the stateful phase); a list of
    strings (``?category__in=<any text without NUL>`` reads as a comma-separated list of strings, the type its
    schema gives: ``type: array``, ``items`` one of ``TEXT_ITEMS``, ``style: form``, ``explode: false``); and an empty
    container or empty text where the parameter says ``allowEmptyValue`` (``?start_date_after=`` is no
    bound: ``None``, ``[]``, ``[""]``, ``{}`` and ``{"": ...}`` are sent empty or not at all; a dict is sent
    as its keys).
    Schemathesis judges the value it generated, not what the server reads from the text it sent, so nothing
    the server could do would make ``negative_data_rejection`` hold there. A list of UUIDs, numbers or enum
    values is checked item by item, and a wrong item is a 400; so is any other wrong value.
    """
    meta = getattr(case, "meta", None)
    mutations = getattr(getattr(getattr(meta, "phase", None), "data", None), "mutations", ())
    if not mutations or not meta.generation.mode.is_negative:
        return False
    parameters = {
        parameter.get("name"): parameter
        for parameter in case.operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "query"
    }
    query = case.query or {}
    for mutation in mutations:
        location = getattr(mutation.parameter_location, "value", mutation.parameter_location)
        parameter = parameters.get(mutation.parameter, {})
        schema = parameter.get("schema", {})
        value = query.get(mutation.parameter)
        text_list = (
            schema.get("type") == "array"
            and schema.get("items") in TEXT_ITEMS
            and not any("\x00" in text for text in sent_texts(value))
        )
        one_number = schema.get("type") == "array" and number_within(value, schema.get("items", {}))
        empty = parameter.get("allowEmptyValue") and all(text == "" for text in sent_texts(value))
        if location != "query" or not (text_list or one_number or empty):
            return False
    return True
