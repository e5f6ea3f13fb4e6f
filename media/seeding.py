"""The media app's part of ``manage.py seed --scale``: each user unit's assets, clips, predictions and metrics."""

from datetime import UTC, datetime, timedelta

from gateway.seeding import AppSeeding, register
from gateway.seeding.scale import DAY, json_text
from media.models import Asset, Clip, PerformanceMetric, Prediction

ASSETS_PER_USER = 10
CLIPS_PER_ASSET = 10
PREDICTIONS_PER_ASSET = 2
METRIC_ASSETS_PER_USER = 2
METRIC_DAYS = 5
BUCKET = "geminivideo-scale"

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
# The columns of a clip tuple, and their positions for the code that reads clips back (ranking, predictions).
CLIP_FIELDS = (
    "id", "created_at", "updated_at", "deleted_at", "asset", "start_time", "end_time", "clip_url",
    "thumbnail_url", "features", "face_count", "has_text", "has_speech", "has_music", "score",
    "viral_score", "engagement_score", "brand_safety_score", "rank", "status", "metadata",
)  # fmt: skip
CLIP = {name: index for index, name in enumerate(CLIP_FIELDS)}


@register
class MediaSeeding(AppSeeding):
    """Each user unit's assets with their clips, predictions and daily metrics.

    ``ASSETS_PER_USER`` assets of ``CLIPS_PER_ASSET`` clips, predictions of the best clips and
    ``METRIC_DAYS`` days of metrics of the first assets. Leaves ``clip_ids`` for the campaigns app.
    """

    fields = {
        Asset: (
            "id", "created_at", "updated_at", "deleted_at", "user", "filename", "original_name", "mime_type",
            "file_size", "gcs_url", "gcs_bucket", "gcs_path", "thumbnail_url", "duration", "width", "height",
            "fps", "bitrate", "codec", "status", "processing_error", "metadata",
        ),
        Clip: CLIP_FIELDS,
        Prediction: (
            "id", "created_at", "updated_at", "clip", "model_version", "model_type", "predicted_roas",
            "predicted_ctr", "predicted_cpc", "predicted_cpa", "predicted_engagement", "actual_roas", "actual_ctr",
            "actual_cpc", "actual_cpa", "actual_engagement", "features", "confidence", "prediction_error", "metadata",
        ),
        PerformanceMetric: (
            "id", "created_at", "updated_at", "asset", "platform", "date", "impressions", "clicks", "conversions",
            "spend", "revenue", "roas", "ctr", "raw_data",
        ),
    }  # fmt: skip
    per_unit = {
        Asset: ASSETS_PER_USER,
        Clip: ASSETS_PER_USER * CLIPS_PER_ASSET,
        Prediction: ASSETS_PER_USER * PREDICTIONS_PER_ASSET,
        PerformanceMetric: METRIC_ASSETS_PER_USER * METRIC_DAYS,
    }

    def __init__(self):
        # JSON of clip features, which only take a few forms: rendered once.
        self._feature_json = {}

    def add_unit(self, gen, batch, unit) -> None:
        clips_by_asset = [
            self.asset(gen, batch, unit["user_id"], unit["joined"], index) for index in range(ASSETS_PER_USER)
        ]
        unit["clip_ids"] = [clip for clips in clips_by_asset for clip in clips]

    def asset(self, gen, batch, user_id: str, joined: float, index: int) -> list[str]:
        """One asset with its clips, predictions and (for the first assets) daily metrics; returns clip ids."""
        rng = gen.rng
        asset_id = gen.uuid()
        # Uploaded a day or more ago, so clips and predictions made after it are not in the future;
        # assets with metrics a week or more ago, so their days of figures have all passed.
        settled = gen.now - DAY * (7 if index < METRIC_ASSETS_PER_USER else 1)
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
        deleted = gen.moment(uploaded, gen.now) if status == "ARCHIVED" and rng.random() < 0.5 else None
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
                json_text({"uploadedFrom": rng.choice(UPLOAD_SOURCES), "originalFormat": extension}),
            )
        )
        clip_rows = self.clips(gen, asset_id, uploaded, duration, status, deleted)
        batch[Clip].extend(clip_rows)
        # Predictions go to the best clips (rank 1 and 2), or the first ones when nothing is scored yet.
        ranked = sorted(clip_rows, key=lambda row: row[CLIP["rank"]] or CLIPS_PER_ASSET + 1)
        for clip_row in ranked[:PREDICTIONS_PER_ASSET]:
            batch[Prediction].append(self.prediction(gen, clip_row))
        if index < METRIC_ASSETS_PER_USER:
            self.metrics(gen, batch, asset_id, uploaded)
        return [row[CLIP["id"]] for row in clip_rows]

    def clips(self, gen, asset_id: str, uploaded: float, duration: float, asset_status: str, deleted) -> list[tuple]:
        rng = gen.rng
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
                features = json_text(
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
            clip_id = gen.uuid()
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

    def prediction(self, gen, clip_row: tuple) -> tuple:
        rng = gen.rng
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
            updated = gen.moment(created.timestamp(), gen.now)
        else:
            actual, error, updated = (None,) * 5, None, created
        features = json_text(
            {
                "score": score,
                "duration": round(clip_row[CLIP["end_time"]] - clip_row[CLIP["start_time"]], 2),
                "faceCount": clip_row[CLIP["face_count"]],
                "hasText": clip_row[CLIP["has_text"]],
                "hasSpeech": clip_row[CLIP["has_speech"]],
            }
        )
        return (
            gen.uuid(),
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

    def metrics(self, gen, batch, asset_id: str, uploaded: float) -> None:
        """``METRIC_DAYS`` consecutive days of one platform's figures for an asset, after its upload."""
        rng = gen.rng
        random = rng.random
        platform = rng.choice(METRIC_PLATFORMS)
        last_day = datetime.fromtimestamp(gen.now, UTC).date()
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
                    gen.uuid(),
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
