"""A smoke run of every benchmark on a tiny data set in the test database, so the harness cannot rot.

The data set (``seed --scale 1``: ten user units) is built once for the module through the ``dataset``
benchmark itself and committed, because gunicorn serves it from other processes; the tables are flushed
afterwards. Each benchmark then runs with the smallest sizes and repeat counts, in seconds; the knowledge
benchmark runs through the command line (``python -m bench knowledge``), as it creates a database of its own.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from bench import admin, api, cpu_share, dataset, gunicorn, ingest, request_cost, seed
from bench.harness import ROOT, Row, format_table, markdown_table
from bench.peer import data as peer_data
from bench.peer import orm as peer_orm
from bench.peer import stack as peer_stack


@pytest.fixture(scope="module")
def tiny(django_db_setup, django_db_blocker):
    """The tiny data set, committed in the test database for the module, then flushed."""
    with django_db_blocker.unblock():
        result = dataset.run(scale=1, verbose=False)
        try:
            yield result
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def db_access(tiny, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def check_rows(rows: list[Row]) -> None:
    assert rows
    for row in rows:
        assert row.figure >= 0
        assert row.met in (True, False, None)
    assert format_table("smoke", rows).count("\n") == len(rows) + 2
    assert markdown_table(rows).count("\n") == len(rows) + 1


def test_dataset_is_built_then_reused(tiny, db_access):
    assert tiny["extra"]["counts"]["clips"] >= dataset.minimum_counts(1)["clips"]
    again = dataset.run(scale=1, verbose=False)
    assert again["extra"]["reused"]
    check_rows(again["rows"])


def test_api_measures_every_case_against_its_sql_baseline(db_access):
    result = api.run(repeat=2)
    rows = {row.name: row for row in result["rows"] if not row.name.startswith("  ")}
    assert len(rows) == len(api.cases(api.fixtures()))
    for name, row in rows.items():
        assert row.baseline > 0, name
        assert row.queries >= 1, name
        assert result["extra"]["cases"][name]["plans"], name
    check_rows(result["rows"])


def test_api_cursor_pages_do_not_count(db_access):
    result = api.run(repeat=1, only=["cursor"])
    for name, case in result["extra"]["cases"].items():
        assert not any("COUNT(*)" in sql for sql in case["queries"]), name


def test_api_top_clips_is_judged_on_its_plan(db_access):
    # On ten users' rows the planner may well sort ten clips rather than walk an index: only the scale data
    # set says whether the index serves the query; here the judgement's inputs must be there.
    result = api.run(repeat=1, only=["clips/top/?asset="])
    row, plan = result["rows"]
    assert row.extra["db_ms"] > 0
    assert isinstance(row.extra["sort"], bool)
    assert isinstance(row.extra["index_scans"], list)
    assert plan.figure == row.extra["db_ms"]
    assert plan.met in (True, False)


def test_admin_pages_are_timed_beside_djangos_full_count(db_access):
    result = admin.run(repeat=1)
    assert len(result["rows"]) == 7
    assert result["rows"][-1].name == "admin: dashboard (home page)"
    for row in result["rows"]:
        assert row.baseline > 0 and row.queries > 0
        assert row.extra["full_count_queries"] >= row.queries
    check_rows(result["rows"])


def test_ingest_is_timed_against_copy_and_cleans_up(db_access):
    from campaigns.models import Conversion

    before = Conversion.objects.count()
    result = ingest.run(repeat=2, batch=20)
    assert [row.queries is not None for row in result["rows"]] == [True, True]
    assert all(row.figure > 0 and row.baseline > 0 for row in result["rows"])
    assert Conversion.objects.count() == before
    check_rows(result["rows"])


def test_seed_is_timed_against_copy_and_rolled_back(db_access):
    before = dataset.counts()
    result = seed.run(repeat=1, scale=1)
    (row,) = result["rows"]
    assert row.figure > 0 and row.baseline > 0
    assert dataset.counts() == before


def test_gunicorn_serves_with_and_without_the_pool(db_access):
    result = gunicorn.run(seconds=1.0, warmup=0.3, workers=1, threads=2, concurrency=2)
    configurations = result["extra"]["configurations"]
    assert set(configurations) == set(gunicorn.CONFIGURATIONS)
    for name, figures in configurations.items():
        assert figures["requests"] > 0, name
        assert figures["errors"] == 0, (name, figures["statuses"])
    check_rows(result["rows"])


def test_gunicorn_keeps_serving_once_its_log_lines_outgrow_a_pipe():
    """A line per request is logged: 500 of them are far more than a pipe holds (64 KiB) if nobody reads it."""
    process, url = gunicorn.start(connection.settings_dict["NAME"], {}, workers=1, threads=1)
    try:
        for _ in range(500):
            with urllib.request.urlopen(f"{url}/health/live", timeout=10) as response:
                assert response.status == 200
    finally:
        gunicorn.stop(process)


def test_knowledge_runs_through_the_command_line(tiny, tmp_path):
    command = [sys.executable, "-m", "bench", "knowledge", "--database", connection.settings_dict["NAME"]]
    command += ["--knowledge-rows", "300", "--knowledge-queries", "5", "--knowledge-questions", "3"]
    command += ["--results-dir", str(tmp_path)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert completed.returncode == 0, completed.stderr[-3000:]
    figures = json.loads(Path(tmp_path, "knowledge.json").read_text())
    assert {row["name"].split(" (")[0] for row in figures["rows"]} >= {
        "knowledge: vector search median",
        "knowledge quality: hybrid recall@10",
        "knowledge: embedding throughput",
    }
    assert figures["database"] == connection.settings_dict["NAME"]


def run_peer(tmp_path, *tools, only=None):
    """``python -m bench peer`` with a PATH holding only ``tools`` (links to the real ones)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        (folder / tool).symlink_to(shutil.which(tool))
    command = [sys.executable, "-m", "bench", "peer", *(["--only", only] if only else [])]
    env = {**os.environ, "PATH": str(folder)}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_peer_without_node_or_wrk_says_what_to_install(tmp_path):
    completed = run_peer(tmp_path)
    assert completed.returncode == 2
    assert "Node.js" in completed.stderr and "apt-get install nodejs npm" in completed.stderr
    assert "apt-get install wrk" in completed.stderr


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs Node.js")
def test_peer_without_wrk_names_wrk_only(tmp_path):
    completed = run_peer(tmp_path, "node", "npm")
    assert completed.returncode == 2
    assert "apt-get install wrk" in completed.stderr and "Node.js" not in completed.stderr


