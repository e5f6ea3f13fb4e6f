"""A small labelled corpus for the search tests: documents, their embeddings and the queries that must find them.

Embeddings are deterministic and clustered like real ones: each category has a topic direction, each
document is its category's direction plus its own noise, normalised; a query embedding is one document's
embedding plus a little noise, so that document is its nearest neighbour and its category follows.
"""

import math
import random

from django.db import connection

from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument

# (category, name, description, content, tags)
DOCUMENTS = [
    (
        "meta-ads",
        "Meta Ads Optimization Guide",
        "How to optimise campaigns on Facebook and Instagram.",
        "Campaign budget optimization lets Meta move spend to the ad sets that convert. Start broad, "
        "let the delivery system learn for fifty conversions, then cut the ad sets with the weakest cost per result.",
        ["meta", "optimization", "budget"],
    ),
    (
        "meta-ads",
        "Meta Retargeting Audiences",
        "Custom audiences built from site visitors and video viewers.",
        "Retargeting audiences on Meta reach people who watched seventy-five percent of a video or visited the "
        "checkout. Exclude recent purchasers and cap frequency so the audience does not burn out.",
        ["meta", "retargeting", "audiences"],
    ),
    (
        "meta-ads",
        "Advantage+ Shopping Campaigns",
        "Automated catalogue campaigns.",
        "Advantage+ shopping campaigns automate targeting and placements for catalogue sales. Feed them many "
        "creatives and a clean product catalogue; manual audience controls are mostly gone.",
        ["meta", "automation", "shopping"],
    ),
    (
        "meta-ads",
        "Meta Pixel and Conversions API",
        "Server-side event tracking for Meta.",
        "The conversions API sends purchase events from the server so attribution survives browser tracking "
        "limits. Deduplicate browser pixel events and server events with a shared event id.",
        ["meta", "tracking", "attribution"],
    ),
    (
        "meta-ads",
        "Daily Budget Pacing",
        "Why spend moves during the day.",
        "Meta may spend up to seventy-five percent more than the daily budget on a good day and less on a weak "
        "one; over a week the budget evens out. Raise budgets by twenty percent at a time to keep learning stable.",
        ["meta", "budget", "pacing"],
    ),
    (
        "meta-ads",
        "Lookalike Audience Seeds",
        "Choosing the source audience for lookalikes.",
        "A lookalike audience is only as good as its seed: use high value purchasers rather than all visitors, "
        "at least a thousand people, refreshed monthly.",
        ["meta", "audiences", "lookalike"],
    ),
    (
        "meta-ads",
        "Ad Set Learning Phase",
        "What resets learning and how to leave it.",
        "Significant edits to targeting, creative or bid strategy reset the learning phase. Batch changes "
        "weekly and give each ad set enough conversions to exit learning.",
        ["meta", "learning", "delivery"],
    ),
    (
        "creative",
        "Hook Rate: The First Three Seconds",
        "Measuring whether the opening stops the scroll.",
        "Hook rate is three-second video views divided by impressions. Open with motion, a face or a bold "
        "claim; a hook rate under twenty-five percent means the first frames need work.",
        ["creative", "hooks", "video"],
    ),
    (
        "creative",
        "Creative Fatigue Detection",
        "Spotting when an ad has worn out.",
        "Creative fatigue shows as rising frequency, falling click-through rate and climbing cost per "
        "acquisition. Rotate new variations before performance collapses.",
        ["creative", "fatigue", "frequency"],
    ),
    (
        "creative",
        "User Generated Content Ads",
        "Working with creators on authentic videos.",
        "UGC ads filmed by creators on a phone often beat studio productions. Brief the creator on the "
        "problem, the product moment and the call to action, then let them speak naturally.",
        ["creative", "ugc", "creators"],
    ),
    (
        "creative",
        "Captions and Subtitles for Accessibility",
        "Most feeds play muted.",
        "Burned-in captions keep muted viewers watching and make videos accessible to deaf and hard of "
        "hearing audiences. Keep lines short and high contrast.",
        ["creative", "captions", "accessibility"],
    ),
    (
        "creative",
        "Call to Action Placement",
        "Where and when to ask for the click.",
        "State the call to action twice: once mid-video as a spoken line and once as an end card with the "
        "offer. Test button text against the landing page promise.",
        ["creative", "cta"],
    ),
    (
        "creative",
        "Thumbnail Design for Video Ads",
        "The still frame before playback.",
        "A thumbnail with a readable face, strong colour contrast and three words of text lifts "
        "click-through on placements that autoplay late.",
        ["creative", "thumbnails", "design"],
    ),
    (
        "creative",
        "Storyboarding Short Videos",
        "Planning fifteen second edits.",
        "Storyboard the hook, the problem, the demonstration and the offer in four panels before filming; "
        "shoot extra b-roll for cutdowns.",
        ["creative", "storyboard", "planning"],
    ),
    (
        "analytics",
        "ROAS Calculator Explained",
        "Return on ad spend, computed.",
        "ROAS equals attributed revenue divided by ad spend. A ROAS of three means three dollars of revenue "
        "for each dollar spent; compare it with the break-even ROAS from your margin.",
        ["analytics", "roas", "metrics"],
    ),
    (
        "analytics",
        "Attribution Windows",
        "Seven-day click, one-day view and what they hide.",
        "Attribution windows decide which conversions count for an ad. Shorter windows understate upper "
        "funnel video; compare platform numbers with incrementality tests.",
        ["analytics", "attribution"],
    ),
    (
        "analytics",
        "A/B Test Significance",
        "When an experiment has a winner.",
        "Declare a winner only when the difference between variants is statistically significant; fix the "
        "sample size before launch and do not peek daily.",
        ["analytics", "experiments", "statistics"],
    ),
    (
        "analytics",
        "Cohort Retention Reports",
        "Customers grouped by first purchase month.",
        "Cohort retention tables show how many customers acquired in a month buy again. Paid social cohorts "
        "often retain worse than organic ones.",
        ["analytics", "retention", "cohorts"],
    ),
    (
        "analytics",
        "Click-Through Rate Benchmarks",
        "What a good CTR looks like by placement.",
        "Click-through rate varies by placement: feeds near one percent, stories lower, search higher. Judge "
        "CTR against your own history rather than industry averages.",
        ["analytics", "ctr", "benchmarks"],
    ),
    (
        "analytics",
        "Incrementality Lift Studies",
        "Holdout groups measure true impact.",
        "A lift study withholds ads from a random holdout group; the difference in conversions is the "
        "incremental effect that attribution models only estimate.",
        ["analytics", "incrementality", "experiments"],
    ),
    (
        "video-production",
        "Lighting on a Budget",
        "Two lights and a window.",
        "A large window as key light, a reflector for fill and one cheap LED behind the subject give a clean "
        "look without a studio.",
        ["production", "lighting"],
    ),
    (
        "video-production",
        "Vertical Video Framing",
        "Composing for nine by sixteen.",
        "Frame vertical video with the subject in the upper third and leave room at the bottom for captions "
        "and platform buttons.",
        ["production", "vertical", "framing"],
    ),
    (
        "video-production",
        "Audio Recording for Voiceovers",
        "Clean sound matters more than the picture.",
        "Record voiceovers in a small room full of soft furnishings with a dynamic microphone close to the "
        "mouth; remove noise before compression.",
        ["production", "audio", "voiceover"],
    ),
    (
        "video-production",
        "Colour Grading Basics",
        "Consistent looks across clips.",
        "Correct white balance and exposure first, then grade a look; keep skin tones natural across every "
        "clip of an edit.",
        ["production", "color", "editing"],
    ),
    (
        "video-production",
        "Editing Pace and Jump Cuts",
        "Keeping attention with rhythm.",
        "Cut every one to two seconds in the opening, remove pauses with jump cuts and let the pace slow "
        "once the viewer is invested.",
        ["production", "editing", "pacing"],
    ),
    (
        "video-production",
        "Export Settings for Social Platforms",
        "Codecs, bitrates and aspect ratios.",
        "Export H.264 at a high bitrate in the platform's native aspect ratio; upload the master rather than a "
        "recompressed copy.",
        ["production", "export", "codecs"],
    ),
    (
        "compliance",
        "Advertising Policy for Health Claims",
        "What health and wellness ads may say.",
        "Ads may not promise medical outcomes or show before and after images implying guaranteed results; "
        "claims need evidence.",
        ["compliance", "policy", "health"],
    ),
    (
        "compliance",
        "Music Licensing for Ads",
        "Rights for commercial use.",
        "Commercial ads need a licence covering paid media; platform sound libraries for organic posts "
        "usually exclude advertising.",
        ["compliance", "music", "licensing"],
    ),
    (
        "compliance",
        "Privacy and Consent for Tracking",
        "Cookie banners and consent mode.",
        "Collect consent before firing tracking pixels where the law requires it, and respect opt-outs in "
        "server-side events too.",
        ["compliance", "privacy", "tracking"],
    ),
    (
        "compliance",
        "Brand Safety Controls",
        "Keeping ads away from harmful content.",
        "Use inventory filters and block lists so ads avoid placements next to content that harms the brand; "
        "review placement reports monthly.",
        ["compliance", "brand-safety"],
    ),
    (
        "compliance",
        "Influencer Disclosure Rules",
        "Paid partnerships must be labelled.",
        "Creators must label paid partnerships clearly at the start of a video; the advertiser shares "
        "responsibility for the disclosure.",
        ["compliance", "creators", "disclosure"],
    ),
    (
        "tiktok",
        "TikTok Spark Ads",
        "Boosting organic creator posts.",
        "Spark ads run an existing organic post as an ad, keeping its likes and comments. Ask the creator for "
        "an authorisation code.",
        ["tiktok", "creators", "spark"],
    ),
    (
        "tiktok",
        "TikTok Retargeting Audiences",
        "Engagement audiences on TikTok.",
        "Retargeting audiences on TikTok are built from video viewers and profile visitors; they are smaller "
        "than on Meta, so widen the lookback window.",
        ["tiktok", "retargeting", "audiences"],
    ),
    (
        "tiktok",
        "Trending Sounds Strategy",
        "Riding audio trends responsibly.",
        "Trending sounds lift organic reach, but commercial accounts may use only the commercial music library in ads.",
        ["tiktok", "music", "trends"],
    ),
    (
        "tiktok",
        "TikTok Creative Center Research",
        "Finding what works in your category.",
        "The creative center lists top ads by industry and objective; study their hooks and pacing before "
        "briefing creators.",
        ["tiktok", "research", "creative"],
    ),
]

