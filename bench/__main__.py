"""``python -m bench <name> [...]``: run benchmarks against the ``gateway_bench`` database.

Names: ``dataset`` (build or reuse the scale data set), ``api``, ``admin``, ``ingest``, ``seed``,
``gunicorn``, ``knowledge``, and ``all`` (every one, the data set first); ``load`` runs the load harness
(``python -m bench load --help``, bench/load); ``cluster`` runs it against the scaled-out topology through
two faults and a failover (bench/cluster.py, docs/SCALING.md); ``peer`` runs the former stack (Node.js, Prisma)
beside the project on the same rows (bench/peer, ``python -m bench peer --help``). Each prints its table and
writes ``bench/results/<name>.json``; ``all`` also writes ``bench/results/all.json`` and prints the whole
table at the end. See docs/PERFORMANCE.md.
"""

import argparse
import sys
import time
import traceback

BENCHMARKS = ("dataset", "api", "admin", "ingest", "seed", "gunicorn", "knowledge")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:  # the load harness (bench/load) has options of its own; not part of ``all``
        from bench.load.__main__ import main as load_main

        return load_main(argv[1:])
    if argv[:1] == ["cluster"]:  # starts a topology of its own (bench/cluster.py); not part of ``all``
        from bench.cluster import main as cluster_main

        return cluster_main(argv[1:])
    if argv[:1] == ["peer"]:  # the former stack beside the project (bench/peer); not part of ``all``
        from bench.peer import main as peer_main

        return peer_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=(*BENCHMARKS, "all"), metavar="name", help=", ".join(BENCHMARKS))
    parser.add_argument("-v", "--verbose", action="store_true", help="print the EXPLAIN plans and progress")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per figure (default: per benchmark)")
    parser.add_argument("--scale", type=int, default=None, help="seed --scale of the data set (default 1000)")
    parser.add_argument("--database", default=None, help="bench database (default gateway_bench)")
    parser.add_argument(
        "--knowledge-rows", type=int, default=100_000, help="documents of the knowledge benchmark (default 100000)"
    )
    parser.add_argument("--knowledge-queries", type=int, default=100, help="queries of the knowledge benchmark")
    parser.add_argument(
        "--knowledge-questions",
        type=int,
        default=None,
        help="labelled questions of the retrieval quality benchmark (default all 108, over 1,016 documents)",
    )
    parser.add_argument("--gunicorn-seconds", type=float, default=10.0, help="seconds per gunicorn configuration")
    parser.add_argument("--results-dir", default=None, help="where the JSON goes (default bench/results)")
    args = parser.parse_args(argv)

    from bench.harness import BENCH_DATABASE, setup_django

    setup_django(args.database or BENCH_DATABASE)
    from bench import suite

    names = list(BENCHMARKS) if "all" in args.names else list(dict.fromkeys(args.names))
    if "dataset" not in names and any(name in ("api", "admin") for name in names):
        names.insert(0, "dataset")  # reads need the data set; reused when it is there
    started = time.perf_counter()
    everything, failures = [], []
    for name in names:
        print(f"\n== {name} ==", flush=True)
        tick = time.perf_counter()
        try:
            result = suite.run(name, args)
        except Exception:
            traceback.print_exc()
            failures.append(name)
            continue
        everything.extend(result["rows"])
        print(f"({name}: {time.perf_counter() - tick:.0f} s, results in {result['path']})", flush=True)
    if len(names) > 1:
        path = suite.write_summary(everything, names, time.perf_counter() - started, args)
        print()
        print(suite.summary_table(everything, time.perf_counter() - started))
        print(f"\nwritten: {path}")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
