"""``python -m bench.request_cost``: what one API request costs the server, in Python calls and CPU time.

A request goes through Django's WSGI handler in this process (every middleware, the connection's checkout and
checkin, the access log line), DEBUG off, one at a time, on the rows ``python -m bench peer`` left in
``gateway_peer`` (run it once first). Printed per request: the Python function calls (cProfile's count over
100 requests; it does not depend on the machine's load, so compare it across commits) and the process's CPU
time (the smallest of five batches; it does). docs/PERFORMANCE.md ("The levers ...") lists these figures at
each lever's commit: ``git checkout <commit>`` and run this module from that checkout.
"""

import argparse
import cProfile
import io
import pstats
import time

from bench.harness import setup_django

PEER_DATABASE = "gateway_peer"


def wsgi_caller(path: str, query: str, key: str):
    """A function sending one GET of ``path?query`` with ``key`` through Django's WSGI handler; returns the status."""
    from django.core.handlers.wsgi import WSGIHandler

    application = WSGIHandler()

    def call() -> str:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_X_API_KEY": key,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        statuses = []
        body = application(environ, lambda status, headers, *rest: statuses.append(status))
        b"".join(body)
        body.close()  # request_finished: the connection goes back to the pool, as under a server
        return statuses[0]

    return call


def timed_requests(asset) -> dict[str, tuple[str, str]]:
    """The requests measured, as ``{name: (path, query)}``, read by ``asset``'s owner."""
    return {
        "top clips of an asset": ("/api/v1/clips/top/", f"asset={asset.pk}&limit=10"),
        "one asset with its clips": (f"/api/v1/assets/{asset.pk}/", ""),
        "a page of 50 clips": ("/api/v1/clips/", "page_size=50"),
        "a page of 50 assets": ("/api/v1/assets/", "page_size=50"),
    }


def measure(call, *, requests: int) -> dict:
    """Python calls per request (100 requests profiled) and the smallest CPU time per request of five batches."""
    for _ in range(50):
        call()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(100):
        call()
    profile.disable()
    calls = pstats.Stats(profile).total_calls / 100
    batch = max(requests // 5, 1)
    cpu = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(batch):
            call()
        cpu.append((time.process_time() - started) / batch * 1000)
    return {"calls": calls, "cpu_ms": min(cpu)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests timed per figure (default 1000)")
    parser.add_argument("--database", default=PEER_DATABASE, help=f"database with the peer rows ({PEER_DATABASE})")
    args = parser.parse_args(argv)
    setup_django(args.database)

    from media.models import Asset
    from users.services import api_key_issue

    asset = Asset.objects.select_related("user").order_by("gcs_url").first()
    if asset is None:
        parser.error(f"no asset in {args.database}: run python -m bench peer first")
    api_key, key = api_key_issue(user=asset.user, name="bench")
    try:
        for name, (path, query) in timed_requests(asset).items():
            call = wsgi_caller(path, query, key)
            status = call()
            if not status.startswith("200"):
                raise SystemExit(f"{name}: {status}")
            figures = measure(call, requests=args.requests)
            print(f"{name:28} {figures['calls']:8.0f} Python calls   {figures['cpu_ms']:6.2f} ms CPU", flush=True)
    finally:
        api_key.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
