"""``manage.py seed --scale N``: generate N× a realistic data set and write it with COPY.

The data set grows in *user units*: each generated user brings ten assets of ten clips each, a
campaign with experiments and conversions, daily metrics and predictions, and two knowledge
documents (``UNIT`` gives the numbers). ``--scale 1`` is ten units; ``--scale 1000`` is ten
thousand units, i.e. 100,000 assets, 1,000,000 clips and 1,000,000 conversions.

Rows are plain tuples built with one seeded ``random.Random`` and written with PostgreSQL's COPY
through psycopg 3, one transaction per chunk of units (knowledge documents in one transaction of
their own, see ``_write_documents``). The factory-boy factories are not used
here: building a model instance per row costs far more than writing the row, and speed is the
point of this module (the tests use the factories). Every value respects the models' check
constraints, which the database enforces during COPY anyway; unique values (emails, GCS URLs,
Meta campaign ids, conversion external ids) embed a random UUID, so they collide neither with
existing rows nor with earlier runs.
"""

import itertools
import math
import time
import unicodedata
import uuid
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random

import orjson
from django.db import connection, transaction
from psycopg import sql

from campaigns.models import Campaign, Conversion, Experiment
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from media.models import Asset, Clip, PerformanceMetric, Prediction
from users.models import User

USERS_PER_SCALE = 10
ASSETS_PER_USER = 10
CLIPS_PER_ASSET = 10
PREDICTIONS_PER_ASSET = 2
METRIC_ASSETS_PER_USER = 2
METRIC_DAYS = 5
EXPERIMENTS_PER_CAMPAIGN = 2
CONVERSIONS_PER_CAMPAIGN = 100
DOCUMENTS_PER_USER = 2

# Rows of each model that one user unit brings (one campaign per user).
UNIT = {
    User: 1,
    Asset: ASSETS_PER_USER,
    Clip: ASSETS_PER_USER * CLIPS_PER_ASSET,
    Prediction: ASSETS_PER_USER * PREDICTIONS_PER_ASSET,
    PerformanceMetric: METRIC_ASSETS_PER_USER * METRIC_DAYS,
    Campaign: 1,
    Experiment: EXPERIMENTS_PER_CAMPAIGN,
    Conversion: CONVERSIONS_PER_CAMPAIGN,
    KnowledgeDocument: DOCUMENTS_PER_USER,
}

# The columns written, per model, in the order the generator builds its tuples (parents first).
# Generated columns (Clip.duration, KnowledgeDocument.search_vector) are left to the database.
FIELDS = {
    User: (
        "id", "created_at", "updated_at", "deleted_at", "password", "last_login", "is_superuser",
        "email", "name", "role", "settings", "is_active", "is_staff",
    ),
    Asset: (
        "id", "created_at", "updated_at", "deleted_at", "user", "filename", "original_name", "mime_type",
        "file_size", "gcs_url", "gcs_bucket", "gcs_path", "thumbnail_url", "duration", "width", "height",
        "fps", "bitrate", "codec", "status", "processing_error", "metadata",
    ),
    Clip: (
        "id", "created_at", "updated_at", "deleted_at", "asset", "start_time", "end_time", "clip_url",
        "thumbnail_url", "features", "face_count", "has_text", "has_speech", "has_music", "score",
        "viral_score", "engagement_score", "brand_safety_score", "rank", "status", "metadata",
    ),
    Prediction: (
        "id", "created_at", "updated_at", "clip", "model_version", "model_type", "predicted_roas",
        "predicted_ctr", "predicted_cpc", "predicted_cpa", "predicted_engagement", "actual_roas", "actual_ctr",
        "actual_cpc", "actual_cpa", "actual_engagement", "features", "confidence", "prediction_error", "metadata",
    ),
    PerformanceMetric: (
        "id", "created_at", "updated_at", "asset", "platform", "date", "impressions", "clicks", "conversions",
        "spend", "revenue", "roas", "ctr", "raw_data",
    ),
    Campaign: (
        "id", "created_at", "updated_at", "deleted_at", "user", "name", "description", "objective", "budget",
        "daily_budget", "currency", "status", "meta_campaign_id", "meta_ad_set_id", "meta_account_id",
        "target_audience", "target_locations", "target_age_range", "start_date", "end_date", "total_spend",
        "total_impressions", "total_clicks", "total_conversions", "metadata",
    ),
    Experiment: (
        "id", "created_at", "updated_at", "deleted_at", "campaign", "name", "description", "variants", "status",
        "winner_variant_id", "winner_selected_at", "metrics", "confidence", "start_date", "end_date", "metadata",
    ),
    Conversion: (
        "id", "created_at", "updated_at", "campaign", "source", "external_id", "value", "currency",
        "attributed_clip", "attributed_ad_id", "timestamp", "metadata",
    ),
    KnowledgeDocument: (
        "id", "created_at", "updated_at", "deleted_at", "name", "description", "content", "embedding",
        "embedding_model", "category", "tags", "version", "source", "author", "metadata",
    ),
}  # fmt: skip
# Positions in a clip tuple, for the code that reads clips back (ranking, predictions).
CLIP = {name: index for index, name in enumerate(FIELDS[Clip])}

