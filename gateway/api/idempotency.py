"""``Idempotency-Key`` on POST: a retried request gets the first answer instead of making a second write.

The shape follows the IETF draft (draft-ietf-httpapi-idempotency-key-header) and Stripe's API. The viewsets
(``gateway.api.viewsets``) run a POST that carries the header in one transaction, from before the view to its
answer, and call :func:`claim` once the caller is authenticated and :func:`store` with the answer:

- :func:`claim` inserts the key's row (``IdempotencyKey``) with ``ON CONFLICT DO NOTHING`` and then locks it.
  A concurrent request with the same key waits on the unique index until the first one's transaction ends:
  then it finds the stored answer and replays it, or (the first one failed, so nothing was stored or
  written) goes on as a first request. Two requests with one key never both write, and nobody gets a 409.
- :func:`store` saves a 2xx answer (status, body, ``Content-Type``, ``Location``, ``ETag``) on the row in
  the write's transaction: no acknowledged write without its key, no key without its write. Any other
  answer rolls the row back with everything else (a 4xx wrote nothing, so a retry runs again and sees the
  data as it is then).
- The same key with another request (method, path, query or JSON body; key order and spacing do not
  matter) is a 422. Keys are scoped per API key (per user for a session) and live ``LIFETIME``.
"""

import hashlib
import json
import re
from datetime import timedelta

import orjson
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import exceptions, status

from gateway.models import IDEMPOTENCY_KEY_PATTERN, IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
STORED_HEADERS = ("Content-Type", "Location", "ETag")
MAX_LENGTH = 255
# ``\Z``, not ``$``: a trailing newline is not part of a valid key.
VALID_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN.removesuffix("$") + r"\Z")
KEY_RULE = f"1 to {MAX_LENGTH} characters among letters, digits and - _ . : ~ + / ="


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        f"This {HEADER} was already used with another request (method, URL or body) in the last 24 hours: "
        "send a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class Replay(Exception):  # noqa: N818 (not an error: the viewset answers with it)
    """Raised by :func:`claim` when the key's answer is stored: the viewset answers with ``response``."""

    def __init__(self, response):
        super().__init__("idempotent replay")
        self.response = response


def requested_key(request) -> str | None:
    """The request's ``Idempotency-Key`` (the draft's quoted form or bare), or None; a bad one is a 400."""
    header = request.headers.get(HEADER)
    if header is None:
        return None
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not VALID_KEY.match(key):
        raise exceptions.ValidationError({HEADER: [f"Must be {KEY_RULE}."]})
    return key


def fingerprint(request) -> str:
    """What makes two requests "the same": method, path with query string, and the JSON body's value."""
    data = request.data
    try:
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        body = json.dumps(data, sort_keys=True, default=str).encode()
    head = f"{request.method} {request.get_full_path()}\n".encode()
    return hashlib.sha256(head + body).hexdigest()


def api_key_id(request):
    """The id of the API key the request came with (None for a session)."""
    return request.auth.pk if getattr(request.auth, "prefix", None) else None


def claim(request) -> IdempotencyKey | None:
    """The key's row, claimed for this request; None without a key. Raises ``Replay`` or a 422 (see the module).

    Call inside the transaction that makes the write, after authentication.
    """
    key = requested_key(request)
    if key is None:
        return None
    scope = {"user": request.user, "api_key_id": api_key_id(request), "key": key}
    now = timezone.now()
    mine = {"fingerprint": fingerprint(request), "created_at": now, "expires_at": now + LIFETIME}
    # Waits here while another transaction holds an uncommitted row with this key.
    IdempotencyKey.objects.bulk_create([IdempotencyKey(**scope, **mine)], ignore_conflicts=True)
    row = IdempotencyKey.objects.select_for_update().get(**scope)
    if row.status_code is None:
        # Inserted by this request: a row commits only with its answer.
        return row
    if row.expires_at <= now:
        # Expired but not yet purged: the key starts afresh.
        for name, value in {**mine, "status_code": None, "response_body": b"", "response_headers": {}}.items():
            setattr(row, name, value)
        row.save()
        return row
    if row.fingerprint != mine["fingerprint"]:
        raise IdempotencyKeyReused()
    raise Replay(replayed(row))


def replayed(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.response_body), status=row.status_code)
    for name, value in row.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def store(row: IdempotencyKey, response, *, secret_fields=()) -> None:
    """Save ``response`` on the claimed ``row`` when it is a success; otherwise the row goes.

    ``secret_fields`` (top-level fields of the answer, e.g. a new API key's secret) are stored as null:
    a secret is shown once and never kept, so a replay cannot show it.
    """
    if not 200 <= response.status_code < 300:
        row.delete()
        return
    if hasattr(response, "render"):
        response.render()  # and so its Content-Type
    body = response.content
    data = getattr(response, "data", None)
    if secret_fields and isinstance(data, dict):
        redacted = {**data, **{name: None for name in secret_fields if name in data}}
        body = response.accepted_renderer.render(redacted, response.accepted_media_type, response.renderer_context)
    row.status_code = response.status_code
    row.response_body = body
    row.response_headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    row.save(update_fields=["status_code", "response_body", "response_headers"])
