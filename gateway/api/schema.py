"""OpenAPI generation: the error responses every operation may give (the API-key scheme is in users/api/)."""

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from gateway.api.serializers import UPDATE_BODY
from gateway.api.throttling import ApiKeyRateThrottle


class ErrorDetailSerializer(serializers.Serializer):
    """The body of every error but a 400."""

    class Meta:
        # One component for every such answer, whatever serializer module a view takes it from.
        ref_name = "Error"

    detail = serializers.CharField()
    request_id = serializers.CharField(
        required=False,
        help_text="The request's id (also in the X-Request-ID header): quote it when reporting a problem.",
    )


FIELD_ERRORS_COMPONENT = "FieldErrors"
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "Field errors: each invalid field (or `non_field_errors`) maps to a list of messages; nested "
        "objects and lists of objects carry their own field errors. `request_id` is the request's id."
    ),
    "additionalProperties": {},
    "example": {"budget": ["Ensure this value is greater than or equal to 0."]},
}

WRITE_METHODS = ("POST", "PUT", "PATCH")
ROW_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="An ETag this object answered with (or `*`): a 304 without a body while it still is the current one.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Optional: the ETag of the object as you last read it (or `*`). The write happens only if it still is "
        "the current one, otherwise a 412 and nothing is written (checked with the row locked, so of two writers "
        'sending the same ETag one wins). See docs/API.md, "ETags".'
    ),
)
ETAG_DESCRIPTION = (
    "The object's strong ETag: a hash of its detail's JSON (`GET` of the object), changing whenever that does. "
    "Send it back in `If-Match` to write only over what you read, or in `If-None-Match` to get a 304 when nothing "
    "changed."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": r"^[A-Za-z0-9_.:~+/=-]{1,255}$", "maxLength": 255},
    OpenApiParameter.HEADER,
    description=(
        "Optional: a key of yours for this request (a UUID, say). A retry with the same key and the same body "
        "within 24 hours gets the first answer again (status, body, `Location`, `ETag`; `Idempotent-Replayed: "
        "true`) instead of a second write; the same key with another body is a 422. Per API key; only successful "
        'answers are kept. See docs/API.md, "Idempotency keys".'
    ),
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=["200", "201", "202"],
    description="Present on the replay of an earlier answer to the same `Idempotency-Key`.",
)

