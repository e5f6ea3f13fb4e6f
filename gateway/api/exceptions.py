"""One error body for the whole API.

* 400: field errors, ``{"<field>": ["message", ...], "non_field_errors": [...]}``;
* 401, 403, 404, 405, 409, 413, 415, 429 (and a JSON 500): ``{"detail": "message"}``.

Django ``ValidationError`` from services becomes a 400 with the same field errors; a database
integrity error that slipped past validation becomes a 409 (unique) or a 400 naming the field of the
violated constraint, never a 500; a database data error (a value the column cannot hold) becomes a 400
with a message of our own for its kind (:func:`data_error_message`), never the database's text, which
can name types, columns and the statement. Requests Django itself refuses under ``/api/`` answer in the
same shape: an unknown URL (``not_found``), a ``Host`` header not in ``ALLOWED_HOSTS``
(``bad_request``), a permission refused outside a view (``permission_denied``); with ``DEBUG`` on, where
Django answers its debug pages instead, :class:`JsonApiErrorsMiddleware` puts the same JSON in their place.
An error answered here also tells the client's rate-limit state (``gateway.api.throttling``) when the
throttle had not run yet (a 401 or 403).
"""

import contextlib
import functools
import logging

from django.apps import apps
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, DisallowedHost, ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from gateway.api.throttling import peek_rate_limit
from gateway.request_context import with_request_id

logger = logging.getLogger(__name__)

UNIQUE_VIOLATION = "23505"
NOT_NULL_VIOLATION = "23502"
# Data errors (SQLSTATE class 22) the API can meet, in words of our own; any other is "Invalid value.".
DATA_ERROR_MESSAGES = {
    "22001": "Invalid value: too long.",  # string_data_right_truncation
    "22003": "Invalid value: number out of range.",  # numeric_value_out_of_range
    "22008": "Invalid value: timestamp out of range.",  # datetime_field_overflow
    "22009": "Invalid value: timestamp out of range.",  # invalid_time_zone_displacement_value
}
# psycopg refuses a string holding NUL before sending it (no SQLSTATE): the validators' own message.
NUL_MESSAGE = "Null characters are not allowed."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def exception_handler(exc, context):
    """DRF's handler, extended to Django validation, missing rows and database integrity errors."""
    if isinstance(exc, RequestDataTooBig):
        # Django's own body limit (DATA_UPLOAD_MAX_MEMORY_SIZE, e.g. reading a form): a 413, not Django's 400.
        exc = PayloadTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=django_validation_detail(exc))
    elif isinstance(exc, ObjectDoesNotExist | Http404):
        # One message for every missing row, so a 404 never tells which model or lookup missed.
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        exc = integrity_error_exception(exc)
    elif isinstance(exc, DataError):
        logger.info("data error turned into a 400: %s", exc)
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [data_error_message(exc)]})
    elif isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, list):
        # A field validated on its own (DRF's SearchFilter checks ``search`` so) raises a bare list: keep the
        # documented shape, an object of field errors.
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.detail})
    response = drf_exception_handler(exc, context)
    if response is not None:
        set_rollback()
        with_request_id(response.data)
        if context.get("view") is not None and context.get("request") is not None:
            rate_limit_of_refused(context["request"], context["view"])
    return response


def rate_limit_of_refused(request, view) -> None:
    """The client's rate-limit state for an answer refused before the throttle ran (401, 403, 406)."""
    # A 406 comes before authentication; authenticating now fails the same way: no headers then.
    with contextlib.suppress(exceptions.APIException):
        peek_rate_limit(request, view)


def django_validation_detail(error: DjangoValidationError) -> dict:
    detail = as_serializer_error(error)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return detail