CATEGORIES = sorted({category for category, *_ in DOCUMENTS})

# Full-text queries (web-search syntax) and the document that must come first.
TEXT_QUERIES = {
    "hook rate": "Hook Rate: The First Three Seconds",
    '"return on ad spend"': "ROAS Calculator Explained",
    "retargeting audiences -tiktok": "Meta Retargeting Audiences",
    "captions OR subtitles": "Captions and Subtitles for Accessibility",
    "learning phase reset": "Ad Set Learning Phase",
    "lift study holdout": "Incrementality Lift Studies",
    "voiceover microphone": "Audio Recording for Voiceovers",
}

# Misspelt names and the document they mean.
FUZZY_QUERIES = {
    "Meta Adz optimisation": "Meta Ads Optimization Guide",
    "creatve fatige": "Creative Fatigue Detection",
    "ROAS calculater": "ROAS Calculator Explained",
    "tik tok spark add": "TikTok Spark Ads",
    "colour gradeing": "Colour Grading Basics",
}

# Documents whose perturbed embedding is used as a vector query.
VECTOR_TARGETS = [
    "Daily Budget Pacing",
    "Thumbnail Design for Video Ads",
    "Attribution Windows",
    "Lighting on a Budget",
    "Brand Safety Controls",
    "Trending Sounds Strategy",
]

