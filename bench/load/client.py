"""The load generator: ``python -m bench.load.client --plan PLAN.json --out RESULT.json`` (no Django).

``concurrency`` threads, each with its own keep-alive ``http.client`` connection to 127.0.0.1, send a
mixed workload for ``seconds`` (after ``warmup`` seconds that are not counted) or until ``max_requests``:

- ``read``: a USER's lists, details, top clips, campaign performance, cursor pages of conversions, and
  an ADMIN's views over the whole data set (top clips of a million, a cursor page of a million);
- ``search``: text search of assets and of the knowledge base, and the hybrid search endpoint;
- ``write``: campaign metric increments, asset status changes (READY <-> PROCESSING) and campaign creates,
  each worker on rows of its own, so its writes can be reconciled exactly;
- ``ingest``: conversion batches of ``BATCH`` items with external ids unique to the run.

Every write is logged with its outcome: acknowledged (2xx), refused (an HTTP error) or unknown (no HTTP
answer: the connection broke or timed out; or the app's 503 saying the database broke during the write, the
plan's ``in_doubt_code``), so it may or may not have happened. The result has the
throughput, latency percentiles and statuses per kind, the write log and the timeline of every request.

A plan with ``paths`` (and the ``key`` to send) runs a fixed workload instead: each worker GETs the paths
in turn, starting at its own offset (``bench.gunicorn`` compares server configurations so).
"""

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time

BATCH = 10
WEIGHTS = {"read": 55, "search": 15, "write": 20, "ingest": 10}


