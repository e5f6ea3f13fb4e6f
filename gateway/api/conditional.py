"""Conditional requests on single objects: ``ETag``, ``If-None-Match`` (304) and ``If-Match`` (412).

An object's ETag is strong and derived from what a client sees of it: a hash of the JSON its detail
(``GET /{resource}/{id}/``) answers, embedded rows included. So it changes whenever anything in that answer
changes, whichever path wrote it (the API, the console, a job, SQL), and a stale copy is always told apart.
``updated_at`` would not do: not every write touches it (an embedded clip or conversion total changes the
detail without touching the parent's row) and two writes may share its timestamp.

The viewsets (``gateway.api.viewsets``) compare ``If-Match`` against the ETag of the row as it is after
locking it (``SELECT ... FOR UPDATE``) in the write's transaction, so two clients racing with the same ETag
cannot both pass: the second reads the row the first wrote and gets a 412.
"""

import hashlib

from django.http import HttpResponseNotModified
from django.utils.http import parse_etags
from rest_framework import exceptions, status

from gateway.api.renderers import ORJSONRenderer

IF_MATCH = "If-Match"
IF_NONE_MATCH = "If-None-Match"
WEAK_PREFIX = "W/"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "If-Match does not match the current ETag: the object changed since you read it. "
        "Read it again (GET) and apply your change to what it is now."
    )
    default_code = "precondition_failed"


def etag_of(data) -> str:
    """The strong ETag of a representation: a hash of its compact JSON, quoted."""
    return '"' + hashlib.sha256(ORJSONRenderer().render(data)).hexdigest()[:32] + '"'


def check_if_match(request, current_etag: str) -> None:
    """Refuse (412) a write whose ``If-Match`` names neither the current ETag nor ``*``; no header: no check.

    Strong comparison (RFC 9110, 13.1.1): a weak tag never matches, nor does a header with no valid tag.
    """
    header = request.headers.get(IF_MATCH)
    if header is None:
        return
    tags = parse_etags(header)
    if "*" not in tags and current_etag not in tags:
        raise PreconditionFailed()


def has_preconditions(request) -> bool:
    return IF_MATCH in request.headers


def not_modified(request, current_etag: str) -> bool:
    """Whether a GET's ``If-None-Match`` names the current ETag (weak comparison) or is ``*``."""
    header = request.headers.get(IF_NONE_MATCH)
    if header is None:
        return False
    tags = [tag.removeprefix(WEAK_PREFIX) for tag in parse_etags(header)]
    return "*" in tags or current_etag in tags


def conditional_get(request, response):
    """A detail GET's answer with its ``ETag``, or a bodiless 304 when ``If-None-Match`` names it.

    Only JSON answers carry one (the browsable API's HTML pages differ by more than the data).
    """
    if response.status_code != status.HTTP_200_OK or getattr(request.accepted_renderer, "format", None) != "json":
        return response
    etag = etag_of(response.data)
    if not_modified(request, etag):
        response = HttpResponseNotModified()
    response["ETag"] = etag
    return response