DAY = 86_400.0
BUCKET = "geminivideo-scale"
PASSWORD_UNUSABLE = "!"  # Django's marker; generated users sign in with API keys or not at all.

FIRST_NAMES = (
    "Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Lena", "Omar", "Priya", "Lucas", "Chloe", "Mateo", "Aisha",
    "Jonas", "Sofia", "Kenji", "Elena", "Diego", "Hana", "Samuel", "Nora", "Ravi", "Ingrid", "Tariq",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Chen", "Okafor", "Müller", "Rossi", "Kowalski", "Nguyen", "Patel", "Johansson",
    "Silva", "Kim", "Dubois", "Haddad", "Novak", "Tanaka", "Brown", "Lopez", "Schmidt", "Ivanova",
)  # fmt: skip
EMAIL_NAMES = {
    name: unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    for name in FIRST_NAMES + LAST_NAMES
}
# Weighted by repetition: picking from these with rng.choice is far cheaper than rng.choices.
ROLES = ("USER",) * 16 + ("ENTERPRISE",) * 3 + ("ADMIN",)
THEMES = ("light", "dark", "system")
LANGUAGES = ("en",) * 6 + ("es", "de", "fr", "pt")

VIDEO_SUBJECTS = (
    "Product Launch", "Customer Testimonial", "Unboxing", "How It Works", "Behind the Scenes", "Founder Story",
    "Holiday Promo", "Feature Tour", "Flash Sale", "Brand Story", "Tutorial", "Event Recap", "Before and After",
)  # fmt: skip
VIDEO_FORMATS = (  # mime type, extension, codec
    ("video/mp4", "mp4", "h264"),
    ("video/mp4", "mp4", "h264"),
    ("video/mp4", "mp4", "h264"),
    ("video/mp4", "mp4", "h265"),
    ("video/quicktime", "mov", "h264"),
    ("video/webm", "webm", "vp9"),
)
RESOLUTIONS = ((1920, 1080), (1920, 1080), (1080, 1920), (1080, 1920), (1280, 720), (1080, 1080), (3840, 2160))
FRAME_RATES = (24.0, 25.0, 30.0, 30.0, 30.0, 60.0)
ASSET_STATUSES = ("READY",) * 16 + ("PROCESSING", "PENDING", "FAILED", "ARCHIVED")
PROCESSING_ERRORS = (
    "Transcoding failed: unsupported pixel format",
    "Upload incomplete: checksum mismatch",
    "Video stream not found",
    "Scene detection timed out",
)
UPLOAD_SOURCES = ("web", "web", "api", "mobile")

EMOTIONS = ("happy", "excited", "surprised", "calm", "professional", "inspired")
PALETTES = (
    ("#FF0000", "#00FF00", "#0000FF"),
    ("#0066CC", "#FFFFFF", "#000000"),
    ("#FF6F61", "#6B5B95", "#88B04B"),
    ("#F7CAC9", "#92A8D1", "#955251"),
    ("#FFD700", "#222222", "#F5F5F5"),
)

MODEL_VERSIONS = ("v1.2.3",) * 3 + ("v1.3.0",) * 2 + ("v2.0.0-beta",)
METRIC_PLATFORMS = ("meta",) * 4 + ("google", "tiktok")

OBJECTIVES = ("CONVERSIONS",) * 4 + ("SALES",) * 2 + ("AWARENESS", "TRAFFIC", "ENGAGEMENT", "LEADS")
CAMPAIGN_STATUSES = ("ACTIVE",) * 5 + ("PAUSED",) * 2 + ("COMPLETED",) * 2 + ("ARCHIVED",)
CURRENCIES = ("USD",) * 7 + ("EUR", "GBP", "CAD")
SEASONS = ("Spring", "Summer", "Autumn", "Winter", "Holiday", "Back to School", "Black Friday", "New Year")
PRODUCTS = ("Sneaker", "Skincare", "SaaS Trial", "Coffee", "Fitness App", "Headphones", "Meal Kit", "Furniture")
GOALS = ("Launch", "Retargeting", "Prospecting", "Awareness Push", "Conversion Drive", "Promo")
LOCATION_SETS = (["US"], ["US", "CA"], ["US", "CA", "UK", "AU"], ["UK", "DE", "FR"], ["BR", "MX"], ["JP", "KR"])
INTERESTS = ("technology", "business", "fashion", "fitness", "travel", "food", "gaming", "lifestyle", "finance")

