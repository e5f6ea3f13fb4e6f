"""``python -m bench.cpu_share``: where the machine's CPU goes per request over HTTP.

The project's server runs as ``python -m bench peer`` runs it (``make serve``'s gunicorn, or ``--server``), on the
rows ``bench peer`` left in ``gateway_peer`` (run it once first), and wrk loads one of ``bench peer``'s rows at a
time (top clips, one asset with its 100 clips, a clip created, a clip scored); with ``--peer``, the former stack's
servers are loaded the same way after it, on the rows ``bench peer`` left in ``prisma_peer``. Printed per row and side:
req/s and the CPU milliseconds one request costs the server's processes, PostgreSQL's (every process named
``postgres``), wrk, and the whole machine (from ``/proc``: Linux only), and the time the host of a virtual
machine gave to other guests meanwhile (steal). On two cores a row cannot pass ``2000 / machine`` req/s; where it
stays well below that with steal, the machine was shared, not idle. So this says which part to cut: the server's
own work, or the statements PostgreSQL runs for it. ``--floor`` first loads the project with two requests that do
no view work (``FLOOR``): what any request costs its server before its queries and its answer. Needs wrk (and
Node.js for ``--peer``).
"""

import argparse
import os
import resource
import shutil
import tempfile
from pathlib import Path

from bench.harness import setup_django

PEER_DATABASE = "gateway_peer"
SIDES = {"project": "project", "peer": "former stack"}  # row_requests' sides, as printed
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# The project's requests that do no view work, as row_requests' rows (project side only): every middleware and the
# health view, then an API-key request through authentication, the throttle and DRF's dispatch that reads nothing.
FLOOR = {
    "floor: /health/live": {"project": ("/health/live", None)},
    "floor: users/me/": {"project": ("/api/v1/users/me/", None)},
}


def processes() -> dict[int, tuple[int, str, float]]:
    """``{pid: (parent pid, command line, CPU seconds used so far)}`` of every process this user can see."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            command = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the name, which may hold spaces
        found[int(entry.name)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND)
    return found


def cpu_seconds(roots: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, per process, by the processes ``roots`` and their descendants (``server``) and by
    PostgreSQL's processes (``postgres``); by this process's waited-for children (``wrk``: they are gone from
    ``/proc`` by then) and by the whole machine since boot (``machine``: user, nice, system, irq and softirq time
    of ``/proc/stat``), each under the key 0; and the time a virtual machine's host gave other guests while this one
    had work (``steal``)."""
    table = processes()
    tree, pending = set(), list(roots)
    while pending:
        pid = pending.pop()
        tree.add(pid)
        pending.extend(child for child, (parent, _, _) in table.items() if parent == pid and child not in tree)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    return {
        "server": {pid: table[pid][2] for pid in tree if pid in table},
        "postgres": {
            pid: used
            for pid, (_, command, used) in table.items()
            if os.path.basename(command.split(" ", 1)[0]).startswith("postgres")
        },
        "wrk": {0: children.ru_utime + children.ru_stime},
        "machine": {0: sum(int(busy[index]) for index in (0, 1, 2, 5, 6)) / TICKS_PER_SECOND},
        "steal": {0: int(busy[7]) / TICKS_PER_SECOND},
    }