def data_error_message(error: DataError) -> str:
    """What the client is told about a database data error: its kind, never the database's own text."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None and "NUL" in str(cause):
        return NUL_MESSAGE
    return DATA_ERROR_MESSAGES.get(sqlstate, "Invalid value.")


def integrity_error_exception(error: IntegrityError) -> exceptions.APIException:
    """A 409 for a unique violation, otherwise a 400 naming the field of the violated constraint."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    sqlstate = getattr(cause, "sqlstate", None)
    constraint = getattr(diag, "constraint_name", None)
    column = getattr(diag, "column_name", None)
    logger.info("integrity error turned into a client error: %s", _first_line(error))
    fields = constraint_fields().get(constraint, ()) if constraint else ()
    if sqlstate == UNIQUE_VIOLATION:
        what = ", ".join(fields) if fields else constraint or "a unique value"
        return Conflict(f"A row with the same {what} already exists.")
    if sqlstate == NOT_NULL_VIOLATION and column:
        return exceptions.ValidationError({column: ["This field may not be null."]})
    message = f"Violates the database constraint {constraint}." if constraint else _first_line(error)
    field = fields[0] if fields else (column or api_settings.NON_FIELD_ERRORS_KEY)
    return exceptions.ValidationError({field: [message]})


@functools.cache
def constraint_fields() -> dict[str, tuple[str, ...]]:
    """Every model constraint's name mapped to the fields it is about (the first one named first)."""
    mapping = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            fields = tuple(getattr(constraint, "fields", ()) or ())
            condition = getattr(constraint, "condition", None)
            if not fields and isinstance(condition, models.Q):
                fields = tuple(_q_fields(condition))
            if not fields and getattr(constraint, "expressions", None):
                fields = tuple(_expression_fields(constraint.expressions))
            if not fields and condition is not None:
                fields = tuple(_expression_fields([condition]))
            mapping[constraint.name] = fields
    return mapping


def _q_fields(q: models.Q):
    seen = []
    for child in q.children:
        names = _q_fields(child) if isinstance(child, models.Q) else [child[0].split("__", 1)[0]]
        seen.extend(name for name in names if name not in seen)
    return seen


def _expression_fields(expressions):
    seen = []
    for expression in expressions:
        if isinstance(expression, models.F):
            names = [expression.name.split("__", 1)[0]]
        else:
            names = _expression_fields(getattr(expression, "get_source_expressions", list)())
        seen.extend(name for name in names if name not in seen)
    return seen


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    """``handler400``: JSON under ``/api/``, Django's page elsewhere.

    Django answers with it what it refuses before any view runs, above all a ``Host`` header not in
    ``ALLOWED_HOSTS`` (logged as one warning line, see ``LOGGING``); the body never repeats the header.
    """
    if _is_api(request):
        detail = "Invalid Host header." if isinstance(exception, DisallowedHost) else "Bad request."
        return JsonResponse(with_request_id({"detail": detail}), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    """``handler403``: JSON under ``/api/``, Django's page elsewhere (API views answer their own 403s)."""
    if _is_api(request):
        return JsonResponse(with_request_id({"detail": str(exceptions.PermissionDenied.default_detail)}), status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    """``handler404``: JSON under ``/api/``, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(with_request_id({"detail": "Not found."}), status=404)
    return defaults.page_not_found(request, exception)


# Non-JSON error answers under /api/ (Django's debug pages, a middleware's own page) become this detail.
HANDLERS = {400: bad_request, 403: permission_denied, 404: not_found}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class JsonApiErrorsMiddleware:
    """Every error answer under ``/api/`` is JSON, in every mode.

    With ``DEBUG`` on, Django answers an unknown URL and an uncaught exception with its HTML (or plain
    text) debug pages instead of ``handler404`` and ``handler500``. This middleware replaces any error
    answer under ``/api/`` that is not JSON and was not rendered by DRF (whose browsable API answers HTML
    only when the client asks for it) by the API's JSON body for its status: ``{"detail": ...}`` with the
    request id. The traceback of a 500 is still logged (Django logs it before answering).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and _is_api(request)
            and getattr(response, "accepted_renderer", None) is None
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return as_json_error(request, response)
        return response


def as_json_error(request, response) -> JsonResponse:
    """The API's JSON answer in place of ``response`` (same status, its ``Allow``/``Retry-After`` kept)."""
    status_code = response.status_code
    if status_code in HANDLERS:
        replacement = HANDLERS[status_code](request)
    elif status_code == 500:
        replacement = server_error(request)
    else:
        replacement = JsonResponse(with_request_id({"detail": response.reason_phrase + "."}), status=status_code)
    for name in KEPT_HEADERS:
        if name in response:
            replacement[name] = response[name]
    return replacement


def server_error(request):
    """``handler500``: JSON under ``/api/``, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(with_request_id({"detail": "Internal server error."}), status=500)
    return defaults.server_error(request)
