"""The HTTP half: the former stack's servers and the project's, loaded in turn by wrk on the same rows.

Both databases get the same user, API key (the project stores it hashed, the former stack in plaintext),
assets, clips and scores (``data``). Before anything is timed, every asset's top clips and detail are asked of
both servers: the clip ids must be the same, in the same order. Each row is then measured in rounds, the
former stack first and the project second in each (A B A B), ``wrk --latency`` for ``seconds`` at a time after
one untimed warm-up run of each; the figures are the medians of the rounds.

Rows: top clips of an asset, one asset with its 100 clips (reads, the former stack's server.ts), create a clip
and score a clip (writes, bench/peer/writes.ts on the former side: server.ts has none). The writes go to
another asset than the reads, and the scores to every clip in turn (bench/peer/post.lua).
"""

import json
import re
import shlex
import statistics
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from bench import gunicorn
from bench.harness import ROOT, bench_environment, start_server
from bench.peer import data, stack

POST_SCRIPT = Path(__file__).resolve().parent / "post.lua"
# The project's server, as `make serve` runs it: gunicorn, WEB_CONCURRENCY=2 processes of GUNICORN_THREADS=4.
SERVERS = {
    "gunicorn-gthread": {"worker_class": None, "threads": 4},  # gunicorn.conf.py's threaded worker
    "gunicorn-sync": {"worker_class": "sync", "threads": 1},
}
LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def same_answers(peer_url: str, project_url: str, key: str, asset_ids: list) -> int:
    """Ask both servers every asset's top clips and detail; raise unless the clip ids match, in order."""
    checked = 0
    for asset_id in asset_ids:
        pairs = (
            (
                f"{peer_url}/clips/top?asset={asset_id}&limit=10",
                f"{project_url}/api/v1/clips/top/?asset={asset_id}&limit=10",
            ),
            (f"{peer_url}/assets/{asset_id}", f"{project_url}/api/v1/assets/{asset_id}/"),
        )
        for peer, project in pairs:
            former, ours = get_json(peer, key), get_json(project, key)
            former_ids = [clip["id"] for clip in (former if isinstance(former, list) else former["clips"])]
            our_ids = [clip["id"] for clip in (ours if isinstance(ours, list) else ours["clips"])]
            if not former_ids or former_ids != our_ids:
                raise RuntimeError(f"the two stacks answer different clips: {peer} {former_ids} vs {project} {our_ids}")
            checked += 1
    return checked


def get_json(url: str, key: str):
    request = urllib.request.Request(url, headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def post_json(url: str, key: str, body: dict) -> int:
    """POST ``body``; the status (an error status raises, with the answer)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def wrk(url: str, key: str, *, seconds: int, connections: int, script: list[str] | None = None) -> dict:
    """One wrk run (2 threads, ``--latency``): ``{"rps", "p50_ms", "p99_ms", "requests", "errors"}``."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    command += ["--timeout", "30s", "-H", f"X-API-Key: {key}"]
    if script:
        command += ["-s", str(POST_SCRIPT), url, "--", *script]
    else:
        command.append(url)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): {completed.stdout[-1000:]} {completed.stderr[-1000:]}"
        )
    return parse_wrk(completed.stdout)


