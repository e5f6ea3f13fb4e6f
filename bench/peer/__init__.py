"""``python -m bench peer``: the former stack (Node.js, Prisma 7) and the project side by side, same server, same rows.

The former stack is ``../shared/peers/prisma`` (its README), set up in a scratch folder (``bench.peer.stack``);
the project runs against a database of its own, ``gateway_peer``, on the same PostgreSQL server as the former
stack's ``prisma_peer``. Two halves, each alternating the two sides (A B A B) over ``--rounds`` rounds, figures
the medians:

- ``orm`` (``bench.peer.orm``): bench.ts's four operations, ops/s, Prisma against the project's querysets and
  services; target >= 0.8x Prisma each, and (d) in at most 3 SQL statements;
- ``http`` (``bench.peer.web``): req/s and p99 of two reads and two writes with wrk at each ``--connections``;
  target >= 1.0x the former stack's req/s and a lower p99.

Needs Node.js (with npm) and, for ``http``, wrk: without them it says what to install and exits with 2.
Prints the tables and writes ``bench/results/peer.json``. See docs/PERFORMANCE.md.
"""

import argparse
import statistics
import sys
from pathlib import Path

from bench.harness import Row, write_results
from bench.peer.stack import missing_tools

DATABASE = "gateway_peer"
ORM_RATIO = 0.8
HTTP_RATIO = 1.0
MAX_SCORE_STATEMENTS = 3


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench peer", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("http", "orm"), default=None, help="one half only (default both)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each timed wrk run (default 10)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of the untimed wrk run per row and side (0: none)"
    )
    parser.add_argument("--connections", default="16,64", help="wrk connections, comma-separated (default 16,64)")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per figure (default 3)")
    parser.add_argument(
        "--server", default="gunicorn-gthread",
        help="the project's server: gunicorn-gthread (`make serve`'s: --workers x 4 threads, the default), "
        "gunicorn-sync, or a command line naming {port} and {workers}",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="server processes on each side (default 2)")
    parser.add_argument("--scratch", type=Path, default=None, help="the former stack's scratch copy (/tmp/prisma-peer)")
    parser.add_argument("--database", default=DATABASE, help=f"the project's database (default {DATABASE})")
    parser.add_argument("--results-dir", default=None, help="where peer.json goes (default bench/results)")
    parser.add_argument("--markdown", action="store_true", help="also print the rows as a Markdown table at the end")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every run's figures")
    args = parser.parse_args(argv)
    args.connections = [int(count) for count in args.connections.split(",") if count.strip()]
    if args.rounds < 1 or args.seconds < 1 or not args.connections or min(args.connections) < 1:
        parser.error("--rounds, --seconds and every --connections count must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse(argv or [])
    halves = [args.only] if args.only else ["orm", "http"]
    missing = missing_tools(http="http" in halves)
    if missing:
        print("python -m bench peer runs the former stack and loads both over HTTP; install first:", file=sys.stderr)
        for line in missing:
            print(f"  - {line}", file=sys.stderr)
        return 2

    from bench.harness import setup_django

    setup_django(args.database)
    from django.core.management import call_command
    from django.db import connection

    from bench.peer import stack, web

    call_command("migrate", interactive=False, verbosity=0)
    url = stack.database_url(connection)
    peer_db = stack.prepare_database(connection)
    scratch = stack.prepare_scratch(args.scratch or stack.SCRATCH, url, verbose=args.verbose)
    rows, extra = [], {"halves": halves, "rounds": args.rounds, "server": args.server, "workers": args.workers}
    try:
        if "orm" in halves:
            measured = orm_half(scratch, url, rounds=args.rounds, verbose=args.verbose)
            rows += orm_rows(measured)
            extra["orm"] = measured
            print(table("ORM: bench.ts's operations, sequential (ops/s)", rows), flush=True)
        if "http" in halves:
            measured = web.run(
                connection, scratch, url, peer_db, connections=args.connections, seconds=args.seconds,
                warmup=args.warmup, rounds=args.rounds, server=args.server, workers=args.workers, verbose=args.verbose,
            )  # fmt: skip
            http = http_rows(measured["results"], args)
            rows += http
            extra["http"] = {**measured, "seconds": args.seconds, "connections": args.connections}
            title = f"HTTP: wrk, {args.seconds} s a run, {args.workers} processes each side, project on {args.server}"
            print(table(title, http))
    finally:
        peer_db.close()
    directory = Path(args.results_dir) if args.results_dir else None
    path = write_results("peer", rows, extra=extra, directory=directory)
    if args.markdown:
        print(markdown(rows))
    print(f"written: {path}")
    return 0


def orm_half(scratch, url: str, *, rounds: int, verbose: bool) -> dict:
    """Prisma's bench.ts and the project's operations, alternately, ``rounds`` times; every round's figures."""
    from bench.peer import orm

    prisma_statements = orm.prisma_run(scratch, url, count_sql=True)
    runs = {"prisma": [], "project": []}
    statements, sql = {}, {}
    for number in range(1, rounds + 1):
        print(f"peer: ORM round {number}/{rounds}: bench.ts, then the project", flush=True)
        runs["prisma"].append(orm.prisma_run(scratch, url))
        measured = orm.project_run()
        runs["project"].append(measured["ops"])
        statements, sql = measured["statements"], measured["sql"]
        if verbose:
            print(f"  prisma {runs['prisma'][-1]}\n  project {measured['ops']}")
    return {"runs": runs, "statements": {"prisma": prisma_statements, "project": statements}, "project_sql": sql}


def orm_rows(measured: dict) -> list[Row]:
    from bench.peer.orm import OPERATIONS

    rows = []
    for op, (name, n) in OPERATIONS.items():
        prisma = statistics.median(run[op] for run in measured["runs"]["prisma"])
        project = statistics.median(run[op] for run in measured["runs"]["project"])
        rows.append(
            Row(
                f"ORM {name}",
                "ops/s",
                project,
                prisma,
                measured["statements"]["project"][op],
                f">= {ORM_RATIO}x Prisma",
                project >= ORM_RATIO * prisma,
                {"n": n, "prisma_statements": measured["statements"]["prisma"].get(op)},
            )
        )
    count = measured["statements"]["project"]["d"]
    rows.append(
        Row(
            "ORM (d) SQL statements (BEGIN and COMMIT counted)",
            "statements",
            count,
            measured["statements"]["prisma"].get("d"),
            count,
            f"<= {MAX_SCORE_STATEMENTS}",
            count <= MAX_SCORE_STATEMENTS,
        )
    )
    return rows


def http_rows(results: list[dict], args) -> list[Row]:
    rows = []
    for result in results:
        peer, project = result["peer"], result["project"]
        errors = peer["errors"] + project["errors"]
        met = project["rps"] >= HTTP_RATIO * peer["rps"] and project["p99_ms"] < peer["p99_ms"] and not errors
        rows.append(
            Row(
                f"HTTP {result['name']}, {result['connections']} connections",
                "req/s",
                project["rps"],
                peer["rps"],
                None,
                f">= {HTTP_RATIO}x req/s, lower p99",
                met,
                {"p99_ms": {"former": peer["p99_ms"], "project": project["p99_ms"]}, "errors": errors, **result},
            )
        )
    return rows


def table(title: str, rows: list[Row]) -> str:
    """The rows with the former stack's figure beside the project's, the ratio and the verdict."""
    header = f"{'':<52}{'former stack':>24}{'project':>24}{'ratio':>7}  {'target':<26}result"
    lines = [title, header, "-" * len(header)]
    for row in rows:
        former, ours, ratio = _cells(row)
        verdict = {True: "met", False: "MISSED", None: "-"}[row.met]
        lines.append(f"{row.name:<52}{former:>24}{ours:>24}{ratio:>7}  {row.target:<26}{verdict}")
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    """The same as a Markdown table (``--markdown``; docs/PERFORMANCE.md)."""
    lines = ["| | former stack | project | ratio | target | result |", "| --- | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        former, ours, ratio = _cells(row)
        verdict = {True: "met", False: "**missed**", None: "-"}[row.met]
        lines.append(f"| {row.name} | {former} | {ours} | {ratio} | {row.target} | {verdict} |")
    return "\n".join(lines)


def _cells(row: Row) -> tuple[str, str, str]:
    """The former stack's figure, the project's and their ratio, as both tables show them."""
    ratio = f"{row.ratio:.2f}" if row.ratio is not None and row.unit != "statements" else "-"
    return _cell(row, row.baseline, "former"), _cell(row, row.figure, "project"), ratio


def _cell(row: Row, value, side: str) -> str:
    if value is None:
        return "-"
    if row.unit == "statements":
        return f"{value:g}"
    text = f"{value:,.0f} {row.unit}"
    p99 = row.extra.get("p99_ms", {}).get(side)
    return f"{text}, p99 {p99:.0f} ms" if p99 is not None else text