# Hybrid: a text query that matches several documents plus an embedding near the one that is meant.
HYBRID_QUERIES = [
    ("budget", "Daily Budget Pacing"),
    ("audiences", "Lookalike Audience Seeds"),
    ("creators", "Influencer Disclosure Rules"),
]


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector]


def _gaussian(seed: str) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)]


def embedding_for(category: str, name: str) -> list[float]:
    """A document's embedding: its category's topic direction plus its own noise, normalised."""
    topic = _unit(_gaussian(f"category:{category}"))
    noise = _unit(_gaussian(f"document:{name}"))
    return _unit([t + 0.6 * n for t, n in zip(topic, noise, strict=True)])


def query_embedding_near(name: str, *, noise: float = 0.15) -> list[float]:
    """An embedding close to document ``name``'s (its nearest neighbour by a wide margin)."""
    category = next(category for category, doc_name, *_ in DOCUMENTS if doc_name == name)
    target = embedding_for(category, name)
    jitter = _unit(_gaussian(f"query:{name}"))
    return _unit([t + noise * j for t, j in zip(target, jitter, strict=True)])


def category_embedding(category: str) -> list[float]:
    """The topic direction of ``category``: every document of it is closer than any other document."""
    return _unit(_gaussian(f"category:{category}"))


def create_corpus() -> dict[str, KnowledgeDocument]:
    """Create every corpus document (with embedding) and return them by name.

    The HNSW index is rebuilt afterwards (``rebuild_vector_index``).
    """
    documents = KnowledgeDocument.objects.bulk_create(
        KnowledgeDocument(
            name=name,
            description=description,
            content=content,
            category=category,
            tags=tags,
            embedding=embedding_for(category, name),
            source="test-corpus",
        )
        for category, name, description, content, tags in DOCUMENTS
    )
    rebuild_vector_index()
    return {document.name: document for document in documents}


def rebuild_vector_index() -> None:
    """Rebuild the HNSW indexes (documents' and chunks') so they hold only the rows this test can see.

    The test database is reused, and the rolled-back documents of earlier tests stay in the graph as
    dead duplicates (until a vacuum) that can cut it into pieces a search cannot cross, or fill an
    iterative scan's ``max_scan_tuples`` before it reaches a live row. Rebuilt, it holds this test's
    rows only, as a production index would.
    """
    with connection.cursor() as cursor:
        cursor.execute("REINDEX INDEX knowledge_doc_embedding_idx")
        cursor.execute("REINDEX INDEX knowledge_chunk_e5_small_idx")
