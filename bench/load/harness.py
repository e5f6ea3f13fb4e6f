"""The load harness: the data, the server under test, the runs, and the reconciliation of every write.

One process per target (``steady`` or ``restart``, see ``bench/load/__main__.py``) sets Django up on the
target database, prepares the rows the workload uses, serves the project with gunicorn (gthread workers,
the connection pool) on 127.0.0.1, drives it with ``bench.load.client`` in a separate process, then checks
the database against the client's write log and removes everything the run added.

What the run adds and removes: a *writer* USER (with, per client thread, a campaign and an asset of its
own, and whatever it creates and ingests), API keys for the writer, for a *reader* (a USER of the data set)
and for an ADMIN of the data set. The data set's own rows are read, never written.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.harness import ROOT, bench_environment

WORKERS = 2
THREADS = 4
KEY_NAME = "load"


def server_environment(database: str, data_dir: str | None) -> dict:
    """The environment of the project against the target: ``bench_environment`` plus the embedded server's folder."""
    base = dict(os.environ)
    if data_dir:
        base["EMBEDDED_DATA_DIR"] = data_dir
    return bench_environment(database, base)


def setup_django(database: str, data_dir: str | None) -> None:
    os.environ.update(server_environment(database, data_dir))
    # The harness's own connections reconnect by themselves after a restart without a pool to recover.
    os.environ["DB_POOL"] = "false"
    import django

    django.setup()


