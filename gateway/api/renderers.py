"""JSON rendering and parsing with orjson, giving the same JSON as DRF's own renderer and parser.

orjson encodes and decodes in C, several times faster than the standard library. The output is compact
UTF-8 like DRF's (``COMPACT_JSON``, ``UNICODE_JSON``), with U+2028/U+2029 escaped as DRF does; only the
spelling of some floats differs (``1e-5`` for ``1e-05``), not their value. Where the values could
differ, they go through DRF's own code instead: ``datetime``/``date``/``time`` and ``Decimal`` values
(rare: serializers turn them into strings first), and everything orjson does not know, through DRF's
``JSONEncoder.default``; output that asks for indentation (the browsable API), data orjson refuses (an
integer beyond 64 bits) and input it refuses (``NaN``, a lone surrogate, non-UTF-8 text, malformed JSON,
whose error message must stay DRF's) fall back to DRF's classes as a whole.

The parser also sets the API's limits on request bodies (docs/RELIABILITY.md, "Limits"): a body larger
than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 before it is read whole; JSON nested deeper than
``MAX_JSON_DEPTH`` is a 400 (deeper values could not be rendered back: orjson stops at 255 levels, the
standard library's encoder at the recursion limit); so is a NUL character in any string (PostgreSQL cannot
store it); and what orjson refuses is refused even where the standard library would take it (a lone
surrogate, which PostgreSQL cannot store either; a number beyond a double's range; nesting past the
recursion limit, which would be a ``RecursionError``), with DRF's message when it has one.
"""

import io

import orjson
from django.conf import settings
from rest_framework import exceptions, parsers, renderers
from rest_framework.utils.encoders import JSONEncoder

RENDER_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_default = JSONEncoder().default
LINE_SEPARATOR = "\u2028".encode()
PARAGRAPH_SEPARATOR = "\u2029".encode()


class ORJSONRenderer(renderers.JSONRenderer):
    """``application/json`` rendered by orjson (compact, UTF-8); indented output by DRF's renderer."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=_default, option=RENDER_OPTIONS)
        except TypeError:
            # Integers beyond 64 bits, or a type neither orjson nor DRF's encoder knows: DRF's renderer
            # gives its own answer (a number, or the same error).
            return super().render(data, accepted_media_type, renderer_context)
        if LINE_SEPARATOR in content or PARAGRAPH_SEPARATOR in content:
            # Valid JSON but not valid JavaScript: escaped, as DRF does.
            content = content.replace(LINE_SEPARATOR, b"\\u2028").replace(PARAGRAPH_SEPARATOR, b"\\u2029")
        return content


MAX_JSON_DEPTH = 64


class ORJSONParser(parsers.JSONParser):
    """``application/json`` request bodies decoded by orjson, within the body limits (see the module)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding") or "utf-8"
        body = read_limited(stream, parser_context.get("request"))
        try:
            text = body if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else body.decode(encoding)
            data = orjson.loads(text)
        except (orjson.JSONDecodeError, UnicodeError) as error:
            # DRF's parser words the error as DRF clients expect it; if it takes what orjson refused, or
            # fails otherwise (RecursionError), the answer is still a 400.
            try:
                super().parse(io.BytesIO(body), media_type, parser_context)
            except exceptions.ParseError:
                raise
            except Exception:
                pass  # the ParseError below is the answer
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        # Counting brackets is C-fast; only a body with enough of them can nest too deep.
        if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and too_deep(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        # JSON can only carry NUL escaped; PostgreSQL stores it in no text or jsonb column.
        if (b"\\u0000" in body if text is body else "\\u0000" in text) and contains_nul(data):
            raise exceptions.ParseError("JSON parse error - strings may not contain the NUL character (\\u0000).")
        return data


def read_limited(stream, request) -> bytes:
    """The body, or ``PayloadTooLarge`` when it is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (never read whole)."""
    # Imported here: gateway.api.exceptions imports rest_framework.views, whose APIView loads the renderer
    # classes from the settings, i.e. this module (a cycle when this module is imported first).
    from gateway.api.exceptions import PayloadTooLarge

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    declared = request.META.get("CONTENT_LENGTH") if request is not None else None
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body


def contains_nul(value) -> bool:
    """Whether a string (a key or a value) anywhere in ``value`` (parsed JSON) holds a NUL character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def too_deep(value, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests lists and objects more than ``limit`` levels deep."""
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        for item in container.values() if isinstance(container, dict) else container:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
    return False
