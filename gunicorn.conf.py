"""gunicorn's settings shared by every server of the project: ``make serve``, docker-compose, the tests'
``production_server``, the benchmarks and ``make fuzz`` (gunicorn reads ``./gunicorn.conf.py`` from the
directory it starts in, the project's root for all of them). Their command lines set the rest.
"""

# The longest request line gunicorn allows (its default is 4094 bytes). The API's longest bounded query
# parameter, the knowledge list's ``q`` at 500 characters of four UTF-8 bytes each, is 6,000 bytes
# percent-encoded: it fits with room for the path and the other parameters. A longer line is gunicorn's own
# 414 before Django (docs/API.md, "Limits of the HTTP server").
limit_request_line = 8190

# gunicorn's threaded worker (``--threads``) with its own error answers in JSON, as the API's (a 414, a 431, a
# malformed request: gateway/gunicorn_worker.py). A command line's ``--worker-class`` still overrides it.
worker_class = "gateway.gunicorn_worker.JsonErrorThreadWorker"
