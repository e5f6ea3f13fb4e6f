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
import json
import pstats
import time

from bench.harness import setup_django

PEER_DATABASE = "gateway_peer"


def wsgi_caller(path: str, query: str, key: str, body: bytes | None = None):
    """A function sending one request of ``path?query`` with ``key`` through Django's WSGI handler (a GET, or a POST
    of the JSON ``body``); returns the status."""
    from django.core.handlers.wsgi import WSGIHandler

    application = WSGIHandler()
    method = "GET" if body is None else "POST"
    content = {} if body is None else {"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))}

    def call() -> str:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_X_API_KEY": key,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body or b""),
            **content,
            "wsgi.url_scheme": "http",
        }
        statuses = []
        answer = application(environ, lambda status, headers, *rest: statuses.append(status))
        b"".join(answer)
        answer.close()  # request_finished: the connection goes back to the pool, as under a server
        return statuses[0]

    return call


def timed_requests(asset, clip) -> dict[str, tuple[str, str, bytes | None]]:
    """The requests measured, as ``{name: (path, query, POST body or None)}``, sent by ``asset``'s owner; the
    writes are those of ``bench peer``'s HTTP rows (a clip created in ``asset``, ``clip`` scored)."""
    new_clip = {"asset": str(asset.pk), "start_time": 1000, "end_time": 1005, "features": {"new": True}, "score": 0.5}
    return {
        "top clips of an asset": ("/api/v1/clips/top/", f"asset={asset.pk}&limit=10", None),
        "one asset with its clips": (f"/api/v1/assets/{asset.pk}/", "", None),
        "a page of 50 clips": ("/api/v1/clips/", "page_size=50", None),
        "a page of 50 assets": ("/api/v1/assets/", "page_size=50", None),
        "create a clip": ("/api/v1/clips/", "", json.dumps(new_clip).encode()),
        "score a clip": (f"/api/v1/clips/{clip.pk}/scores/", "", b'{"score": 0.5}'),
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

    from django.utils import timezone

    from media.models import Asset
    from users.services import api_key_issue

    asset = Asset.objects.select_related("user").order_by("gcs_url").first()
    if asset is None:
        parser.error(f"no asset in {args.database}: run python -m bench peer first")
    clip = asset.clips.order_by("start_time", "id").first()
    created_since = timezone.now()
    api_key, key = api_key_issue(user=asset.user, name="bench")
    try:
        for name, (path, query, body) in timed_requests(asset, clip).items():
            call = wsgi_caller(path, query, key, body)
            status = call()
            if not status.startswith(("200", "201")):
                raise SystemExit(f"{name}: {status}")
            figures = measure(call, requests=args.requests)
            print(f"{name:28} {figures['calls']:8.0f} Python calls   {figures['cpu_ms']:6.2f} ms CPU", flush=True)
    finally:
        api_key.delete()
        # The clips the create row made (``bench peer`` replaces the rows each run anyway).
        asset.clips.filter(created_at__gte=created_since, start_time=1000).delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
