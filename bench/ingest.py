"""Ingest benchmark: ``POST conversions/ingest/`` with batches of 1,000, against COPY of the same rows.

A USER delivers batches of new conversions for their campaign (attributed to their clips), and each
batch a second time (every item a duplicate: the idempotent path). The baseline, measured in the same
run and interleaved with it, is a plain psycopg ``COPY`` of the same rows into ``conversions``. Both
commit. The rows written are deleted at the end (their external ids carry a per-run prefix).
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from bench.harness import Row, median, raw_connection, timed
from bench.inprocess import Server, capture
from campaigns.models import Conversion
from gateway.ingest import insert_fields

REPEAT = 10
BATCH = 1000
TARGET_SHARE = 0.5
# The columns the ingest writes, in the order of the rows ``copy_rows`` builds.
COLUMNS = [field.column for field in insert_fields(Conversion)]


def fixtures() -> dict:
    from bench.api import fixtures as api_fixtures

    rows = api_fixtures()
    clips = list(rows["asset"].clips.values_list("id", flat=True)[:10]) or [None]
    return {"user": rows["user"], "campaign": rows["campaign"], "clips": clips}


def make_items(prefix: str, count: int, campaign, clips) -> list[dict]:
    """``count`` conversions as a platform would send them."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "campaign": str(campaign.pk),
            "source": "META",
            "external_id": f"{prefix}-{index:06d}",
            "value": f"{10 + index % 90}.{index % 100:02d}",
            "currency": campaign.currency,
            "attributed_clip": str(clips[index % len(clips)]) if clips[0] else None,
            "attributed_ad_id": f"ad_{index:012d}",
            "timestamp": (start + timedelta(seconds=37 * index)).isoformat().replace("+00:00", "Z"),
            "metadata": {"conversionType": "purchase", "batch": prefix},
        }
        for index in range(count)
    ]


def copy_rows(items: list[dict]) -> list[tuple]:
    """The items as the table's rows, ready for COPY (the baseline does no validation)."""
    now = datetime.now(UTC)
    return [
        (
            uuid.uuid4(),
            now,
            now,
            item["campaign"],
            item["source"],
            item["external_id"],
            Decimal(item["value"]),
            item["currency"],
            item["attributed_clip"],
            item["attributed_ad_id"],
            item["timestamp"],
            orjson.dumps(item["metadata"]).decode(),
        )
        for item in items
    ]


def copy_in(raw, rows: list[tuple]) -> None:
    with raw.cursor() as cursor, cursor.copy(f"COPY conversions ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def run(*, repeat: int = REPEAT, batch: int = BATCH, verbose: bool = False) -> dict:
    from users.services import api_key_issue

    rows = fixtures()
    _, key = api_key_issue(user=rows["user"], name="bench")
    headers = {"Authorization": f"Api-Key {key}"}
    server = Server()
    run_id = uuid.uuid4().hex[:10]
    prefix = f"bench-ingest-{run_id}"
    path = "/api/v1/conversions/ingest/"

    def post(body: bytes):
        return server.request("POST", path, headers=headers, data=body, content_type="application/json")

    firsts, repeats, copies, query_counts = [], [], [], {}
    try:
        with raw_connection() as raw:
            # Warm-up: one small batch each way, not timed.
            warm = make_items(f"{prefix}-warm", 10, rows["campaign"], rows["clips"])
            post(orjson.dumps({"conversions": warm}))
            copy_in(raw, copy_rows(make_items(f"{prefix}-warmcopy", 10, rows["campaign"], rows["clips"])))
            for round_number in range(repeat):
                items = make_items(f"{prefix}-api{round_number}", batch, rows["campaign"], rows["clips"])
                body = orjson.dumps({"conversions": items})
                copied = make_items(f"{prefix}-copy{round_number}", batch, rows["campaign"], rows["clips"])
                baseline_rows = copy_rows(copied)
                if round_number == 0:
                    queries, response, content = capture(lambda body=body: post(body))
                    result = orjson.loads(content)
                    if response.status_code != 200 or result["created"] != batch:
                        raise AssertionError(f"ingest answered {response.status_code}: {content[:300]!r}")
                    query_counts["first"] = len(queries)
                    queries, response, content = capture(lambda body=body: post(body))
                    if orjson.loads(content)["duplicates"] != batch:
                        raise AssertionError(f"redelivery was not all duplicates: {content[:300]!r}")
                    query_counts["again"] = len(queries)
                    continue
                firsts.append(timed(lambda body=body: post(body)))
                copies.append(timed(lambda rows_=baseline_rows: copy_in(raw, rows_)))
                repeats.append(timed(lambda body=body: post(body)))
    finally:
        from campaigns.models import Conversion
        from users.models import ApiKey

        Conversion.objects.filter(external_id__startswith=prefix).delete()
        ApiKey.objects.filter(user=rows["user"], name="bench").delete()

    copy_rate = batch / (median(copies) / 1000)
    first_rate = batch / (median(firsts) / 1000)
    again_rate = batch / (median(repeats) / 1000)
    target = f"≥ {TARGET_SHARE:.0%} of COPY rows/s"
    results = [
        Row(
            f"conversions/ingest/, {batch:,} new per batch (USER)",
            "rows/s",
            first_rate,
            copy_rate,
            query_counts.get("first"),
            target,
            first_rate >= TARGET_SHARE * copy_rate,
            {"median_ms": median(firsts), "copy_median_ms": median(copies)},
        ),
        Row(
            f"conversions/ingest/, {batch:,} redelivered (all duplicates)",
            "rows/s",
            again_rate,
            copy_rate,
            query_counts.get("again"),
            target,
            again_rate >= TARGET_SHARE * copy_rate,
            {"median_ms": median(repeats), "copy_median_ms": median(copies)},
        ),
    ]
    if verbose:
        print(
            f"ingest: new {median(firsts):.1f} ms, redelivered {median(repeats):.1f} ms, "
            f"COPY {median(copies):.1f} ms per {batch:,} rows"
        )
    return {
        "rows": results,
        "extra": {"batch": batch, "first_ms": firsts, "again_ms": repeats, "copy_ms": copies},
    }