def share(before: dict, after: dict, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request of each part between two ``cpu_seconds`` readings. A process that started
    between them counts from zero; one that ended between them (an autovacuum worker) is not counted: its time left
    ``/proc`` with it."""
    return {
        part: sum(used - before[part].get(pid, 0.0) for pid, used in after[part].items()) * 1000 / requests
        for part in after
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_share", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk's run per row, after a 2 s warm-up (8)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections (16)")
    parser.add_argument("--server", default="gunicorn-gthread", help="as bench peer's --server (make serve's)")
    parser.add_argument("--peer", action="store_true", help="the former stack's servers too (after bench peer)")
    parser.add_argument("--floor", action="store_true", help="the project's requests that do no view work first")
    parser.add_argument("--database", default=PEER_DATABASE, help=f"database with the peer rows ({PEER_DATABASE})")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.exit(2, "wrk is needed: apt-get install wrk\n")
    setup_django(args.database)

    from bench.peer.web import row_requests
    from media.models import Asset
    from users.services import api_key_issue

    assets = Asset.objects.select_related("user").order_by("gcs_url")
    asset, write_asset = assets.first(), assets.last()
    if asset is None:
        parser.error(f"no asset in {args.database}: run python -m bench peer first")
    clips = [str(pk) for pk in asset.clips.order_by("start_time", "id").values_list("pk", flat=True)]
    requests = (FLOOR if args.floor else {}) | row_requests(str(asset.pk), str(write_asset.pk), clips)
    api_key, key = api_key_issue(user=asset.user, name="cpu share")
    print(f"{'':40} {'req/s':>7}  CPU ms per request: server, PostgreSQL, wrk, whole machine; stolen by the host")
    try:
        with tempfile.TemporaryDirectory(prefix="cpu-share-") as folder:
            folder = Path(folder)
            measure_side("project", project_server(args, folder), requests, key, folder, args)
            if args.peer:
                measure_side("peer", peer_servers(), requests, peer_key(), folder, args)
    finally:
        api_key.delete()
    return 0


def project_server(args, folder: Path):
    """The project's server, as ``bench peer`` starts it: its URLs (``reads``, ``writes``: the same one), its root
    process, and the function stopping it."""
    from bench.peer.web import start_project

    metrics = folder / "metrics"
    metrics.mkdir()
    process, url, stop = start_project(args.database, args.server, workers=2, folder=folder, metrics=metrics)
    return {"reads": url, "writes": url}, [process], lambda: stop(process)


def peer_servers():
    """The former stack's two servers on ``prisma_peer`` (server.ts reads, bench/peer/writes.ts writes), as
    ``bench peer`` starts them: their URLs, their root processes, and the function stopping them."""
    from django.db import connection

    from bench import gunicorn
    from bench.peer import stack

    url = stack.database_url(connection, stack.DATABASE)
    scratch = stack.prepare_scratch(stack.SCRATCH, url)
    urls, processes = {}, []

    def stop():
        for process in processes:
            stack.stop_server(process)

    try:
        for side, script in (("reads", "server.ts"), ("writes", "writes.ts")):
            port = gunicorn.free_port()
            processes.append(stack.start_server(scratch, script, url, port=port, workers=2))
            urls[side] = f"http://127.0.0.1:{port}"
    except BaseException:
        stop()  # the one that started, when the other did not
        raise
    return urls, processes, stop


def peer_key() -> str:
    """The API key of ``prisma_peer``'s user (the former stack keeps it in plaintext)."""
    import psycopg
    from django.db import connection

    from bench.harness import server_params
    from bench.peer import stack

    with psycopg.connect(dbname=stack.DATABASE, **server_params(connection)) as peer:
        return peer.execute('SELECT "apiKey" FROM "User" LIMIT 1').fetchone()[0]


def measure_side(side: str, started, requests: dict, key: str, folder: Path, args) -> None:
    """Load each row of ``requests`` (``bench.peer.web.row_requests``, ``FLOOR``) that has a request for ``side``
    (``project`` or ``peer``) on that side's servers and print what a request cost."""
    from bench.peer.web import wrk, wrk_target

    urls, processes, stop = started
    label = SIDES[side]
    try:
        for index, (name, sides) in enumerate(requests.items()):
            if side not in sides:
                continue
            target, script = wrk_target(urls, sides[side], folder / f"{side}-{index}", key)
            wrk(target, key, seconds=2, connections=args.connections, script=script)
            roots = [process.pid for process in processes]
            before = cpu_seconds(roots)
            result = wrk(target, key, seconds=args.seconds, connections=args.connections, script=script)
            if result["errors"]:
                raise SystemExit(f"{label}, {name}: {result['errors']} error answers")
            used = share(before, cpu_seconds(roots), result["requests"])
            print(
                f"{label + ': ' + name:40} {result['rps']:7.0f}  {used['server']:6.2f} {used['postgres']:6.2f}"
                f" {used['wrk']:6.2f} {used['machine']:6.2f}; {used['steal']:6.2f}",
                flush=True,
            )
    finally:
        stop()


if __name__ == "__main__":
    raise SystemExit(main())
