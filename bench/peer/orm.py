"""The ORM half: bench.ts's four operations through Prisma, and the same four through the project's own code.

Prisma's figures are bench.ts's own, run as is (``tsx bench.ts``: it reseeds its tables, then times each
operation sequentially after a warm-up). The project's side seeds the same shape into its database
(``data.load_project``: 1 user, 100 assets, 100 clips each, bench.ts's numbers) and times, with bench.ts's n
and warm-up:

(a) top 10 scored clips of an asset, score >= 0.5, with the asset: ``Clip.objects.top()`` + ``select_related``,
    its SQL compiled once as ``clips/top/``'s is (``gateway.db.compiled``);
(b) one asset with its user and its 100 clips, as the asset detail reads them: the asset with
    ``select_related("user")`` as ``get_object`` reads it for its owner (``OBJECT_ROWS``), then its clips as
    rows (``AssetDetailSerializer``'s ``clips``: ``Clip.objects.of_asset(asset)``'s columns by ``values()``),
    both by SQL compiled once (``gateway.db.compiled``);
(c) create a clip as the API does (``ClipSerializer.create`` is ``Clip.objects.create``: one INSERT, whose
    RETURNING brings back the database-computed ``duration``, as Prisma's create returns the row);
(d) update a clip's score through ``clip_set_scores`` (the service every score goes through).

Each side's SQL statements per operation are counted on one call (Prisma's with bench.ts's ``LOG_SQL=1``).
"""

import gc
import re
import subprocess
import time
from collections.abc import Callable

from bench.peer import data
from bench.peer.stack import node_environment, tsx
from gateway.db.compiled import CompiledQuery

OPERATIONS = {
    "a": ("(a) top clips of an asset + its asset", 2000),
    "b": ("(b) one asset + its user + its 100 clips", 2000),
    "c": ("(c) create a clip", 1000),
    "d": ("(d) update a clip's score", 1000),
}
WARMUP = 50  # bench.ts: min(50, n) untimed calls first
TIMED_LINE = re.compile(r"^\((?P<op>[a-d])\) .*?n=\s*(?P<n>\d+)\s+(?P<seconds>[\d.]+) s\s", re.M)
COUNT_LINE = re.compile(r"^\s*-> (?P<count>\d+) SQL statement")


def prisma_run(scratch, url: str, *, count_sql: bool = False) -> dict:
    """Run bench.ts once: ``{op: ops/s}``, or with ``count_sql`` ``{op: SQL statements of one call}``."""
    env = node_environment(url, **({"LOG_SQL": "1"} if count_sql else {}))
    completed = subprocess.run(
        tsx(scratch, "bench.ts"), cwd=scratch, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.ts failed: {completed.stderr[-2000:]}")
    if count_sql:
        return statement_counts(completed.stdout)
    figures = {
        match["op"]: int(match["n"]) / float(match["seconds"]) for match in TIMED_LINE.finditer(completed.stdout)
    }
    if set(figures) != set(OPERATIONS):
        raise RuntimeError(
            f"bench.ts printed no figure for {sorted(set(OPERATIONS) - set(figures))}: {completed.stdout}"
        )
    return figures


def statement_counts(output: str) -> dict:
    """``{op: n}`` from bench.ts's ``LOG_SQL=1`` output: an operation's name, its SQL, "-> n SQL statement(s)"."""
    counts, op = {}, None
    for line in output.splitlines():
        if re.match(r"^\([a-d]\) ", line):
            op = line[1]
        elif (match := COUNT_LINE.match(line)) and op:
            counts[op] = int(match["count"])
    return counts


def scored_top_clips(*, asset, limit, min_score):
    """(a): bench.ts's top clips (SCORED ones, with their asset) by the clips' ``top()``."""
    from media.choices import ClipStatus
    from media.models import Clip

    scored = Clip.objects.filter(status=ClipStatus.SCORED).select_related("asset")
    return scored.top(asset=asset, limit=limit, min_score=min_score)


# As clips/top/ reads its rows (TOP_CLIP_ROWS): Django builds and compiles the SQL once per limit, and each call
# runs it with its own asset and bound, as Prisma runs a query plan it keeps.
SCORED_TOP_CLIPS = CompiledQuery(scored_top_clips, shape=("limit",))


def project_operations(asset_ids: list) -> dict[str, Callable[[int], object]]:
    """The project's four operations, each a function of the call's number ``i`` (as bench.ts's)."""
    from gateway.api.viewsets import OBJECT_ROWS
    from media.api.serializers import AssetDetailSerializer
    from media.api.views import AssetViewSet
    from media.models import Asset, Clip
    from media.services import clip_set_scores

    rnd = data.Rnd(7)
    owner = Asset.objects.select_related("user").get(pk=asset_ids[0]).user
    clips_of_asset = AssetDetailSerializer().fields["clips"]
    target = Clip.objects.filter(asset_id=asset_ids[0]).order_by("id").first()
    count = len(asset_ids)

    def top(i):
        return SCORED_TOP_CLIPS(asset=asset_ids[i % count], limit=10, min_score=0.5)

    def asset_with_clips(i):
        # As the asset's detail reads them: the asset with its owner, then its clips as rows (plain dicts, as
        # Prisma's are plain objects), in the detail's order.
        (asset,) = OBJECT_ROWS(
            viewset=AssetViewSet, action="retrieve", deleted=False, user=owner, pk=asset_ids[i % count]
        )
        return asset, clips_of_asset.get_attribute(asset)

    def create(i):
        return Clip.objects.create(
            asset_id=asset_ids[i % count],
            start_time=1000 + i,
            end_time=1005 + i,
            features={"new": True},
            score=rnd(),
        )

    def update_score(i):
        return clip_set_scores(clip=target, score=(i % 100) / 100)

    return {"a": top, "b": asset_with_clips, "c": create, "d": update_score}


def statements(operation: Callable[[int], object]) -> list[str]:
    """The SQL statements one call of ``operation`` sends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        operation(0)
    return [query["sql"] for query in queries.captured_queries]


def ops_per_second(operation: Callable[[int], object], n: int, *, warmup: int = WARMUP) -> float:
    """bench.ts's ``timeit``: ``min(warmup, n)`` untimed calls, then ``n`` sequential calls timed together."""
    for i in range(min(warmup, n)):
        operation(i)
    started = time.perf_counter()
    for i in range(n):
        operation(i)
    return n / (time.perf_counter() - started)


def project_run(*, sizes: dict | None = None, shape: dict | None = None) -> dict:
    """Seed the project's side and time its four operations.

    Returns ``{"ops": {op: ops/s}, "statements": {op: n}, "sql": {op: [the statements of one call]}}``.

    ``sizes`` overrides n per operation and ``shape`` the data set (``generate``'s arguments): for tests.
    """
    from media.models import Asset

    data.load_project(data.generate(**(shape or {})))
    asset_ids = list(Asset.objects.order_by("gcs_url").values_list("id", flat=True))
    operations = project_operations(asset_ids)
    sql = {op: statements(operation) for op, operation in operations.items()}
    figures = {}
    # As a gunicorn worker runs them (gunicorn.conf.py's post_worker_init): what the loaded project holds is out of
    # the garbage collector's walks.
    gc.freeze()
    try:
        for op, operation in operations.items():
            n = (sizes or {}).get(op, OPERATIONS[op][1])
            figures[op] = ops_per_second(operation, n, warmup=min(WARMUP, n))
    finally:
        gc.unfreeze()
    return {"ops": figures, "statements": {op: len(lines) for op, lines in sql.items()}, "sql": sql}
