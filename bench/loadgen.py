"""A small HTTP load generator (no Django): ``python -m bench.loadgen --url URL [...]``, prints JSON.

``concurrency`` threads, each with a keep-alive connection, request the given paths in turn for
``seconds`` (after ``warmup`` seconds not counted) or until ``max_requests`` have been made, whichever
comes first. Reports requests, errors (non-2xx or failed), requests per second and latency percentiles.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit


def run(
    url: str,
    paths: list[str],
    *,
    headers: dict,
    concurrency: int = 16,
    seconds: float = 10.0,
    warmup: float = 2.0,
    max_requests: int = 100_000,
    timeout: float = 30.0,
) -> dict:
    parts = urlsplit(url)
    lock = threading.Lock()
    latencies: list[float] = []
    state = {"errors": 0, "made": 0, "statuses": {}}
    begin = time.perf_counter()
    measure_from = begin + warmup
    stop_at = measure_from + seconds

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        index = offset
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                break
            with lock:
                if state["made"] >= max_requests:
                    break
            path = paths[index % len(paths)]
            index += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
            finished = time.perf_counter()
            if started >= measure_from and finished <= stop_at:
                with lock:
                    state["made"] += 1
                    latencies.append((finished - started) * 1000)
                    state["statuses"][status] = state["statuses"].get(status, 0) + 1
                    if not 200 <= status < 300:
                        state["errors"] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(number,), daemon=True) for number in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = min(time.perf_counter(), stop_at) - measure_from
    latencies.sort()
    return {
        "requests": state["made"],
        "errors": state["errors"],
        "statuses": {str(key): value for key, value in state["statuses"].items()},
        "seconds": elapsed,
        "rps": state["made"] / elapsed if elapsed > 0 else 0.0,
        "median_ms": statistics.median(latencies) if latencies else None,
        "p95_ms": latencies[int(len(latencies) * 0.95)] if latencies else None,
        "concurrency": concurrency,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--path", action="append", required=True, help="a path to request (repeatable)")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    args = parser.parse_args(argv)
    headers = dict(header.split(": ", 1) for header in args.header)
    result = run(
        args.url,
        args.path,
        headers=headers,
        concurrency=args.concurrency,
        seconds=args.seconds,
        warmup=args.warmup,
        max_requests=args.max_requests,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
