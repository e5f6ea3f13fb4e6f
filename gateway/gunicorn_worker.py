"""The project's gunicorn worker: gunicorn's threaded worker whose own error answers are JSON, as the API's are.

gunicorn refuses some requests before Django sees them (a request line over ``limit_request_line``, too many or
too long headers, a malformed request line or header: docs/API.md, "Limits of the HTTP server") and answers
them with a short HTML page. This worker keeps gunicorn's decision (the status, its log line, the access log)
and only changes the page into ``{"detail": "<reason>: <gunicorn's message>"}`` with
``Content-Type: application/json``. ``gunicorn.conf.py`` names it, so every gunicorn of the project uses it.
"""

import html
import json
import re

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

# The page gunicorn.util.write_error writes: status line, headers, then the HTML with the message after the title.
ERROR_PAGE = re.compile(rb"HTTP/1\.1 (\d{3}) ([^\r\n]*)\r\n.*?\r\n\r\n.*?</h1>\s*(.*?)\s*</body>", re.DOTALL)


class ErrorPage:
    """Stands in for the client's socket while gunicorn writes its error page, so the page can be read back."""

    def __init__(self):
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


def json_error(page: bytes) -> bytes:
    """gunicorn's HTML error ``page`` (a whole HTTP response) as the same response with a JSON body.

    A page that does not have gunicorn's shape (a later gunicorn changed it) is returned as it is.
    """
    found = ERROR_PAGE.match(page)
    if found is None:
        return page
    status, reason, message = (part.decode("latin-1") for part in found.groups())
    message = html.unescape(message)
    body = json.dumps({"detail": f"{reason}: {message}" if message else reason}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker (``--threads``) answering its own errors in JSON (see the module)."""

    def handle_error(self, req, client, addr, exc):
        page = ErrorPage()
        super().handle_error(req, page, addr, exc)
        try:
            util.write_nonblock(client, json_error(page.data))
        except Exception:  # as gunicorn itself: the client may be gone
            self.log.debug("Failed to send error message.")
