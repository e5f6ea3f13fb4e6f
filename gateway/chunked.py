"""Request bodies sent with ``Transfer-Encoding: chunked``: read, or refused with a 411, never dropped.

Django reads a body only as far as ``CONTENT_LENGTH`` says, and a chunked request has none: without this
middleware its body reads as empty, so a PATCH would answer 200 having changed nothing. A server that
decodes the chunks and ends the input stream where the body ends says so with ``wsgi.input_terminated``
(gunicorn does); then the body is read here, at most one byte past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (so a
larger one still gets the usual 413), and handed on with its length. A server that does not (Django's
development server, wsgiref) leaves the raw chunks on the socket: that request is answered 411 Length
Required, and the connection closed.
"""

import io

import orjson
from django.conf import settings

LENGTH_REQUIRED_DETAIL = "This server cannot read a chunked request body: send the body with a Content-Length header."


class ChunkedBodyMiddleware:
    """WSGI middleware around the Django application (``gateway.wsgi``); see the module docstring."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if is_chunked(environ) and not environ.get("CONTENT_LENGTH"):
            if not environ.get("wsgi.input_terminated"):
                return length_required(start_response)
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = environ["wsgi.input"].read() if limit is None else environ["wsgi.input"].read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)


def is_chunked(environ) -> bool:
    codings = environ.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in (coding.strip().lower() for coding in codings.split(","))


def length_required(start_response):
    # No Content-Length on purpose: the development server then closes the connection, discarding the
    # chunks it did not read instead of taking them for the next request.
    start_response("411 Length Required", [("Content-Type", "application/json")])
    return [orjson.dumps({"detail": LENGTH_REQUIRED_DETAIL})]
