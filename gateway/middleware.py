"""Database faults answered as short JSON errors instead of HTML tracebacks.

Two kinds of database error are not bugs in the request but facts about the database, and every
request (API, admin, anything) gets the same answer for them:

* the database is **unavailable** (the server is down or restarting, the connection broke, the
  connection pool timed out waiting for a connection, too many connections): ``503`` with
  ``Retry-After`` and ``{"detail": "The database is unavailable. Try again shortly.", "code":
  "database_unavailable"}``; a write whose connection broke *after* it reached the database gets the same
  503 with a detail that says so (``IN_DOUBT_DETAIL``) and the code ``write_outcome_unknown``: its
  transaction may have committed before the break (the connection can die between PostgreSQL committing
  and the app reading the answer), and no one can tell which;
* a statement ran longer than ``DB_STATEMENT_TIMEOUT_MS`` and PostgreSQL **cancelled** it:
  ``504`` with ``{"detail": "The request took too long and was cancelled.", "code": "statement_timeout"}``.

The ``code`` is the answer's contract for programs (a client retries a ``database_unavailable`` write as it is
and reads back a ``write_outcome_unknown`` one); the ``detail`` is for people and may be reworded.

Every other database error (integrity, data, programming errors, deadlocks) is left alone: the API's
exception handler answers the ones that are the client's fault, and the rest are bugs (500).

Errors raised inside a view reach :meth:`DatabaseErrorMiddleware.process_exception`. Errors raised
elsewhere in the request (another middleware saving the session, say) have already been turned into
a 500 by Django when they get back to this middleware; Django's ``got_request_exception`` signal
records them on the request, so the 500 is swapped for the same answer.
"""

import logging
import sys
import traceback

import psycopg
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework.permissions import SAFE_METHODS

from gateway.request_context import with_request_id

logger = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"
TIMEOUT = "timeout"

UNAVAILABLE_DETAIL = "The database is unavailable. Try again shortly."
IN_DOUBT_DETAIL = (
    "The database became unavailable while this write was being handled: it may or may not have been saved. "
    "Read it back before sending it again (a write sent with an Idempotency-Key can simply be sent again)."
)
TIMEOUT_DETAIL = "The request took too long and was cancelled."
UNAVAILABLE_CODE = "database_unavailable"
IN_DOUBT_CODE = "write_outcome_unknown"
TIMEOUT_CODE = "statement_timeout"
RETRY_AFTER_SECONDS = 5

# SQLSTATE classes that mean "the database cannot serve now" rather than "this statement is wrong":
# 08 connection exception, 53 insufficient resources (too many connections, disk full), 57 operator
# intervention (shutdown, crash recovery, cannot connect now; 57014 is the cancelled query, handled
# first), 58 system error (I/O).
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})

_REQUEST_ATTRIBUTE = "_gateway_database_error"


def classify_database_error(error: BaseException) -> str | None:
    """``UNAVAILABLE``, ``TIMEOUT`` or ``None`` (not a database fault this module answers).

    Accepts Django's wrapped errors (the psycopg error is their ``__cause__``) and raw psycopg and
    psycopg_pool errors alike. Errors without an SQLSTATE come from the client side of the connection
    (refused, broken, pool timeout) and always mean unavailable.
    """
    if not isinstance(error, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
        return None
    cause = error.__cause__ if isinstance(error.__cause__, psycopg.Error) else error
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return TIMEOUT
    if isinstance(cause, psycopg.InterfaceError) or isinstance(error, InterfaceError):
        return UNAVAILABLE
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES:
        return UNAVAILABLE
    return None


def failed_before_connecting(error: BaseException) -> bool:
    """Whether ``error`` was raised while Django was opening the request's connection (nothing reached the database).

    Read from the traceback: Django raises every connection failure (refused, pool timeout, failed health
    check) inside ``BaseDatabaseWrapper.ensure_connection``, and no other error passes through it.
    """
    return any(
        frame.f_code.co_name == "ensure_connection" and "django/db/backends" in frame.f_code.co_filename
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


def outcome_unknown(error: BaseException, request) -> bool:
    """A write whose connection broke after it was open: its transaction may have committed (module docstring)."""
    return request is not None and request.method not in SAFE_METHODS and not failed_before_connecting(error)


def database_error_response(error: BaseException, request=None) -> JsonResponse | None:
    """The JSON answer for a database fault, logged once; ``None`` when ``error`` is not one.

    Usable from other exception handlers (the API's) so every layer answers a fault the same way.
    """
    kind = classify_database_error(error)
    if kind is None:
        return None
    where = f"{request.method} {request.path}" if request is not None else "request"
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if kind == TIMEOUT:
        logger.warning("%s: statement cancelled by the statement timeout: %s", where, first_line)
        return JsonResponse(with_request_id({"detail": TIMEOUT_DETAIL, "code": TIMEOUT_CODE}), status=504)
    logger.error("%s: database unavailable: %s: %s", where, type(error).__name__, first_line)
    if outcome_unknown(error, request):
        body = {"detail": IN_DOUBT_DETAIL, "code": IN_DOUBT_CODE}
    else:
        body = {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}
    response = JsonResponse(with_request_id(body), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseErrorMiddleware:
    """Answers database unavailability with a 503 and cancelled statements with a 504 (see the module).

    Sits right after ``SecurityMiddleware`` so that errors in every later middleware are covered and
    the answer still gets the security headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        error = getattr(request, _REQUEST_ATTRIBUTE, None)
        if error is not None and response.status_code == 500:
            return database_error_response(error, request) or response
        return response

    def process_exception(self, request, exception):
        return database_error_response(exception, request)


def _remember_database_error(sender, request=None, **kwargs):
    """Keep an unhandled database fault on the request (the signal is sent while it is being handled)."""
    error = sys.exc_info()[1]
    if request is not None and error is not None and classify_database_error(error) is not None:
        setattr(request, _REQUEST_ATTRIBUTE, error)


got_request_exception.connect(_remember_database_error, dispatch_uid="gateway.middleware.database_error")


# How a client sends an API key (users/api/authentication.py reads them): ``Authorization: Api-Key <key>``
# or ``X-API-Key: <key>``.
API_KEY_SCHEME = "Api-Key"
API_KEY_HEADER = "HTTP_X_API_KEY"


def is_api_key_request(request) -> bool:
    """A request to the API that carries an API key.

    DRF authenticates it by the key alone (the key's authentication comes first and answers for it, accepted
    or refused), so it has no use for a login session, its user, or messages.
    """
    if not request.path_info.startswith("/api/"):
        return False
    if API_KEY_HEADER in request.META:
        return True
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    return scheme.lower() == API_KEY_SCHEME.lower()


class SkippedByApiKeyRequests:
    """Mixed into a middleware that an API-key request passes straight by (see ``is_api_key_request``)."""

    def __call__(self, request):
        if is_api_key_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(SkippedByApiKeyRequests, sessions_middleware.SessionMiddleware):
    """Django's, for every request but an API-key request to the API (which has no session)."""


class AuthenticationMiddleware(SkippedByApiKeyRequests, auth_middleware.AuthenticationMiddleware):
    """Django's, for every request but an API-key request to the API (DRF sets its user from the key)."""


class MessageMiddleware(SkippedByApiKeyRequests, messages_middleware.MessageMiddleware):
    """Django's, for every request but an API-key request to the API (no page shows its messages)."""