class Worker:
    def __init__(self, index: int, plan: dict, clock: dict, log: dict, lock: threading.Lock):
        self.index = index
        self.plan = plan
        self.clock = clock
        self.log = log
        self.lock = lock
        self.random = random.Random(plan.get("seed", 0) * 1000 + index)
        self.rows = plan["workers"][index] if "workers" in plan else {}
        self.asset_status = "READY"
        self.sequence = 0
        self.next_path = index
        self.connection = self._connect()
        if plan.get("paths"):
            self.kinds = ["paths"]
        else:
            self.kinds = [kind for kind, weight in WEIGHTS.items() for _ in range(weight)]

    def _connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.plan["port"], timeout=self.plan["timeout"])

    def request(self, method: str, path: str, key: str, body=None):
        """(status, parsed JSON or None); status 0 when the outcome is unknown (the module docstring)."""
        headers = {"Authorization": f"Api-Key {key}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
            try:
                data = json.loads(content) if content else None
            except ValueError:
                data = None
            if response.status == 503 and isinstance(data, dict) and data.get("code") == self.plan.get("in_doubt_code"):
                return 0, data
            return response.status, data
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = self._connect()
            return 0, None

    def run(self):
        while True:
            now = time.time()
            if now >= self.clock["stop_at"]:
                return
            with self.lock:
                if self.log["made"] >= self.plan["max_requests"]:
                    return
                self.log["made"] += 1
            kind = self.random.choice(self.kinds)
            started = time.time()
            status, name = getattr(self, kind)()
            finished = time.time()
            with self.lock:
                self.log["timeline"].append((started, finished, kind, name, status))

    def paths(self):
        path = self.plan["paths"][self.next_path % len(self.plan["paths"])]
        self.next_path += 1
        return self.request("GET", path, self.plan["key"])[0], path

    def read(self):
        plan, reader = self.plan, self.plan["reader"]
        choices = [
            ("assets list", "/api/v1/assets/?page_size=20", reader["key"]),
            ("asset detail", f"/api/v1/assets/{reader['asset']}/", reader["key"]),
            ("clips of an asset", f"/api/v1/clips/?asset={reader['asset']}&page_size=50", reader["key"]),
            ("top clips of an asset", f"/api/v1/clips/top/?asset={reader['asset']}&limit=10", reader["key"]),
            ("campaign detail", f"/api/v1/campaigns/{reader['campaign']}/", reader["key"]),
            ("campaign performance", f"/api/v1/campaigns/{reader['campaign']}/performance/", reader["key"]),
            (
                "conversions, cursor",
                f"/api/v1/conversions/?campaign={reader['campaign']}&cursor=&page_size=50",
                reader["key"],
            ),
            ("users/me", "/api/v1/users/me/", reader["key"]),
            ("admin: top clips of all", "/api/v1/clips/top/?limit=10", plan["admin_key"]),
            ("admin: conversions, cursor", "/api/v1/conversions/?cursor=&page_size=50", plan["admin_key"]),
        ]
        name, path, key = self.random.choice(choices)
        status, _ = self.request("GET", path, key)
        return status, name

    def search(self):
        key = self.plan["reader"]["key"]
        word = self.random.choice(["video", "hook", "budget", "summer", "launch"])
        choice = self.random.randrange(3)
        if choice == 0:
            return self.request("GET", f"/api/v1/assets/?search={word}", key)[0], "assets ?search"
        if choice == 1:
            return self.request("GET", f"/api/v1/knowledge-documents/?q={word}", key)[0], "knowledge ?q"
        return self.request("POST", "/api/v1/knowledge-documents/search/", key, {"query": word})[0], "search"

    def write(self):
        key, rows = self.plan["writer_key"], self.rows
        choice = self.random.randrange(3)
        if choice == 0:
            body = {"clicks": 1, "impressions": 10, "increment": True}
            status, _ = self.request("POST", f"/api/v1/campaigns/{rows['campaign']}/metrics/", key, body)
            self._record("increments", rows["campaign"], status)
            return status, "metrics increment"
        if choice == 1:
            target = "PROCESSING" if self.asset_status == "READY" else "READY"
            status, data = self.request("POST", f"/api/v1/assets/{rows['asset']}/status/", key, {"status": target})
            if 200 <= status < 300:
                self.asset_status = target
            elif status == 400:
                # A change whose answer was lost may have happened: learn the status and go on from there.
                current, data = self.request("GET", f"/api/v1/assets/{rows['asset']}/", key)
                if current == 200:
                    self.asset_status = data["status"]
            self._record("status_changes", rows["asset"], status, target=target)
            return status, "asset status"
        self.sequence += 1
        name = f"{self.plan['run']}-w{self.index}-c{self.sequence}"
        status, _ = self.request("POST", "/api/v1/campaigns/", key, {"name": name, "budget": "100.00"})
        with self.lock:
            self.log["creates"].append((name, status))
        return status, "campaign create"

    def ingest(self):
        self.sequence += 1
        ids = [f"{self.plan['run']}-w{self.index}-i{self.sequence}-{item}" for item in range(BATCH)]
        items = [{"campaign": self.rows["campaign"], "external_id": ident, "value": "1.00"} for ident in ids]
        body = {"conversions": items}
        status, data = self.request("POST", "/api/v1/conversions/ingest/", self.plan["writer_key"], body)
        created = data.get("created") if isinstance(data, dict) else None
        with self.lock:
            self.log["ingests"].append({"ids": ids, "status": status, "created": created})
        return status, "conversions ingest"

    def _record(self, what: str, row: str, status: int, **extra):
        with self.lock:
            self.log[what].append({"row": row, "status": status, "time": time.time(), **extra})


def run(plan: dict) -> dict:
    lock = threading.Lock()
    log = {"made": 0, "timeline": [], "ingests": [], "creates": [], "increments": [], "status_changes": []}
    begin = time.time()
    clock = {"measure_from": begin + plan["warmup"], "stop_at": begin + plan["warmup"] + plan["seconds"]}
    workers = [Worker(index, plan, clock, log, lock) for index in range(plan["concurrency"])]
    threads = [threading.Thread(target=worker.run, daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=plan["seconds"] + plan["warmup"] + plan["timeout"] + 30)
    measured = [entry for entry in log["timeline"] if entry[0] >= clock["measure_from"]]
    elapsed = max(min(time.time(), clock["stop_at"]) - clock["measure_from"], 1e-9)
    return {
        "concurrency": plan["concurrency"],
        "seconds": elapsed,
        "began": begin,
        "measure_from": clock["measure_from"],
        "summary": summarize(measured, elapsed),
        "per_kind": {
            kind: summarize([e for e in measured if e[2] == kind], elapsed) for kind in sorted(set(workers[0].kinds))
        },
        "per_name": {
            name: summarize([e for e in measured if e[3] == name], elapsed) for name in sorted({e[3] for e in measured})
        },
        "timeline": log["timeline"],
        "writes": {key: log[key] for key in ("ingests", "creates", "increments", "status_changes")},
    }


def summarize(entries, elapsed: float) -> dict:
    latencies = sorted((finished - started) * 1000 for started, finished, *_ in entries)
    statuses = {}
    for entry in entries:
        statuses[str(entry[4])] = statuses.get(str(entry[4]), 0) + 1
    errors = sum(count for status, count in statuses.items() if not 200 <= int(status) < 300)
    return {
        "requests": len(entries),
        "errors": errors,
        "statuses": statuses,
        "rps": len(entries) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
        "max_ms": latencies[-1] if latencies else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.client", description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="the plan JSON written by bench.load")
    parser.add_argument("--out", required=True, help="where to write the result JSON")
    args = parser.parse_args(argv)
    with open(args.plan) as file:
        plan = json.load(file)
    result = run(plan)
    with open(args.out, "w") as file:
        json.dump(result, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