# The rate-limit headers of every answer (gateway/api/throttling.py), as header components.
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests allowed per window (the API key's rate, or the anonymous one).",
    "RateLimit-Remaining": "Requests left in the window after this one.",
    "RateLimit-Reset": "Seconds until the oldest request counted leaves the window (one more is allowed then).",
}
# Beyond the schema's keywords, the rules a valid-looking body may still break (each named by its field).
WRITE_400_DESCRIPTION = (
    "Invalid input: field errors. Besides what the schema states, a body may break a rule JSON Schema cannot: "
    "a reference to a row that does not exist, is deleted or is not yours to use; "
    "a value another row already holds (a unique field); "
    "a rule over several fields (an end after its start, a daily budget within the budget, one of several "
    "optional fields); "
    "a status change the current status does not allow; "
    "or a rule of the field's description (a password's validators, an embedding not all zeros). "
    "Each is named by its field."
)
# The suffix drf-spectacular gives an operation id after its method (``clips_scores_create``).
METHOD_SUFFIXES = ("_partial_update", "_create", "_list", "_retrieve", "_update", "_destroy")
# The viewset actions whose operation ids keep their suffix: the method is what tells them apart.
STANDARD_ACTIONS = {"list", "create", "retrieve", "update", "partial_update", "destroy"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema with the shared error responses added to each operation, and the headers of
    conditional requests (``ETag``, ``If-None-Match``, ``If-Match``) and idempotency keys where they apply."""

    def get_override_parameters(self):
        parameters = [*super().get_override_parameters()]
        if self._reads_one_object():
            etag = OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=["200", "304"])
            parameters += [IF_NONE_MATCH, _described(etag, ETAG_DESCRIPTION)]
        if self._writes_one_object():
            etag = OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=["200"])
            written = _described(etag, "When the answer is the object: its new ETag. " + ETAG_DESCRIPTION)
            parameters += [IF_MATCH, written]
        if self.method == "POST":
            parameters += [IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED]
        return parameters

    def get_request_serializer(self):
        """An update's body leaves out the serializer's ``Meta.create_only_fields`` (``gateway.api.serializers``)."""
        serializer = super().get_request_serializer()
        if (
            self.method in ("PUT", "PATCH")
            and isinstance(serializer, serializers.BaseSerializer)
            and getattr(getattr(serializer, "Meta", None), "create_only_fields", ())
        ):
            return type(serializer)(context={**serializer.context, UPDATE_BODY: True})
        return serializer

    def get_serializer_name(self, serializer, direction):
        """``ClipUpdate`` for the body of a clip's update (``ClipUpdateRequest``, ``PatchedClipUpdateRequest``)."""
        name = super().get_serializer_name(serializer, direction)
        if serializer.context.get(UPDATE_BODY):
            return name.removesuffix("Serializer") + "Update"
        return name

    def _reads_one_object(self) -> bool:
        return self.method == "GET" and getattr(self.view, "action", None) in ("retrieve", "me")

    def _writes_one_object(self) -> bool:
        return self.method in ROW_WRITE_METHODS and (
            getattr(self.view, "detail", False) or getattr(self.view, "action", None) == "me"
        )

    def get_operation_id(self):
        """``clips_score`` rather than ``clips_scores_create``: an action's id says the action.

        An action reached by one method is named by the action alone; one reached by several (``users/me``)
        keeps the method's suffix, which is then what tells its operations apart.
        """
        operation_id = super().get_operation_id()
        action = getattr(self.view, "action", None)
        methods = getattr(getattr(self.view, action, None), "mapping", {}) if action else {}
        if action in STANDARD_ACTIONS or len(methods) != 1:
            return operation_id
        for suffix in METHOD_SUFFIXES:
            if operation_id.endswith(suffix):
                return operation_id.removesuffix(suffix)
        return operation_id

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self._reads_one_object() and "304" not in responses:
            not_modified = OpenApiResponse(description="Not modified: If-None-Match names the current ETag. No body.")
            responses["304"] = self._get_response_for_code(not_modified, "304", direction=direction)
        for code, description in self._error_responses():
            if code in responses:
                continue
            if code == "400":
                response = OpenApiResponse(
                    {"$ref": f"#/components/schemas/{FIELD_ERRORS_COMPONENT}"}, description=description
                )
            else:
                response = OpenApiResponse(ErrorDetailSerializer, description=description)
            responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if any(isinstance(throttle, ApiKeyRateThrottle) for throttle in self.view.get_throttles()):
            headers = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS} | headers
        return headers

    def _error_responses(self):
        public = any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        detail_route = "{" in self.path
        paginated = self.method == "GET" and self._get_paginator() is not None and self._is_list_view()
        errors = []
        # Any query parameter of any authenticated operation is validated (filters, flags such as ``hard``).
        if self.method in WRITE_METHODS:
            errors.append(("400", WRITE_400_DESCRIPTION))
        elif not public:
            errors.append(("400", "Invalid input: field errors (a query parameter, named)."))
        if not public:
            errors.append(("401", "Not authenticated, or an invalid, revoked or expired API key."))
            errors.append(("403", "Authenticated but not allowed (e.g. an ADMIN-only operation)."))
        if detail_route:
            errors.append(("404", "No such row, or not one of yours, or a malformed id."))
        elif paginated:
            errors.append(("404", "A `page` past the last one."))
        if self.method in WRITE_METHODS:
            errors.append(("409", "Conflicts with an existing row (a unique value)."))
            errors.append(("413", "The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."))
        if self._writes_one_object():
            errors.append(("412", "If-Match does not name the object's current ETag: it changed since you read it."))
        if self.method == "POST":
            errors.append(("422", "This Idempotency-Key was already used with another request."))
        errors.append(("429", "Too many requests for this API key; see Retry-After."))
        return errors


