"""The rows both sides serve: 1 user, 100 assets of 100 clips each, made as the former stack's bench.ts makes them.

bench.ts draws the clips' features, scores and statuses from its own generator (``rnd``, seed 42); ``generate``
draws the same numbers in the same order, and gives every row an id of its own (seeded too), so that the
project's database (``load_project``) and the former stack's (``load_peer``) hold the same users, assets, clips
and scores, ids included. One difference: the project's clips table requires ``rank >= 1``, so ranks are 1 to 100
where bench.ts writes 0 to 99.
"""

import json
import random
import uuid
from datetime import UTC, datetime

ASSETS = 100
CLIPS_PER_ASSET = 100
EMAIL = "bench@example.com"
NAME = "Bench"
STATUSES = ("PENDING", "ANALYZED", "SCORED", "PUBLISHED", "REJECTED")
# The project's tables the benchmark replaces, with the history its triggers wrote for them (gateway/history.py).
PROJECT_TABLES = (
    "users",
    "assets",
    "clips",
    "users_userevent",
    "users_apikeyevent",
    "media_assetevent",
    "media_clipevent",
)


class Rnd:
    """bench.ts's ``rnd()``: ``seed = (seed * 1103515245 + 12345) & 0x7fffffff``, divided by 0x7fffffff.

    JavaScript computes the product in doubles (it exceeds 2**53, so it is rounded) and ``&`` then takes the
    low 32 bits of the rounded integer: done the same way here, the numbers are bench.ts's, bit for bit.
    """

    def __init__(self, seed: int = 42):
        self.seed = seed

    def __call__(self) -> float:
        product = int(float(self.seed) * 1103515245.0 + 12345.0)
        self.seed = (product % 2**32) & 0x7FFFFFFF
        return self.seed / 0x7FFFFFFF


def generate(*, assets: int = ASSETS, clips_per_asset: int = CLIPS_PER_ASSET, seed: int = 42) -> dict:
    """``{"assets": [...], "clips": [...]}``: plain dicts, the same on every call with the same arguments."""
    ids = random.Random(seed)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=ids.getrandbits(128), version=4)

    rows = [
        {
            "id": new_id(),
            "filename": f"video_{i}.mp4",
            "gcs_url": f"gs://bucket/video_{i}.mp4",
            "file_size": 1_000_000 + i,
            "duration": 600.0 + i,
            "metadata": {"codec": "h264", "i": i},
        }
        for i in range(assets)
    ]
    rows.sort(key=lambda row: row["gcs_url"])  # bench.ts reads the assets back by gcsUrl before making clips
    rnd = Rnd(seed)
    clips = []
    for asset in rows:
        for j in range(clips_per_asset):
            start = j * 6.0
            features = {"motion": rnd(), "faces": j % 3}
            score = rnd()
            status = STATUSES[int(rnd() * len(STATUSES))]
            clips.append(
                {
                    "id": new_id(),
                    "asset_id": asset["id"],
                    "start_time": start,
                    "end_time": start + 5,
                    "features": features,
                    "score": score,
                    "rank": j + 1,
                    "status": status,
                }
            )
    return {"assets": rows, "clips": clips}


def reset_project() -> None:
    """Empty the project's users, assets and clips (and their history) in the benchmark's own database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PROJECT_TABLES)} CASCADE")


def load_project(data: dict, *, api_key: str | None = None):
    """Write ``data`` into the project's database through its services and models; returns the user.

    The user and its API key (``api_key``, the plaintext, when given) go through ``user_create`` and
    ``api_key_issue`` (the key is stored hashed); the 10,000 rows through ``bulk_create``.
    """
    from media.models import Asset, Clip
    from users.choices import Role
    from users.services import api_key_issue, user_create

    reset_project()
    user = user_create(email=EMAIL, name=NAME, role=Role.ENTERPRISE)
    if api_key:
        api_key_issue(user=user, name="peer", key=api_key)
    Asset.objects.bulk_create(
        Asset(
            id=row["id"],
            user=user,
            filename=row["filename"],
            original_name=row["filename"],
            mime_type="video/mp4",
            file_size=row["file_size"],
            gcs_url=row["gcs_url"],
            gcs_bucket="bucket",
            gcs_path=row["filename"],
            duration=row["duration"],
            status="READY",
            metadata=row["metadata"],
        )
        for row in data["assets"]
    )
    Clip.objects.bulk_create((Clip(**row) for row in data["clips"]), batch_size=2000)
    return user


def load_peer(connection, data: dict, *, user_id: uuid.UUID, api_key: str) -> None:
    """Write ``data`` into the former stack's tables (``connection``: psycopg, on its database), after emptying them.

    The user has the project user's id and ``api_key`` in ``"User"."apiKey"`` (plaintext, as the former
    service kept it).
    """
    now = datetime.now(UTC)
    with connection.transaction():
        connection.execute('TRUNCATE "Clip", "Asset", "User" CASCADE')
        connection.execute(
            'INSERT INTO "User" (id, email, name, role, "apiKey", "updatedAt") VALUES (%s, %s, %s, %s, %s, %s)',
            [user_id, EMAIL, NAME, "ENTERPRISE", api_key, now],
        )
        cursor = connection.cursor()
        columns = '(id, "userId", filename, "gcsUrl", "fileSize", duration, status, metadata, "updatedAt")'
        with cursor.copy(f'COPY "Asset" {columns} FROM STDIN') as copy:
            for row in data["assets"]:
                copy.write_row(
                    (
                        row["id"],
                        user_id,
                        row["filename"],
                        row["gcs_url"],
                        row["file_size"],
                        row["duration"],
                        "READY",
                        json.dumps(row["metadata"]),
                        now,
                    )
                )
        columns = '(id, "assetId", "startTime", "endTime", duration, features, score, rank, status, "updatedAt")'
        with cursor.copy(f'COPY "Clip" {columns} FROM STDIN') as copy:
            for row in data["clips"]:
                copy.write_row(
                    (
                        row["id"],
                        row["asset_id"],
                        row["start_time"],
                        row["end_time"],
                        row["end_time"] - row["start_time"],
                        json.dumps(row["features"]),
                        row["score"],
                        row["rank"],
                        row["status"],
                        now,
                    )
                )