EXPERIMENT_TOPICS = ("Headline", "Thumbnail", "Hook", "Call to Action", "Music", "Video Length", "Caption")
EXPERIMENT_STATUSES = ("RUNNING",) * 4 + ("COMPLETED",) * 3 + ("DRAFT", "PAUSED", "CANCELLED")
VARIANT_STYLES = ("Direct", "Question", "Benefit", "Urgency", "Social Proof", "Playful")

# source, share (by repetition), external id prefix (None: manual entries have no platform id)
CONVERSION_SOURCES = (
    (("META", "meta_conv"),) * 12
    + (("GOOGLE", "gads_conv"),) * 4
    + (
        ("TIKTOK", "tt_conv"),
        ("TIKTOK", "tt_conv"),
        ("WEBHOOK", "wh_conv"),
        ("MANUAL", None),
    )
)
CONVERSION_TYPES = ("purchase",) * 5 + ("lead", "signup", "add_to_cart")

DOCUMENT_CATEGORIES = {
    "best-practices": (
        "Open with motion or a face: the first three seconds decide whether people keep watching.",
        "Short videos are watched to the end far more often than long ones.",
        "Subtitles matter because most social video plays with the sound off.",
        "Show the logo early, but keep it small enough not to feel like an interruption.",
        "One message per video keeps the call to action clear.",
        "Vertical framing wins on mobile placements such as stories and reels.",
    ),
    "platform-guides": (
        "Pick the campaign objective that matches the result you want; delivery optimises for it.",
        "Broad targeting lets the delivery system find buyers once the pixel has enough data.",
        "Lookalike audiences built from the best customers scale prospecting efficiently.",
        "Rotate creatives every two to three weeks to avoid creative fatigue.",
        "Raise budgets gradually so ad sets do not fall back into the learning phase.",
        "Advantage+ placements are a good default until the data says otherwise.",
    ),
    "analytics": (
        "ROAS is revenue divided by ad spend over the same period and attribution window.",
        "Blended ROAS divides all revenue by all ad spend across channels.",
        "Incremental ROAS counts only the revenue the ads caused, measured with holdout tests.",
        "A seven-day click window is the usual default for comparing campaigns.",
        "Lifetime value turns a low first-order ROAS into a profitable campaign.",
        "Cohort analysis shows whether customers acquired by a campaign keep buying.",
    ),
    "creative": (
        "User-generated content often outperforms polished studio footage in feeds.",
        "Captions that ask a question invite comments and lift engagement.",
        "Bright, high-contrast thumbnails stand out in a crowded feed.",
        "Music that matches the pace of the edit keeps viewers watching.",
        "Showing the product in use within five seconds raises click-through rate.",
        "Testimonials work best when the customer speaks to the camera.",
    ),
    "compliance": (
        "Claims about health or income need substantiation before they run in an ad.",
        "Brand safety scores flag content near sensitive topics before it is published.",
        "Consent for tracking must be collected before pixels fire in regulated markets.",
        "Ads for restricted categories need age targeting and platform approval.",
        "Keep a record of every creative version and the claims it made.",
        "Personal data in custom audiences must be hashed before upload.",
    ),
}
DOCUMENT_KINDS = ("Guide", "Checklist", "Playbook", "Cheat Sheet", "Case Study", "FAQ", "Deep Dive")
DOCUMENT_TOPICS = {
    "best-practices": ("Video Hooks", "Short-Form Video", "Mobile Creative", "Ad Storytelling"),
    "platform-guides": ("Meta Ads", "TikTok Ads", "Google Video Ads", "Campaign Budgets"),
    "analytics": ("ROAS", "Attribution", "Lifetime Value", "Incrementality"),
    "creative": ("Thumbnails", "UGC Creative", "Captions", "Testimonials"),
    "compliance": ("Ad Policies", "Brand Safety", "Consent and Tracking", "Restricted Categories"),
}
DOCUMENT_TAGS = ("video", "ads", "meta", "tiktok", "google", "roas", "creative", "analytics", "mobile", "policy")
DOCUMENT_AUTHORS = ("Marketing Team", "Ads Team", "Analytics Team", "Creative Studio", "Legal Team")
DOCUMENT_CHUNK = 1_000
# Rebuild the HNSW index when a run adds at least this share of the documents already there.
HNSW_REBUILD_SHARE = 0.1
# Enough for the graph of ~100,000 documents to be built in memory (much faster than spilling).
HNSW_BUILD_MEMORY = "1GB"
# How far a document's embedding strays from its category's centroid (cosine similarity ≈ 0.6 to it).
EMBEDDING_NOISE = 0.044 / 128


def expected_counts(scale: int) -> dict[type, int]:
    """Rows of each model that ``seed --scale scale`` adds."""
    return {model: per_unit * USERS_PER_SCALE * scale for model, per_unit in UNIT.items()}