def parse_wrk(output: str) -> dict:
    """The figures of wrk's report (``--latency``); non-2xx/3xx answers and socket errors count as errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    latency = {
        percent: float(value) * LATENCY_UNITS[unit]
        for percent, value, unit in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    errors = sum(int(count) for count in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(count) for count in socket.groups())
    return {
        "rps": rps,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "requests": requests,
        "errors": errors,
    }


def row_requests(read_asset: str, write_asset: str, clip_ids: list) -> dict[str, dict[str, tuple]]:
    """Each row's request on each side (``peer``, ``project``): ``(path, None)`` for a GET, ``(paths, body)`` for
    POSTs of ``body`` to ``paths`` in turn (bench/peer/post.lua). The reads ask about ``read_asset``, a create goes
    into ``write_asset``, the scores to ``clip_ids`` in turn; the former stack's GETs go to server.ts, its POSTs to
    writes.ts."""
    new = {"features": {"new": True}, "score": 0.5}
    return {
        "top clips of an asset": {
            "peer": (f"/clips/top?asset={read_asset}&limit=10", None),
            "project": (f"/api/v1/clips/top/?asset={read_asset}&limit=10", None),
        },
        "one asset with its 100 clips": {
            "peer": (f"/assets/{read_asset}", None),
            "project": (f"/api/v1/assets/{read_asset}/", None),
        },
        "create a clip": {
            "peer": (["/clips"], {"assetId": write_asset, "startTime": 1000, "endTime": 1005, **new}),
            "project": (["/api/v1/clips/"], {"asset": write_asset, "start_time": 1000, "end_time": 1005, **new}),
        },
        "score a clip": {
            "peer": ([f"/clips/{clip_id}/score" for clip_id in clip_ids], {"score": 0.5}),
            "project": ([f"/api/v1/clips/{clip_id}/scores/" for clip_id in clip_ids], {"score": 0.5}),
        },
    }


def wrk_target(urls: dict, request: tuple, stem: Path, key: str) -> tuple[str, list[str] | None]:
    """``wrk``'s URL and script arguments for ``request`` (one of ``row_requests``) against one side's servers
    (``urls``: ``reads`` and ``writes``); a POST's paths and body are written to files named after ``stem``."""
    path, body = request
    if body is None:
        return urls["reads"] + path, None
    stem.with_suffix(".paths").write_text("\n".join(path) + "\n")
    stem.with_suffix(".json").write_text(json.dumps(body))
    return urls["writes"], [str(stem.with_suffix(".paths")), str(stem.with_suffix(".json")), key]


def cases(peer: dict, project: str, asset_ids: list, clip_ids: list, folder: Path, key: str) -> list[dict]:
    """The four rows: for each side, the URL and (writes) the wrk script's arguments; writes are tried once first."""
    urls = {"peer": peer, "project": {"reads": project, "writes": project}}
    rows = []
    for name, sides in row_requests(str(asset_ids[0]), str(asset_ids[-1]), clip_ids).items():
        case = {"name": name}
        for side, request in sides.items():
            case[side] = wrk_target(urls[side], request, folder / f"{side}-{len(rows)}", key)
            paths, body = request
            if body is not None:
                case.setdefault("check", []).append((urls[side]["writes"] + paths[0], body))
        rows.append(case)
    return rows


def measure(case: dict, key: str, *, connections: int, seconds: int, warmup: int, rounds: int) -> dict:
    """Warm both sides up, then ``rounds`` timed runs of each, alternating; the medians and every run."""
    for side in ("peer", "project") if warmup > 0 else ():
        url, script = case[side]
        wrk(url, key, seconds=warmup, connections=connections, script=script)
    runs = {"peer": [], "project": []}
    for _ in range(rounds):
        for side in ("peer", "project"):
            url, script = case[side]
            runs[side].append(wrk(url, key, seconds=seconds, connections=connections, script=script))
    return {
        side: {
            "rps": statistics.median(run["rps"] for run in measured),
            "p99_ms": statistics.median(run["p99_ms"] for run in measured),
            "errors": sum(run["errors"] for run in measured),
            "runs": measured,
        }
        for side, measured in runs.items()
    }


