"""The campaigns app's part of ``manage.py seed --scale``: each user unit's campaign, experiments and conversions."""

from datetime import UTC, datetime

from campaigns.models import Campaign, Conversion, Experiment
from gateway.seeding import AppSeeding, register
from gateway.seeding.scale import DAY, json_text

EXPERIMENTS_PER_CAMPAIGN = 2
CONVERSIONS_PER_CAMPAIGN = 100

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


@register
class CampaignsSeeding(AppSeeding):
    """Each user unit's campaign with its experiments and conversions.

    A campaign that has started, ``EXPERIMENTS_PER_CAMPAIGN`` experiments and ``CONVERSIONS_PER_CAMPAIGN``
    conversions, attributed to the owner's clips (``clip_ids``, left by the media app).
    """

    fields = {
        Campaign: (
            "id", "created_at", "updated_at", "deleted_at", "user", "name", "description", "objective", "budget",
            "daily_budget", "currency", "status", "meta_campaign_id", "meta_ad_set_id", "meta_account_id",
            "target_audience", "target_locations", "target_age_range", "start_date", "end_date", "total_spend",
            "total_impressions", "total_clicks", "total_conversions", "metadata",
        ),
        Experiment: (
            "id", "created_at", "updated_at", "deleted_at", "campaign", "name", "description", "variants", "status",
            "winner_variant_id", "winner_selected_at", "metrics", "confidence", "start_date", "end_date", "metadata",
            "auto_apply",
        ),
        Conversion: (
            "id", "created_at", "updated_at", "campaign", "source", "external_id", "value", "currency",
            "attributed_clip", "attributed_ad_id", "timestamp", "metadata",
        ),
    }  # fmt: skip
    per_unit = {Campaign: 1, Experiment: EXPERIMENTS_PER_CAMPAIGN, Conversion: CONVERSIONS_PER_CAMPAIGN}

    def add_unit(self, gen, batch, unit) -> None:
        self.campaign(gen, batch, unit["user_id"], unit["joined"], unit["clip_ids"])

    def campaign(self, gen, batch, user_id: str, joined: float, clip_ids: list[str]) -> None:
        """A campaign that has started, its experiments and its conversions (attributed to the owner's clips)."""
        rng = gen.rng
        random = rng.random
        campaign_id = gen.uuid()
        # Planned at least eight days ago and started one to seven days later: every campaign has run.
        planned = joined + (gen.now - 8 * DAY - joined) * random()
        start = planned + DAY * (1 + 6 * random())
        end = start + DAY * (14 + 76 * random())
        status = rng.choice(CAMPAIGN_STATUSES)
        if end < gen.now and status in ("ACTIVE", "PAUSED"):
            status = "COMPLETED"
        budget = 500 + 100 * int(random() * 500)
        daily = min(budget, round(budget / ((end - start) / DAY) * (1 + random()), 2))
        ran_until = min(end, gen.now)
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
                json_text(audience),
                json_text(rng.choice(LOCATION_SETS)),
                json_text({"min": age_min, "max": age_min + 10 + int(random() * 30)}),
                datetime.fromtimestamp(start, UTC),
                datetime.fromtimestamp(end, UTC),
                f"{budget * progress * (0.5 + 0.5 * random()):.2f}",
                impressions,
                clicks,
                CONVERSIONS_PER_CAMPAIGN + int(random() * 50),
                json_text({"generatedBy": "seed --scale"}),
            )
        )
        for _ in range(EXPERIMENTS_PER_CAMPAIGN):
            batch[Experiment].append(self.experiment(gen, campaign_id, planned, start, ran_until))
        currency = batch[Campaign][-1][self.fields[Campaign].index("currency")]
        for _ in range(CONVERSIONS_PER_CAMPAIGN):
            batch[Conversion].append(self.conversion(gen, campaign_id, start, ran_until, currency, clip_ids))

    def experiment(self, gen, campaign_id: str, planned: float, start: float, ran_until: float) -> tuple:
        rng = gen.rng
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
            gen.uuid(),
            created,
            created,
            None,
            campaign_id,
            f"{rng.choice(EXPERIMENT_TOPICS)} A/B Test",
            None if random() < 0.5 else f"Testing {len(variants)} variants against each other",
            json_text(variants),
            status,
            winner,
            winner_at,
            "{}",
            confidence,
            datetime.fromtimestamp(started, UTC) if started is not None else None,
            datetime.fromtimestamp(ended, UTC) if ended is not None else None,
            "{}",
            False,  # auto_apply: staff opt an experiment in
        )

    def conversion(self, gen, campaign_id: str, start: float, ran_until: float, currency: str, clip_ids) -> tuple:
        rng = gen.rng
        random = rng.random
        source, prefix = rng.choice(CONVERSION_SOURCES)
        when = start + (ran_until - start) * random()
        timestamp = datetime.fromtimestamp(when, UTC)
        received = datetime.fromtimestamp(min(when + 30 + 3_600 * random(), gen.now), UTC)
        external_id = None if prefix is None else f"{prefix}_{rng.getrandbits(128):032x}"
        return (
            gen.uuid(),
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