def test_peer_orm_half_needs_node_but_not_wrk(tmp_path):
    completed = run_peer(tmp_path, only="orm")
    assert completed.returncode == 2
    assert "Node.js" in completed.stderr and "wrk" not in completed.stderr


def test_peer_draws_bench_ts_numbers():
    """The first numbers of bench.ts's rnd() (seed 42), as Node.js prints them."""
    rnd = peer_data.Rnd(42)
    assert [rnd() for _ in range(4)] == [0.5823075899771916, 0.5198186638391664, 0.9149397615878563, 0.698715567914171]
    assert peer_data.generate(assets=2, clips_per_asset=3) == peer_data.generate(assets=2, clips_per_asset=3)


@pytest.mark.django_db
def test_peer_project_orm_operations_run_on_a_tiny_data_set():
    from media.models import Clip

    result = peer_orm.project_run(sizes=dict.fromkeys("abcd", 3), shape={"assets": 3, "clips_per_asset": 5})
    assert set(result["ops"]) == set(peer_orm.OPERATIONS)
    assert all(figure > 0 for figure in result["ops"].values())
    assert result["statements"] == {op: len(result["sql"][op]) for op in "abcd"}
    assert any(sql.startswith("UPDATE") for sql in result["sql"]["d"])
    # 15 seeded, (c) created 1 when counted, 3 warm-up and 3 timed; (d) scored one clip.
    assert Clip.objects.count() == 15 + 1 + 3 + 3
    assert Clip.objects.filter(score__in=[0.0, 0.01, 0.02]).exists()


@pytest.mark.django_db
def test_peer_project_top_clips_are_the_querysets_own_through_the_kept_sql():
    """(a) runs compiled SQL, and gives what ``Clip.objects.top()`` of the SCORED clips gives, asset included."""
    from media.choices import ClipStatus
    from media.models import Asset, Clip

    peer_data.load_project(peer_data.generate(assets=3, clips_per_asset=40))
    asset_ids = list(Asset.objects.order_by("gcs_url").values_list("id", flat=True))
    top = peer_orm.project_operations(asset_ids)["a"]
    for i, asset_id in enumerate(asset_ids):
        expected = Clip.objects.filter(status=ClipStatus.SCORED).select_related("asset")
        expected = list(expected.top(asset=asset_id, limit=10, min_score=0.5))
        clips = top(i)
        assert expected and [clip.pk for clip in clips] == [clip.pk for clip in expected]
        assert [clip.asset.original_name for clip in clips] == [clip.asset.original_name for clip in expected]
        assert all(clip.status == ClipStatus.SCORED and clip.score >= 0.5 for clip in clips)
    assert [plan is not None for plan in peer_orm.SCORED_TOP_CLIPS.plans.values()] == [True]
    assert len(peer_orm.statements(top)) == 1


def test_peer_node_environment_drops_the_projects_log_sql_only(monkeypatch):
    monkeypatch.setenv("LOG_SQL", "true")
    assert "LOG_SQL" not in peer_stack.node_environment("postgresql://x/prisma_peer")
    counting = peer_stack.node_environment("postgresql://x/prisma_peer", LOG_SQL=1)
    assert counting["LOG_SQL"] == "1" and counting["DATABASE_URL"] == "postgresql://x/prisma_peer"