def run(connection, scratch: Path, url: str, peer_db, *, connections: list[int], seconds: int, warmup: int,
        rounds: int, server: str = "gunicorn-gthread", workers: int = 2, verbose: bool = False) -> dict:  # fmt: skip
    """Seed both sides, start the servers, check they answer alike, measure every row.

    Returns ``{"results": [one per row and connection count], "compared": answers compared, "log_lines": n}``
    (``log_lines``: the project's log lines, one per request: its access log was on).
    """
    from users.services import api_key_generate

    key = api_key_generate()
    rows = data.generate()
    user = data.load_project(rows, api_key=key)
    data.load_peer(peer_db, rows, user_id=user.pk, api_key=key)
    for database in (peer_db, None):
        vacuum(database, connection)
    asset_ids = [asset["id"] for asset in rows["assets"]]
    clip_ids = [clip["id"] for clip in rows["clips"]]
    stoppers, results = [], []
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as folder:
        folder = Path(folder)
        metrics = folder / "prometheus"
        metrics.mkdir()
        try:
            ports = {"reads": gunicorn.free_port(), "writes": gunicorn.free_port()}
            for side, script in (("reads", "server.ts"), ("writes", "writes.ts")):
                process = stack.start_server(scratch, script, url, port=ports[side], workers=workers)
                stoppers.append((stack.stop_server, process))
            peer = {side: f"http://127.0.0.1:{port}" for side, port in ports.items()}
            project_process, project, stop = start_project(
                connection.settings_dict["NAME"], server, workers=workers, folder=folder, metrics=metrics
            )
            stoppers.append((stop, project_process))
            checked = same_answers(peer["reads"], project, key, asset_ids)
            print(
                f"peer: both stacks answer the same clip ids in the same order ({checked} answers compared)", flush=True
            )
            for case in cases(peer, project, asset_ids, clip_ids, folder, key):
                for check_url, body in case.get("check", ()):
                    post_json(check_url, key, body)
                for count in connections:
                    print(
                        f"peer: HTTP {case['name']}, {count} connections, {rounds} x {seconds:g} s each side",
                        flush=True,
                    )
                    measured = measure(case, key, connections=count, seconds=seconds, warmup=warmup, rounds=rounds)
                    results.append({"name": case["name"], "connections": count, **measured})
                    if verbose:
                        print(
                            json.dumps(
                                {side: {k: v for k, v in measured[side].items() if k != "runs"} for side in measured}
                            )
                        )
        finally:
            for stop, process in reversed(stoppers):
                stop(process)
        log = folder / "project.log"
        log_lines = log.read_bytes().count(b"\n") if log.exists() else 0
    return {"results": results, "compared": checked, "log_lines": log_lines}


def start_project(database: str, server: str, *, workers: int, folder: Path, metrics: Path):
    """Start the project's server; ``(process, url, stop)``.

    ``server`` is a name of ``SERVERS`` (gunicorn, as `make serve` runs it) or a command line naming ``{port}``
    and ``{workers}``, e.g. ``.venv/bin/gunicorn gateway.wsgi -b 127.0.0.1:{port} -w {workers} --threads 8``, run in
    the project's folder with the same environment, in a process group of its own.
    """
    overrides = {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}  # as `make serve`: metrics summed over the workers
    log = folder / "project.log"
    if server in SERVERS:
        shape = SERVERS[server]
        process, url = gunicorn.start(
            database, overrides, workers=workers, threads=shape["threads"], worker_class=shape["worker_class"], log=log
        )
        return process, url, gunicorn.stop
    port = gunicorn.free_port()
    command = shlex.split(server.format(port=port, workers=workers))
    url = f"http://127.0.0.1:{port}"
    process = start_server(
        command,
        probe=f"{url}/health/live",
        name=command[0],
        stop=stack.stop_server,
        log=log,
        cwd=ROOT,
        env={**bench_environment(database), **overrides},
        start_new_session=True,
    )
    return process, url, stack.stop_server


def vacuum(database, connection) -> None:
    """VACUUM ANALYZE the freshly written tables, so both planners see them as they are."""
    if database is not None:
        database.execute('VACUUM ANALYZE "User", "Asset", "Clip"')
        return
    from bench.harness import raw_connection

    with raw_connection(connection) as raw:
        for table in ("users", "assets", "clips", "api_keys"):
            raw.execute(f"VACUUM ANALYZE {table}")