def ensure_dataset(database: str, data_dir: str | None, scale: int) -> dict:
    """Migrate the target and seed it with ``seed --scale`` unless it already holds a data set."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM campaigns")
        campaigns = cursor.fetchone()[0]
    if campaigns < 10:
        print(f"load: seeding {database} with seed --scale {scale} (a few minutes at most)", flush=True)
        call_command("seed", scale=scale, force=True, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    counts = {}
    with connection.cursor() as cursor:
        for table in ("users", "assets", "clips", "campaigns", "conversions", "knowledge_documents"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts


def prepare(run: str, workers: int) -> dict:
    """The rows and keys of the workload (see the module docstring)."""
    from bench.api import fixtures
    from campaigns.models import Campaign
    from gateway.middleware import IN_DOUBT_CODE
    from media.choices import AssetStatus
    from media.models import Asset
    from users.models import User
    from users.services import api_key_issue

    rows = fixtures()
    writer = User.objects.create_user(email=f"{run}@load.example.com", name="Load writer")
    plan_workers = []
    for index in range(workers):
        campaign = Campaign.objects.create(user=writer, name=f"{run}-campaign-{index}", budget="1000000.00")
        asset = Asset.objects.create(
            user=writer,
            filename=f"{run}-{index}.mp4",
            original_name=f"{run}-{index}.mp4",
            mime_type="video/mp4",
            file_size=1,
            gcs_url=f"gs://load/{run}/{index}.mp4",
            gcs_bucket="load",
            gcs_path=f"{run}/{index}.mp4",
            status=AssetStatus.READY,
        )
        plan_workers.append({"campaign": str(campaign.pk), "asset": str(asset.pk)})
    _, reader_key = api_key_issue(user=rows["user"], name=KEY_NAME)
    _, admin_key = api_key_issue(user=rows["admin"], name=KEY_NAME)
    _, writer_key = api_key_issue(user=writer, name=KEY_NAME)
    return {
        "run": run,
        "writer": str(writer.pk),
        "reader": {"key": reader_key, "asset": str(rows["asset"].pk), "campaign": str(rows["campaign"].pk)},
        "reader_user": str(rows["user"].pk),
        "admin_user": str(rows["admin"].pk),
        "admin_key": admin_key,
        "writer_key": writer_key,
        "workers": plan_workers,
        # The app's 503 for a write whose connection broke mid-way: its outcome is unknown (the client's status 0).
        "in_doubt_code": IN_DOUBT_CODE,
    }


def cleanup(plan: dict) -> None:
    """Remove what the run added: its conversions, the writer (and so its rows) and the keys."""
    from campaigns.models import Conversion
    from users.models import ApiKey, User

    Conversion.objects.filter(external_id__startswith=f"{plan['run']}-").delete()
    User.all_objects.filter(pk=plan["writer"]).delete()
    ApiKey.objects.filter(user_id__in=[plan["reader_user"], plan["admin_user"]], name=KEY_NAME).delete()


class Gunicorn:
    """gunicorn serving the project against the target on a free port of 127.0.0.1."""

    def __init__(self, environment: dict, *, workers: int = WORKERS, threads: int = THREADS):
        from bench.gunicorn import free_port, gunicorn_command

        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="load-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        command = gunicorn_command(self.port, workers=workers, threads=threads)
        env = {**environment, "DB_POOL": "true", "DB_POOL_MAX_SIZE": str(threads), "LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/ready", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn did not get ready within 60 s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def drive(plan: dict, *, port: int, concurrency: int, seconds: float, warmup: float, seed: int) -> dict:
    """Run the client in its own process; its result (see ``bench.load.client``)."""
    full = {
        **plan,
        "port": port,
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup": warmup,
        "seed": seed,
        "timeout": 30,
        "max_requests": int((seconds + warmup) * 3000),
        "workers": plan["workers"][:concurrency],
    }
    with tempfile.TemporaryDirectory(prefix="load-") as folder:
        plan_path, out_path = Path(folder, "plan.json"), Path(folder, "result.json")
        plan_path.write_text(json.dumps(full))
        command = [sys.executable, "-m", "bench.load.client", "--plan", str(plan_path), "--out", str(out_path)]
        subprocess.run(command, cwd=ROOT, check=True, timeout=seconds + warmup + 120)
        return json.loads(out_path.read_text())


def start_client(plan: dict, *, port: int, concurrency: int, seconds: float, seed: int, folder: str):
    """Start the client without waiting (the restart run acts on the server meanwhile)."""
    full = {
        **plan,
        "port": port,
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup": 0,
        "seed": seed,
        "timeout": 30,
        "max_requests": int(seconds * 3000),
        "workers": plan["workers"][:concurrency],
    }
    plan_path, out_path = Path(folder, "plan.json"), Path(folder, "result.json")
    plan_path.write_text(json.dumps(full))
    command = [sys.executable, "-m", "bench.load.client", "--plan", str(plan_path), "--out", str(out_path)]
    return subprocess.Popen(command, cwd=ROOT), out_path


def reconcile(plan: dict, results: list[dict]) -> dict:
    """Every acknowledged write is in the database and no other is; writes without an answer are listed."""
    from campaigns.models import Campaign, Conversion
    from media.models import Asset

    run = plan["run"]
    ingests = [batch for result in results for batch in result["writes"]["ingests"]]
    acked_ids = {ident for batch in ingests if 200 <= batch["status"] < 300 for ident in batch["ids"]}
    refused_ids = {ident for batch in ingests if batch["status"] >= 300 for ident in batch["ids"]}
    unknown_ids = {ident for batch in ingests if batch["status"] == 0 for ident in batch["ids"]}
    stored = list(Conversion.objects.filter(external_id__startswith=f"{run}-").values_list("external_id", flat=True))
    stored_ids = set(stored)
    creates = [create for result in results for create in result["writes"]["creates"]]
    acked_names = {name for name, status in creates if 200 <= status < 300}
    unknown_names = {name for name, status in creates if status == 0}
    refused_names = {name for name, status in creates if status >= 300}
    stored_names = set(
        Campaign.all_objects.filter(user_id=plan["writer"], name__startswith=f"{run}-w").values_list("name", flat=True)
    )
    report = {
        "ingested": {
            "acknowledged": len(acked_ids),
            "stored": len(stored_ids),
            "lost": len(acked_ids - stored_ids),
            "stored_but_refused": len(stored_ids & refused_ids),
            "duplicated": len(stored) - len(stored_ids),
            "unknown_outcome": len(unknown_ids),
            "unknown_outcome_stored": len(stored_ids & unknown_ids),
        },
        "created": {
            "acknowledged": len(acked_names),
            "stored": len(stored_names),
            "lost": len(acked_names - stored_names),
            "stored_but_refused": len(stored_names & refused_names),
            "unknown_outcome": len(unknown_names),
            "unknown_outcome_stored": len(stored_names & unknown_names),
        },
    }
    increments = [entry for result in results for entry in result["writes"]["increments"]]
    totals = dict(Campaign.all_objects.filter(user_id=plan["writer"]).values_list("id", "total_clicks"))
    lost = extra = unknown = acked = 0
    for worker in plan["workers"]:
        entries = [entry for entry in increments if entry["row"] == worker["campaign"]]
        worker_acked = sum(1 for entry in entries if 200 <= entry["status"] < 300)
        worker_unknown = sum(1 for entry in entries if entry["status"] == 0)
        stored_total = next(total for pk, total in totals.items() if str(pk) == worker["campaign"])
        acked += worker_acked
        unknown += worker_unknown
        lost += max(0, worker_acked - stored_total)
        extra += max(0, stored_total - worker_acked - worker_unknown)
    report["incremented"] = {
        "acknowledged": acked,
        "stored": sum(totals.values()),
        "lost": lost,
        "applied_but_refused": extra,
        "unknown_outcome": unknown,
    }
    changes = [entry for result in results for entry in result["writes"]["status_changes"]]
    statuses = dict(Asset.all_objects.filter(user_id=plan["writer"]).values_list("id", "status"))
    mismatched = 0
    for worker in plan["workers"]:
        entries = sorted(
            (entry for entry in changes if entry["row"] == worker["asset"] and 200 <= entry["status"] < 300),
            key=lambda entry: entry["time"],
        )
        expected = entries[-1]["target"] if entries else "READY"
        ambiguous = any(entry["status"] == 0 for entry in changes if entry["row"] == worker["asset"])
        actual = next(status for pk, status in statuses.items() if str(pk) == worker["asset"])
        if actual != expected and not ambiguous:
            mismatched += 1
    report["status_changed"] = {
        "acknowledged": sum(1 for entry in changes if 200 <= entry["status"] < 300),
        "assets_not_in_their_last_acknowledged_status": mismatched,
        "unknown_outcome": sum(1 for entry in changes if entry["status"] == 0),
    }
    report["ok"] = all(
        part.get("lost", 0) == 0
        and part.get("stored_but_refused", 0) == 0
        and part.get("duplicated", 0) == 0
        and part.get("applied_but_refused", 0) == 0
        and part.get("assets_not_in_their_last_acknowledged_status", 0) == 0
        for part in report.values()
        if isinstance(part, dict)
    )
    return report


def outage(result: dict, stopped_at: float, started_at: float) -> dict:
    """How long requests failed around a restart of the database (times in seconds from the stop)."""
    timeline = sorted(result["timeline"])
    failed = [entry for entry in timeline if not 200 <= entry[4] < 300]
    first_success_after = next((entry for entry in timeline if entry[0] >= started_at and 200 <= entry[4] < 300), None)
    after_recovery = [entry for entry in timeline if first_success_after and entry[0] >= first_success_after[0]]
    statuses = {}
    for entry in failed:
        statuses[str(entry[4])] = statuses.get(str(entry[4]), 0) + 1
    return {
        "database_down_s": started_at - stopped_at,
        "failed_requests": len(failed),
        "failed_statuses": statuses,
        "first_failure_s": failed[0][0] - stopped_at if failed else None,
        "last_failure_s": failed[-1][1] - stopped_at if failed else None,
        "failure_window_s": (failed[-1][1] - failed[0][0]) if failed else 0.0,
        "slowest_failed_ms": max(((e[1] - e[0]) * 1000 for e in failed), default=None),
        "first_success_after_start_s": (first_success_after[1] - started_at) if first_success_after else None,
        "errors_after_recovery": sum(1 for entry in after_recovery if not 200 <= entry[4] < 300),
    }


def new_run_id() -> str:
    return f"load-{secrets.token_hex(4)}"