@pytest.mark.django_db(transaction=True)
def test_request_cost_counts_the_calls_and_the_cpu_of_a_real_request():
    from django.test import override_settings

    from media.factories import AssetFactory, ClipFactory
    from users.factories import ApiKeyFactory

    asset = AssetFactory()
    ClipFactory.create_batch(3, asset=asset)
    key = ApiKeyFactory(user=asset.user)
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        call = request_cost.wsgi_caller(f"/api/v1/assets/{asset.pk}/", "", key.secret)
        assert call().startswith("200")
        figures = request_cost.measure(call, requests=5)
    assert figures["calls"] > 1000  # a request through Django and DRF: thousands of Python calls
    assert figures["cpu_ms"] > 0


@pytest.mark.django_db(transaction=True)
def test_every_request_request_cost_times_is_answered_200():
    from django.test import override_settings

    from media.factories import AssetFactory, ClipFactory
    from users.factories import ApiKeyFactory

    asset = AssetFactory()
    clip, *_ = ClipFactory.create_batch(3, asset=asset, score=0.9)
    key = ApiKeyFactory(user=asset.user)
    requests = request_cost.timed_requests(asset, clip)
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        statuses = {
            name: request_cost.wsgi_caller(path, query, key.secret, body)()
            for name, (path, query, body) in requests.items()
        }
    assert statuses == {name: "201 Created" if name == "create a clip" else "200 OK" for name in requests}
    assert asset.clips.count() == 4


def test_api_admin_lists_over_a_million_rows_are_judged_by_their_time(db_access):
    """The side-by-side issue's target for them: 15 ms (their count is an estimate), not a ratio to their SQL."""
    result = api.run(repeat=1, only=["(ADMIN, all clips)", "(ADMIN, all assets)"])
    judged = {row.name: row for row in result["rows"]}
    clips, assets = judged["clips list, 50/page (ADMIN, all clips)"], judged["assets list, 50/page (ADMIN, all assets)"]
    assert clips.target == api.MILLION_ROWS_LIST_TARGET
    assert clips.met == (clips.figure <= api.MILLION_ROWS_LIST_MS and clips.queries <= 5)
    assert assets.target == api.LIST_TARGET
    assert assets.met == (assets.figure <= 2 * assets.baseline and assets.queries <= 5)


# A process that starts a child burning CPU for a second and waits for it: cpu_share counts a server's workers so.
BURNING_PARENT = (
    "import subprocess, sys; "
    "subprocess.run([sys.executable, '-c', 'import time\\nend = time.process_time() + 1\\n"
    "while time.process_time() < end: pass'])"
)


def test_cpu_share_counts_a_process_tree_and_nothing_outside_it():
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    parent = subprocess.Popen([sys.executable, "-c", BURNING_PARENT])
    try:
        before = {"parent": cpu_share.cpu_seconds([parent.pid]), "idle": cpu_share.cpu_seconds([idle.pid])}
        deadline = time.monotonic() + 10
        while True:  # read while the child still runs: once it exits, its time leaves /proc with it
            used = {
                tree: cpu_share.share(before[tree], cpu_share.cpu_seconds([process.pid]), requests=1)
                for tree, process in (("parent", parent), ("idle", idle))
            }
            if used["parent"]["server"] >= 500 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert used["parent"]["server"] >= 500  # ms: the grandchild's time counts for the tree of the process started
        assert used["idle"]["server"] < 100  # another tree's does not
        assert used["parent"]["machine"] >= used["parent"]["server"] - 50
    finally:
        idle.kill()
        parent.wait(timeout=30)
        idle.wait()


@pytest.mark.django_db
def test_cpu_share_counts_postgresql_and_waited_for_children():
    before = cpu_share.cpu_seconds([os.getpid()])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM generate_series(1, 3000000)")
    subprocess.run([sys.executable, "-c", "sum(range(10**7))"], check=True)
    used = cpu_share.share(before, cpu_share.cpu_seconds([os.getpid()]), requests=1)
    assert used["postgres"] >= 50  # milliseconds: the backend counted a few million rows
    assert used["wrk"] >= 50  # the waited-for child (wrk, in a run) summed 10 million numbers


def test_cpu_share_counts_a_process_that_started_from_zero_and_one_that_ended_not_at_all():
    before = {"server": {1: 2.0, 2: 5.0}}
    after = {"server": {1: 2.5, 3: 0.25}}  # 2 ended, 3 started
    assert cpu_share.share(before, after, requests=2) == {"server": 375.0}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(cpu_share.FLOOR))
def test_cpu_share_floor_requests_answer_without_reading_a_row(name, django_assert_max_num_queries, settings):
    """Each floor row is a request the project answers 200 with no query once the key is verified."""
    from django.test import Client

    from users.factories import ApiKeyFactory

    settings.API_KEY_CACHE_SECONDS = 1  # as the servers run (the tests' settings verify every request's key)
    key = ApiKeyFactory()
    path, body = cpu_share.FLOOR[name]["project"]
    client = Client(headers={"X-API-Key": key.secret})
    client.get(path)  # the key verified and cached, as a server's later requests find it
    with django_assert_max_num_queries(0):
        response = client.get(path)
    assert body is None and response.status_code == 200
