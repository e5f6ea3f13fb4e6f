"""Runs one named benchmark with the command line's parameters, prints its table and writes its JSON."""

import time
from pathlib import Path

from bench.harness import RESULTS_DIR, format_table, write_results


def run(name: str, args) -> dict:
    """Run benchmark ``name``; returns ``{"rows", "extra", "path"}``."""
    verbose = args.verbose
    repeat = {"repeat": args.repeat} if args.repeat else {}
    if name == "dataset":
        from bench import dataset

        result = dataset.run(scale=args.scale or dataset.SCALE, verbose=True)
    elif name == "api":
        from bench import api

        result = api.run(verbose=verbose, **repeat)
    elif name == "admin":
        from bench import admin

        result = admin.run(verbose=verbose, **repeat)
    elif name == "ingest":
        from bench import ingest

        result = ingest.run(verbose=verbose, **repeat)
    elif name == "seed":
        from bench import seed

        result = seed.run(verbose=verbose, **repeat)
    elif name == "gunicorn":
        from bench import gunicorn

        result = gunicorn.run(seconds=args.gunicorn_seconds, verbose=verbose)
    elif name == "knowledge":
        from bench import knowledge_suite

        result = knowledge_suite.run(
            rows=args.knowledge_rows,
            queries=args.knowledge_queries,
            questions=args.knowledge_questions,
            verbose=verbose,
        )
    else:
        raise ValueError(f"unknown benchmark {name!r}")
    print(format_table(name, result["rows"]), flush=True)
    result["path"] = write_results(name, result["rows"], extra=result.get("extra"), directory=results_dir(args))
    return result


def results_dir(args) -> Path:
    return Path(args.results_dir) if getattr(args, "results_dir", None) else RESULTS_DIR


def summary_table(rows, seconds: float) -> str:
    return format_table(f"all benchmarks ({seconds / 60:.1f} min)", rows)


def write_summary(rows, names, seconds: float, args=None):
    return write_results(
        "all",
        rows,
        extra={"benchmarks": names, "seconds": seconds, "finished": time.strftime("%Y-%m-%d %H:%M:%S")},
        directory=results_dir(args),
    )
