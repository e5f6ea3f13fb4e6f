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


def post_worker_init(worker):
    """Once a worker has loaded the application: import what its first requests would (the URLconf, so every view,
    serializer and filter), then move every object alive into the collector's permanent generation.

    The cyclic garbage collector otherwise walks the hundreds of thousands of objects of the loaded Django
    project again and again as requests allocate: 15-25 % of an API request's CPU time (a top-clips read 1.45 ->
    1.15 ms, a score 2.7 -> 2.1 ms, ``users/me/`` 0.47 -> 0.35 ms, docs/PERFORMANCE.md). Those objects live as
    long as the worker; what requests allocate is still collected as before.
    """
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf's modules)
    gc.freeze()