class DecimalFieldExtension(OpenApiSerializerFieldExtension):
    """Decimals (strings) with a pattern that says what the API accepts.

    drf-spectacular's pattern lets ``""``, ``"-"`` and ``"."`` through and allows a sign on fields with
    ``min_value=0``; this one needs a digit, has a sign only where negative values are allowed, and for
    fields in [0, 1] (a CTR) spells that range out. The syntax is the one ``gateway.api.strict`` enforces.
    """

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("type") == "string" and "pattern" in schema:
            schema["pattern"] = decimal_pattern(self.target)
        return schema


class IngestItemsFieldExtension(OpenApiSerializerFieldExtension):
    """An ingest batch's items as its item serializer's component, so typed clients send their own models.

    The field takes any JSON value and reports a bad item in the answer's ``errors`` (gateway/api/validation.py);
    the schema says what a good item is.
    """

    target_class = "gateway.api.validation.IngestItemsField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["items"] = auto_schema.resolve_serializer(self.target.item_serializer, direction).ref
        return schema


# A character that is not whitespace for Python's ``str.strip``, spelled out so that ECMAScript and Python
# regular expressions agree (their ``\s`` differ on U+001C-U+001F, U+0085 and U+FEFF).
NOT_WHITESPACE = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

# PostgreSQL stores NUL in no text or jsonb value, so the API refuses it in every string it reads (bodies and
# query strings alike). ``text_without_nul`` writes these into the schema.
WITHOUT_NUL = r"^[^\x00]*$"
# What a pattern that asks for one character of a kind becomes: that character, and no NUL anywhere.
WITHOUT_NUL_AROUND = {
    NOT_WHITESPACE: r"^[^\x00]*" + NOT_WHITESPACE.replace("[^", r"[^\x00", 1) + r"[^\x00]*$",
    r"\S": r"^[^\x00]*[^\x00\s][^\x00]*$",
}
FREE_FORM_JSON_TEXT = "Any JSON object; no text in it (keys and values) may contain NUL (U+0000)."
# A password of Django's NumericPasswordValidator: some character is not a digit (and none is NUL).
NOT_ONLY_DIGITS = r"^[^\x00]*[^\x000-9][^\x00]*$"


class CharFieldExtension(OpenApiSerializerFieldExtension):
    """Text that may not be blank, in requests: at least one character that is not whitespace.

    DRF trims the value before its blank check, so ``" "`` is "may not be blank" although drf-spectacular
    only says ``minLength: 1``. Fields with a pattern or format of their own (email, currency...) and fields
    that keep whitespace are left as they are, but passwords (``style={"input_type": "password"}``) say they are
    not only digits (Django's NumericPasswordValidator; common passwords and ones like the email or name are
    only in their description).
    """

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction == "request" and field.style.get("input_type") == "password":
            schema["pattern"] = NOT_ONLY_DIGITS
        elif (
            direction == "request"
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and "pattern" not in schema
            and "format" not in schema
            and "enum" not in schema
            and not any(isinstance(validator, RegexValidator) for validator in field.validators)
        ):
            schema["pattern"] = NOT_WHITESPACE
        return schema


class ScopedPrimaryKeyRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A reference in a request body says which rows it may name (the rest are a 400 naming the field)."""

    target_class = "gateway.api.fields.ScopedPrimaryKeyRelatedField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            reference = (
                f"An existing {self.target.model._meta.verbose_name}'s id: not deleted and yours to use (any for an "
                "ADMIN); any other id is a 400 naming this field."
            )
            schema["description"] = " ".join(filter(None, [schema.get("description"), reference]))
        return schema


def _described(parameter: OpenApiParameter, description: str) -> OpenApiParameter:
    parameter.description = description
    return parameter


def decimal_pattern(field) -> str:
    places = field.decimal_places
    fraction = rf"(?:\.\d{{0,{places}}})?" if places else ""
    bare_fraction = rf"|\.\d{{1,{places}}}" if places else ""
    non_negative = field.min_value is not None and field.min_value >= 0
    if non_negative and field.max_value is not None and field.max_value == 1:
        ones = rf"1(?:\.0{{0,{places}}})?" if places else "1"
        return rf"^(?:0{fraction}|{ones}{bare_fraction})$"
    whole = field.max_whole_digits
    digits = r"\d+" if whole is None else "0" if whole == 0 else rf"\d{{1,{whole}}}"
    sign = "" if non_negative else "-?"
    return rf"^{sign}(?:{digits}{fraction}{bare_fraction})$"


# django-filter's number filters refuse values above 1e50 (NumberFilter.get_max_validator), compared exactly
# with the float 1e50, which is this integer.
FILTER_MAXIMUM = int(1e50)


def allow_empty_query_values(result, generator, request, public):
    """Postprocessing hook: what query parameters accept, said in the schema.

    Optional query parameters may be given empty (``?status=``), meaning "not given": that is how
    django-filter, DRF's search and ordering, and the actions' query serializers read them. Numeric filters
    (and their comma-separated lists) stop at django-filter's 1e50, and take doubles (``format: double``).
    """
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") != "query":
                    continue
                if not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                schema = parameter.get("schema", {})
                numeric = schema.get("items", schema)
                is_number = numeric.get("type") in ("number", "integer") and "maximum" not in numeric
                if is_number and parameter["name"] not in ("page", "page_size"):
                    numeric["maximum"] = FILTER_MAXIMUM
                if numeric.get("format") == "float":
                    # django-filter reads a number filter into a Python float: a double, not a 32-bit float.
                    numeric["format"] = "double"
    return result


def text_without_nul(result, generator, request, public):
    """Postprocessing hook: no string the API reads may contain NUL, said by a ``pattern``.

    Every string of a request component and of a query parameter (array items too) that has neither a format
    nor an enum gets ``WITHOUT_NUL``, or its one-character pattern widened to the whole value
    (``WITHOUT_NUL_AROUND``); other patterns (decimals, currencies, passwords) already leave NUL out. A
    free-form JSON object (``additionalProperties: true``) cannot say it of the strings inside: its
    description does.
    """

    def exclude_nul(schema):
        if isinstance(schema, list):
            for item in schema:
                exclude_nul(item)
        if not isinstance(schema, dict):
            return
        if schema.get("type") == "string" and "format" not in schema and "enum" not in schema:
            pattern = schema.get("pattern")
            schema["pattern"] = WITHOUT_NUL if pattern is None else WITHOUT_NUL_AROUND.get(pattern, pattern)
        if schema.get("type") == "object" and schema.get("additionalProperties") is True:
            schema["description"] = " ".join(filter(None, [schema.get("description"), FREE_FORM_JSON_TEXT]))
        for value in schema.values():
            exclude_nul(value)

    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            exclude_nul(schema)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query":
                    exclude_nul(parameter.get("schema"))
    return result


def created_row_links(result, generator, request, public):
    """Postprocessing hook: OpenAPI links from each create to every operation on the row it created.

    ``POST /x/`` answers 201 with the row, whose ``id`` is the ``{id}`` of ``/x/{id}/`` and its actions: the
    link says so (``id: $response.body#/id``), so a client (and Schemathesis's stateful phase) can follow a
    create with a read, an update, an action or a delete of that row.
    """
    paths = result.get("paths", {})
    for path, operations in paths.items():
        created = (operations.get("post") or {}).get("responses", {}).get("201")
        if "{" in path or created is None:
            continue
        links = {
            operation["operationId"]: id_link(
                operation["operationId"], f"The created row's `id` as `{{id}}` of `{method.upper()} {row_path}`."
            )
            for row_path, row_operations in paths.items()
            if row_path.startswith(f"{path}{{id}}/")
            for method, operation in row_operations.items()
            if isinstance(operation, dict) and "operationId" in operation
        }
        if links:
            created["links"] = links
    return result


JOB_COMPONENT = "#/components/schemas/Job"
JOB_OPERATION = "jobs_retrieve"
JOB_LINK_DESCRIPTION = "The queued job's `id` as `{id}` of `GET /api/v1/jobs/{id}/`: its state and result."


def queued_job_links(result, generator, request, public):
    """Postprocessing hook: an OpenAPI link from each answer that is a queued job to ``GET jobs/{id}/``.

    The answer's ``id`` is the job's (``gateway.api.jobs.JobSerializer``), as its ``Location`` says: the link
    lets a client (and Schemathesis's stateful phase) follow the queued work to its state and result.
    """
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") == JOB_COMPONENT:
                    response.setdefault("links", {})[JOB_OPERATION] = id_link(JOB_OPERATION, JOB_LINK_DESCRIPTION)
    return result


def id_link(operation_id: str, description: str) -> dict:
    """An OpenAPI link to ``operation_id`` whose ``{id}`` is the answer's ``id``."""
    return {"operationId": operation_id, "parameters": {"id": "$response.body#/id"}, "description": description}


def closed_request_bodies(result, generator, request, public):
    """Postprocessing hook: request components have ``additionalProperties: false``.

    The API refuses a key that is not a writable field (gateway/api/serializers.py); drf-spectacular names
    every request component ``...Request`` (``COMPONENT_SPLIT_REQUEST``).
    """
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result


def rate_limit_header_components(result, generator, request, public):
    """Postprocessing hook: the ``RateLimit-*`` header components every throttled answer refers to."""
    headers = result.setdefault("components", {}).setdefault("headers", {})
    for name, description in RATE_LIMIT_HEADERS.items():
        headers[name] = {"description": description, "schema": {"type": "integer", "minimum": 0}}
    return result


def name_shared_components(result, generator, request, public):
    """Postprocessing hook: one named component for each shape several operations share.

    A client generator makes a type of every inline schema, per operation: without this, each list's
    ``status`` filter would be its own enum type, each 400 body its own ``...Response400`` class and each
    ordering enum would have members named ``VALUE_0``. So: the 400 body is the ``FieldErrors`` component;
    a query parameter's enum equal to a component enum (``ClipStatusEnum``) refers to it; each ordering
    parameter's choices become an ``<Operation>Ordering`` component whose members are named for what they
    sort by (``SCORE``, ``SCORE_DESC``, through ``x-enum-varnames``).
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[FIELD_ERRORS_COMPONENT] = FIELD_ERRORS_SCHEMA
    enum_components = {
        frozenset(schema["enum"]): name
        for name, schema in schemas.items()
        if schema.get("type") == "string" and "enum" in schema
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                holder = schema.get("items", schema) if schema.get("type") == "array" else schema
                values = holder.get("enum")
                if parameter.get("in") != "query" or not values:
                    continue
                if parameter["name"] == "ordering":
                    name = ordering_component_name(operation["operationId"])
                    schemas[name] = {
                        "type": "string",
                        "enum": values,
                        "x-enum-varnames": [ordering_member_name(value) for value in values],
                    }
                else:
                    name = enum_components.get(frozenset(values))
                    if name is None:
                        continue
                holder.clear()
                holder["$ref"] = f"#/components/schemas/{name}"
    return result


def ordering_component_name(operation_id: str) -> str:
    """``clips_list`` -> ``ClipsListOrdering``: one component per list, as each sorts by its own fields."""
    return "".join(word.capitalize() for word in operation_id.split("_")) + "Ordering"


def ordering_member_name(value: str) -> str:
    """``-score`` -> ``SCORE_DESC``, ``created_at`` -> ``CREATED_AT``."""
    descending = value.startswith("-")
    name = value.lstrip("-").upper()
    return f"{name}_DESC" if descending else name
