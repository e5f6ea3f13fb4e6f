"""``python -m bench.report [results/all.json]``: the latest results as the Markdown docs/PERFORMANCE.md shows.

Prints the machine, the PostgreSQL version and the table of every row, from the JSON ``python -m bench all``
wrote (or any one benchmark's JSON).
"""

import json
import sys
from pathlib import Path

from bench.harness import RESULTS_DIR, Row, markdown_table


def load_rows(payload: dict) -> list[Row]:
    fields = ("name", "unit", "figure", "baseline", "queries", "target", "met", "extra")
    return [Row(**{key: row[key] for key in fields}) for row in payload["rows"]]


def render(payload: dict) -> str:
    machine = payload["machine"]
    memory = f"{machine['memory_bytes'] / 2**30:.0f} GiB" if machine.get("memory_bytes") else "?"
    lines = [
        f"Measured {payload['measured_at'][:16].replace('T', ' ')} UTC on {machine['nproc']} CPUs "
        f"({machine['cpu']}), {memory} of memory, PostgreSQL {payload['postgresql']}, Python {machine['python']}, "
        f"database `{payload['database']}`"
        + (f", {payload['seconds'] / 60:.1f} minutes in all." if "seconds" in payload else "."),
        "",
        markdown_table(load_rows(payload)),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else RESULTS_DIR / "all.json"
    print(render(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