@dataclass
class ScaleResult:
    """What a scale run wrote and how long it took.

    ``copy_seconds`` is the time spent writing (COPY, commits, index rebuild): all the run's time but
    waiting for rows and ANALYZE. Its rows per second are what COPY alone achieves on this database.
    """

    counts: dict[type, int] = field(default_factory=dict)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    copy_seconds: float = 0.0
    analyze_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def copy_rows_per_second(self) -> float:
        return self.rows / self.copy_seconds if self.copy_seconds else 0.0


def seed_scale(
    scale: int,
    *,
    seed: int | None = None,
    chunk_users: int = 100,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ScaleResult:
    """Generate ``scale`` × the unit data set and write it with COPY.

    Users and everything they own go in one transaction per ``chunk_users`` users; knowledge
    documents follow in one transaction of their own (see ``_write_documents``). ``seed`` makes the
    rows reproducible (the same seed gives the same ids, so it cannot be loaded twice into one
    database); without it every run is different. ``progress`` is called with the number of rows
    written after each COPY. Tables are analysed at the end so the planner sees the new sizes at once.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    generator = ScaleGenerator(Random(seed), now=now or datetime.now(UTC))
    result = ScaleResult(counts=dict.fromkeys(FIELDS, 0))
    started = time.perf_counter()
    connection.ensure_connection()
    users, documents = USERS_PER_SCALE * scale, USERS_PER_SCALE * scale * DOCUMENTS_PER_USER
    user_jobs = [(generator.batch, size) for size in _chunks(users, chunk_users)]
    document_jobs = [(generator.documents, size) for size in _chunks(documents, DOCUMENT_CHUNK)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-scale") as builder:
        batches = _built_ahead(builder, user_jobs + document_jobs, result)
        for batch in itertools.islice(batches, len(user_jobs)):
            with transaction.atomic():
                _write(batch, result, progress)
        _write_documents(batches, documents, result, progress)
    result.copy_seconds = time.perf_counter() - started - result.generate_seconds
    tick = time.perf_counter()
    with connection.cursor() as cursor:
        for model in FIELDS:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    result.analyze_seconds = time.perf_counter() - tick
    result.seconds = time.perf_counter() - started
    return result


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - first) for first in range(0, total, size)]


def _built_ahead(builder: ThreadPoolExecutor, jobs: list[tuple[Callable, int]], result: ScaleResult):
    """Yield ``build(size)`` for each job, building the next batch in ``builder`` while the caller writes.

    COPY mostly waits on the server (index and constraint work) with the GIL released, so rows are
    built nearly for free meanwhile; ``result.generate_seconds`` counts only the time spent waiting
    for them. One batch at a time: the generator's random state is never shared between threads.
    """
    pending = builder.submit(*jobs[0])
    for next_job in [*jobs[1:], None]:
        tick = time.perf_counter()
        batch = pending.result()
        result.generate_seconds += time.perf_counter() - tick
        pending = builder.submit(*next_job) if next_job else None
        yield batch


def _write(batch: dict[type, list[tuple]], result: ScaleResult, progress) -> None:
    """COPY a batch inside the current transaction."""
    with connection.cursor() as cursor:
        # Seeding is maintenance work: the API's per-statement limit does not apply, and a crash
        # losing the last commits of generated data is harmless, so commits need not wait for the disk.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL synchronous_commit = off")
    with connection.connection.cursor() as cursor:
        for model, rows in batch.items():
            copy_rows(cursor, model, FIELDS[model], rows)
            result.counts[model] += len(rows)
            if progress:
                progress(len(rows))


@transaction.atomic
def _write_documents(batches, count: int, result: ScaleResult, progress) -> None:
    """Write the knowledge documents in one transaction, rebuilding the HNSW index when that is faster.

    Inserting into an HNSW index costs milliseconds per 1536-dimension vector (a graph search with
    page-by-page WAL), while building it afresh costs a fraction of that per row. So when the new
    documents are a large share of the table, the index is dropped and recreated from its own
    definition around the COPY; the transaction means a failure leaves the old index in place.
    Readers of ``knowledge_documents`` wait for the duration (DROP INDEX locks the table).
    """
    table = KnowledgeDocument._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        # reltuples is the planner's estimate (-1 before the first ANALYZE): good enough to decide.
        cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
        existing = cursor.fetchone()[0]
        hnsw_indexes = []
        if count >= HNSW_REBUILD_SHARE * existing:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = %s AND indexdef LIKE %s",
                [table, "% USING hnsw %"],
            )
            hnsw_indexes = cursor.fetchall()
            for name, _ in hnsw_indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    for batch in batches:
        _write(batch, result, progress)
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{HNSW_BUILD_MEMORY}'")
        for _, definition in hnsw_indexes:
            cursor.execute(definition)


def copy_rows(cursor, model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Write ``rows`` (tuples in ``fields`` order) into ``model``'s table with one COPY."""
    columns = [model._meta.get_field(name).column for name in fields]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _json(value) -> str:
    # psycopg would send bytes as bytea; COPY wants the JSON text.
    return orjson.dumps(value).decode()


class ScaleGenerator:
    """Builds rows, as tuples in ``FIELDS`` order, from one seeded random generator.

    ``batch`` gives the rows of whole user units and ``documents`` knowledge documents, each as a
    dictionary of row lists by model. Values that only take a few forms (JSON of clip features,
    user settings) are rendered once and reused.
    """

    def __init__(self, rng: Random, *, now: datetime):
        self.rng = rng
        self.now = now.timestamp()
        self._feature_json = {}
        self._settings_json = [
            _json({"notifications": notifications, "theme": theme, "language": language})
            for notifications in (True, False)
            for theme in THEMES
            for language in dict.fromkeys(LANGUAGES)
        ]
        self._centroids = {category: _unit_vector(Random(f"centroid:{category}")) for category in DOCUMENT_CATEGORIES}

    def uuid(self) -> str:
        """A random version-4 UUID drawn from the seeded generator (uuid4() would ignore the seed)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, start: float, end: float) -> datetime:
        """A time between two epoch seconds."""
        return datetime.fromtimestamp(start + (end - start) * self.rng.random(), UTC)

    def batch(self, users: int) -> dict[type, list[tuple]]:
        """The rows of ``users`` user units, by model, parents first (knowledge documents apart)."""
        batch = {model: [] for model in FIELDS if model is not KnowledgeDocument}
        for _ in range(users):
            self.user_unit(batch)
        return batch

    def documents(self, count: int) -> dict[type, list[tuple]]:
        """``count`` knowledge documents, as a batch."""
        return {KnowledgeDocument: [self.knowledge_document() for _ in range(count)]}

    def user_unit(self, batch) -> None:
        rng = self.rng
        user_id = self.uuid()
        joined = self.now - DAY * (30 + 700 * rng.random())
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = datetime.fromtimestamp(joined, UTC)
        batch[User].append(
            (
                user_id,
                created,
                created,
                None,
                PASSWORD_UNUSABLE,
                None,
                False,
                f"{EMAIL_NAMES[first]}.{EMAIL_NAMES[last]}.{user_id[:8]}{user_id[9:13]}@example.com",
                f"{first} {last}",
                rng.choice(ROLES),
                rng.choice(self._settings_json),
                True,
                False,
            )
        )
        clips_by_asset = [self.asset(batch, user_id, joined, index) for index in range(ASSETS_PER_USER)]
        self.campaign(batch, user_id, joined, [clip for clips in clips_by_asset for clip in clips])

    def asset(self, batch, user_id: str, joined: float, index: int) -> list[str]:
        """One asset with its clips, predictions and (for the first assets) daily metrics; returns clip ids."""
        rng = self.rng
        asset_id = self.uuid()
        # Uploaded a day or more ago, so clips and predictions made after it are not in the future;
        # assets with metrics a week or more ago, so their days of figures have all passed.
        settled = self.now - DAY * (7 if index < METRIC_ASSETS_PER_USER else 1)
        uploaded = joined + (settled - joined) * rng.random()
        # The assets that get metrics must have been published, so they are READY.
        status = "READY" if index < METRIC_ASSETS_PER_USER else rng.choice(ASSET_STATUSES)
        mime_type, extension, codec = rng.choice(VIDEO_FORMATS)
        width, height = rng.choice(RESOLUTIONS)
        duration = round(30 + 570 * rng.random() ** 2, 1)
        bitrate = int(2_000_000 + 8_000_000 * rng.random())
        subject = rng.choice(VIDEO_SUBJECTS)
        filename = f"{asset_id}.{extension}"
        path = f"assets/{user_id}/{filename}"
        created = datetime.fromtimestamp(uploaded, UTC)
        # Archived assets are sometimes deleted too; their clips go with them (same stamp, as soft_delete does).
        deleted = self.moment(uploaded, self.now) if status == "ARCHIVED" and rng.random() < 0.5 else None
        batch[Asset].append(
            (
                asset_id,
                created,
                deleted or created,
                deleted,
                user_id,
                filename,
                f"{subject} {1 + int(rng.random() * 40)}.{extension}",
                mime_type,
                int(bitrate * duration / 8),
                f"gs://{BUCKET}/{path}",
                BUCKET,
                path,
                f"https://storage.googleapis.com/{BUCKET}/thumbnails/{asset_id}.jpg",
                duration,
                width,
                height,
                rng.choice(FRAME_RATES),
                bitrate,
                codec,
                status,
                rng.choice(PROCESSING_ERRORS) if status == "FAILED" else None,
                _json({"uploadedFrom": rng.choice(UPLOAD_SOURCES), "originalFormat": extension}),
            )
        )
        clip_rows = self.clips(asset_id, uploaded, duration, status, deleted)
        batch[Clip].extend(clip_rows)
        # Predictions go to the best clips (rank 1 and 2), or the first ones when nothing is scored yet.
        ranked = sorted(clip_rows, key=lambda row: row[CLIP["rank"]] or CLIPS_PER_ASSET + 1)
        for clip_row in ranked[:PREDICTIONS_PER_ASSET]:
            batch[Prediction].append(self.prediction(clip_row))
        if index < METRIC_ASSETS_PER_USER:
            self.metrics(batch, asset_id, uploaded)
        return [row[CLIP["id"]] for row in clip_rows]

    def clips(self, asset_id: str, uploaded: float, duration: float, asset_status: str, deleted) -> list[tuple]:
        rng = self.rng
        random = rng.random
        segment = duration / CLIPS_PER_ASSET
        scored = asset_status in ("READY", "ARCHIVED")
        rows = []
        for i in range(CLIPS_PER_ASSET):
            length = min(5 + 25 * random(), segment)
            start = round(i * segment + (segment - length) * random(), 2)
            end = round(start + max(length, 1.0), 2)
            logo, cta, emotion, palette = random() < 0.5, random() < 0.4, int(random() * 6), int(random() * 5)
            features = self._feature_json.get((logo, cta, emotion, palette))
            if features is None:
                features = _json(
                    {
                        "hasLogo": logo,
                        "hasCallToAction": cta,
                        "emotion": EMOTIONS[emotion],
                        "dominantColors": PALETTES[palette],
                    }
                )
                self._feature_json[(logo, cta, emotion, palette)] = features
            created = datetime.fromtimestamp(uploaded + 60 + 3_600 * random(), UTC)
            if scored:
                score = 0.3 + 0.35 * (random() + random())
                viral = min(1.0, max(0.0, score + 0.3 * (random() - 0.5)))
                engagement = min(1.0, max(0.0, score + 0.2 * (random() - 0.5)))
                safety = 0.8 + 0.2 * random()
                status = "REJECTED" if safety < 0.83 else "SCORED"
                scores = (round(score, 3), round(viral, 3), round(engagement, 3), round(safety, 3))
            else:
                status = "ANALYZED" if asset_status == "PROCESSING" and random() < 0.5 else "PENDING"
                scores = (None, None, None, None)
            clip_id = self.uuid()
            rows.append(
                [
                    clip_id,
                    created,
                    deleted or created,
                    deleted,
                    asset_id,
                    start,
                    end,
                    f"gs://{BUCKET}/clips/{asset_id}/clip-{i}.mp4",
                    f"https://storage.googleapis.com/{BUCKET}/thumbnails/{asset_id}-clip-{i}.jpg",
                    features,
                    int(random() * 4),
                    random() < 0.4,
                    random() < 0.8,
                    random() < 0.6,
                    *scores,
                    None,
                    status,
                    "{}",
                ]
            )
        if scored:
            # Rank 1 is the best score; the top clip is published.
            for rank, row in enumerate(sorted(rows, key=lambda row: -row[CLIP["score"]]), start=1):
                row[CLIP["rank"]] = rank
                if rank == 1 and row[CLIP["status"]] == "SCORED":
                    row[CLIP["status"]] = "PUBLISHED"
        return [tuple(row) for row in rows]

    def prediction(self, clip_row: tuple) -> tuple:
        rng = self.rng
        random = rng.random
        clip_id, clip_created, score = clip_row[CLIP["id"]], clip_row[CLIP["created_at"]], clip_row[CLIP["score"]]
        quality = score if score is not None else 0.5
        predicted = (
            round(0.5 + 5 * quality * (0.7 + 0.6 * random()), 2),  # roas
            round(0.005 + 0.06 * quality * random(), 4),  # ctr
            round(0.2 + 2.5 * (1 - quality) * random(), 2),  # cpc
            round(5 + 40 * (1 - quality) * random(), 2),  # cpa
            round(0.01 + 0.25 * quality * random(), 3),  # engagement
        )
        created = clip_created + timedelta(seconds=300 + 7_200 * random())
        # About a third have collected their actual results since.
        if random() < 0.35:
            actual = tuple(round(value * (0.6 + 0.8 * random()), 4) for value in predicted)
            # Mean absolute percentage error over the five metrics, as media.services.prediction_error.
            error = round(sum(abs(p - a) / a for p, a in zip(predicted, actual, strict=True)) / len(actual), 4)
            updated = self.moment(created.timestamp(), self.now)
        else:
            actual, error, updated = (None,) * 5, None, created
        features = _json(
            {
                "score": score,
                "duration": round(clip_row[CLIP["end_time"]] - clip_row[CLIP["start_time"]], 2),
                "faceCount": clip_row[CLIP["face_count"]],
                "hasText": clip_row[CLIP["has_text"]],
                "hasSpeech": clip_row[CLIP["has_speech"]],
            }
        )
        return (
            self.uuid(),
            created,
            updated,
            clip_id,
            rng.choice(MODEL_VERSIONS),
            "roas",
            *predicted,
            *actual,
            features,
            round(0.6 + 0.39 * random(), 2),
            error,
            "{}",
        )

    def metrics(self, batch, asset_id: str, uploaded: float) -> None:
        """``METRIC_DAYS`` consecutive days of one platform's figures for an asset, after its upload."""
        rng = self.rng
        random = rng.random
        platform = rng.choice(METRIC_PLATFORMS)
        last_day = datetime.fromtimestamp(self.now, UTC).date()
        first_day = datetime.fromtimestamp(uploaded, UTC).date() + timedelta(days=1)
        span = max(0, (last_day - first_day).days - METRIC_DAYS)
        first_day += timedelta(days=int(span * random()))
        for offset in range(METRIC_DAYS):
            day = first_day + timedelta(days=offset)
            impressions = int(1_000 + 99_000 * random() ** 2)
            clicks = int(impressions * (0.005 + 0.045 * random()))
            conversions = int(clicks * (0.01 + 0.09 * random()))
            spend = round(impressions / 1_000 * (4 + 16 * random()), 2)
            revenue = round(conversions * (20 + 100 * random()), 2)
            created = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=3)
            batch[PerformanceMetric].append(
                (
                    self.uuid(),
                    created,
                    created,
                    asset_id,
                    platform,
                    day,
                    impressions,
                    clicks,
                    conversions,
                    f"{spend:.2f}",
                    f"{revenue:.2f}",
                    f"{revenue / spend if spend else 0:.2f}",
                    f"{clicks / impressions:.4f}",
                    f'{{"reach": {int(impressions * (0.6 + 0.3 * random()))}, "source": "{platform}_insights"}}',
                )
            )

    def campaign(self, batch, user_id: str, joined: float, clip_ids: list[str]) -> None:
        """A campaign that has started, its experiments and its conversions (attributed to the owner's clips)."""
        rng = self.rng
        random = rng.random
        campaign_id = self.uuid()
        # Planned at least eight days ago and started one to seven days later: every campaign has run.
        planned = joined + (self.now - 8 * DAY - joined) * random()
        start = planned + DAY * (1 + 6 * random())
        end = start + DAY * (14 + 76 * random())
        status = rng.choice(CAMPAIGN_STATUSES)
        if end < self.now and status in ("ACTIVE", "PAUSED"):
            status = "COMPLETED"
        budget = 500 + 100 * int(random() * 500)
        daily = min(budget, round(budget / ((end - start) / DAY) * (1 + random()), 2))
        ran_until = min(end, self.now)
        progress = (ran_until - start) / (end - start)
        impressions = int(20_000 + 980_000 * random() * progress)
        clicks = int(impressions * (0.005 + 0.03 * random()))
        audience = {"genders": ["all"], "interests": sorted(rng.sample(INTERESTS, 3))}
        age_min = 18 + int(random() * 20)
        meta_id = campaign_id.replace("-", "")
        created = datetime.fromtimestamp(planned, UTC)
        batch[Campaign].append(
            (
                campaign_id,
                created,
                datetime.fromtimestamp(ran_until, UTC),
                None,
                user_id,
                f"{rng.choice(SEASONS)} {rng.choice(PRODUCTS)} {rng.choice(GOALS)}",
                None if random() < 0.3 else "Generated campaign for load and performance testing",
                rng.choice(OBJECTIVES),
                f"{budget}.00",
                f"{daily:.2f}",
                rng.choice(CURRENCIES),
                status,
                f"meta_camp_{meta_id}",
                f"meta_adset_{meta_id[:16]}",
                f"act_{meta_id[16:]}",
                _json(audience),
                _json(rng.choice(LOCATION_SETS)),
                _json({"min": age_min, "max": age_min + 10 + int(random() * 30)}),
                datetime.fromtimestamp(start, UTC),
                datetime.fromtimestamp(end, UTC),
                f"{budget * progress * (0.5 + 0.5 * random()):.2f}",
                impressions,
                clicks,
                CONVERSIONS_PER_CAMPAIGN + int(random() * 50),
                _json({"generatedBy": "seed --scale"}),
            )
        )
        for _ in range(EXPERIMENTS_PER_CAMPAIGN):
            batch[Experiment].append(self.experiment(campaign_id, planned, start, ran_until))
        currency = batch[Campaign][-1][FIELDS[Campaign].index("currency")]
        for _ in range(CONVERSIONS_PER_CAMPAIGN):
            batch[Conversion].append(self.conversion(campaign_id, start, ran_until, currency, clip_ids))

    def experiment(self, campaign_id: str, planned: float, start: float, ran_until: float) -> tuple:
        rng = self.rng
        random = rng.random
        status = rng.choice(EXPERIMENT_STATUSES)
        styles = rng.sample(VARIANT_STYLES, 2 + int(random() < 0.3))
        variants = []
        for index, style in enumerate(styles):
            letter = "abc"[index]
            impressions = 0 if status == "DRAFT" else int(5_000 + 45_000 * random())
            clicks = int(impressions * (0.01 + 0.03 * random()))
            variants.append(
                {
                    "id": f"variant-{letter}",
                    "name": f"Variant {letter.upper()} - {style}",
                    "impressions": impressions,
                    "clicks": clicks,
                    "conversions": int(clicks * (0.02 + 0.06 * random())),
                }
            )
        started = None if status == "DRAFT" else start + (ran_until - start) * 0.3 * random()
        ended = started + (ran_until - started) * random() if status in ("COMPLETED", "CANCELLED") else None
        winner = winner_at = None
        confidence = None
        if status == "COMPLETED":
            best = max(variants, key=lambda v: v["conversions"] / v["impressions"] if v["impressions"] else 0)
            winner, winner_at = best["id"], datetime.fromtimestamp(ended, UTC)
            confidence = round(0.9 + 0.09 * random(), 3)
        elif status in ("RUNNING", "PAUSED"):
            confidence = round(0.5 + 0.45 * random(), 3)
        created = datetime.fromtimestamp(planned, UTC)
        return (
            self.uuid(),
            created,
            created,
            None,
            campaign_id,
            f"{rng.choice(EXPERIMENT_TOPICS)} A/B Test",
            None if random() < 0.5 else f"Testing {len(variants)} variants against each other",
            _json(variants),
            status,
            winner,
            winner_at,
            "{}",
            confidence,
            datetime.fromtimestamp(started, UTC) if started is not None else None,
            datetime.fromtimestamp(ended, UTC) if ended is not None else None,
            "{}",
        )

    def conversion(self, campaign_id: str, start: float, ran_until: float, currency: str, clip_ids) -> tuple:
        rng = self.rng
        random = rng.random
        source, prefix = rng.choice(CONVERSION_SOURCES)
        when = start + (ran_until - start) * random()
        timestamp = datetime.fromtimestamp(when, UTC)
        received = datetime.fromtimestamp(min(when + 30 + 3_600 * random(), self.now), UTC)
        external_id = None if prefix is None else f"{prefix}_{rng.getrandbits(128):032x}"
        return (
            self.uuid(),
            received,
            received,
            campaign_id,
            source,
            external_id,
            f"{5 + 295 * random() ** 2:.2f}",
            currency,
            rng.choice(clip_ids) if random() < 0.85 else None,
            None if prefix is None else f"ad_{int(random() * 10**12):012d}",
            timestamp,
            f'{{"conversionType": "{rng.choice(CONVERSION_TYPES)}"}}',
        )

    def knowledge_document(self) -> tuple:
        rng = self.rng
        random = rng.random
        category = rng.choice(tuple(DOCUMENT_CATEGORIES))
        topic = rng.choice(DOCUMENT_TOPICS[category])
        name = f"{topic} {rng.choice(DOCUMENT_KINDS)}"
        sentences = DOCUMENT_CATEGORIES[category]
        points = rng.sample(sentences, 4)
        content = (
            f"# {name}\n\n{rng.choice(sentences)}\n\n## Key points\n"
            + "".join(f"- {point}\n" for point in points)
            + f"\n## In practice\n{' '.join(rng.sample(sentences, 3))}\n"
        )
        created = datetime.fromtimestamp(self.now - 730 * DAY * random(), UTC)
        tags = sorted({category.split("-")[0], *rng.sample(DOCUMENT_TAGS, 2)})
        return (
            self.uuid(),
            created,
            created,
            None,
            name,
            f"{topic}: what works and why",
            content,
            self.embedding(category),
            "text-embedding-3-small",
            category,
            tags,
            1,
            "internal",
            rng.choice(DOCUMENT_AUTHORS),
            "{}",
        )

    def embedding(self, category: str) -> str:
        """A unit vector near the category's centroid, in pgvector's text form.

        Documents of one category resemble each other as real embeddings of related texts do, which
        keeps vector-search benchmarks meaningful. ``randbytes`` gives the noise for all 1536
        components in one call, much faster than drawing them one by one.
        """
        noise = array("b", self.rng.randbytes(EMBEDDING_DIMENSIONS))
        vector = [c + n * EMBEDDING_NOISE for c, n in zip(self._centroids[category], noise, strict=True)]
        norm = math.hypot(*vector)
        return "[" + ",".join([f"{v / norm:.6f}" for v in vector]) + "]"


def _unit_vector(rng: Random) -> list[float]:
    vector = [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.hypot(*vector)
    return [v / norm for v in vector]
