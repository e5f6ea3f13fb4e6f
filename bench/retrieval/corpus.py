"""The labelled retrieval set: 1,016 documents built deterministically around ``FACTS``, with graded labels.

For each fact: two documents about it (grade 2): the statement opens a guide titled after the fact, and sits in
the middle of a second document of another kind. Then 800 other documents about the team's ways of working
(titles and sentences from ``FILLER`` templates, in the same advertising vocabulary, answering none of the
questions); every fourth one also states one fact in passing (grade 1 for that fact's question). Labels
follow from construction: a document is relevant to a question exactly when it contains that fact's
statement, so they are honest without anyone reading 1,016 documents.
"""

import uuid
from dataclasses import dataclass, field
from random import Random

from bench.retrieval.facts import FACTS

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://geminivideo.ai/bench/retrieval")
OTHER_DOCUMENTS = 800
MENTION_EVERY = 4
PLATFORMS = ("Meta", "TikTok", "YouTube", "Snapchat", "Pinterest", "Google Ads", "LinkedIn", "Reddit")
AREAS = ("Reporting", "Onboarding", "Workflow", "Team", "Process", "Review", "Calendar", "Glossary", "Templates",
         "Handover", "Tooling", "Access", "Planning", "Naming", "Budget Sheet", "Creative Library")  # fmt: skip
KINDS = ("Guide", "Checklist", "Playbook", "FAQ", "Notes", "Primer", "Handbook", "Memo", "Cheat Sheet", "Wiki Page")
TEAMS = ("growth", "creative", "analytics", "paid social", "brand", "legal", "finance", "partnerships")
PERIODS = ("week", "month", "quarter", "sprint", "half year")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "March", "May", "July", "September", "November")
FILLER = (
    "The {team} team reviews this page every {period}.",
    "Questions about it go to the #{team_slug} channel.",
    "This page was reorganised during the {month} planning cycle.",
    "Links to the {platform} help centre are collected at the end of the page.",
    "The {team} team owns the {platform} part of this material.",
    "Screenshots here were taken in the {platform} interface and may look different now.",
    "The weekly {platform} export lands in the shared drive every {weekday}.",
    "See the {area} page for the wider context.",
    "New joiners read this page during their first {number} days.",
    "Comments from the {team} team were merged in {month}.",
    "Ask the {team} lead before changing anything described here.",
    "A recording of the {month} walkthrough is linked from the team calendar.",
    "The checklist below is copied into every new {platform} project board.",
    "Older versions of this page are kept in the {area} archive.",
    "The {team} and {team2} teams agreed on this wording in {month}.",
    "Each section names the person to ask on the {team} team.",
    "Use the {area} template when you start a page like this one.",
    "The {platform} account owner signs off on this page every {period}.",
    "Numbers quoted here come from the {month} dashboard snapshot.",
    "This page replaces the old {area} spreadsheet.",
    "Abbreviations are explained in the glossary of the {area} space.",
    "Send corrections to the {team} team through the usual request form.",
    "The {weekday} stand-up goes through open items from this page.",
    "Contractors get read access to this page through the {area} group.",
)


@dataclass
class Document:
    key: str
    name: str
    category: str
    content: str
    tags: list[str]

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, self.key)


@dataclass
class LabelledSet:
    documents: list[Document]
    # One per fact: (question, {document id: grade}).
    queries: list[tuple[str, dict]] = field(default_factory=list)


def _filler(rng: Random) -> str:
    team, team2 = rng.sample(TEAMS, 2)
    return rng.choice(FILLER).format(
        team=team,
        team2=team2,
        team_slug=team.replace(" ", "-"),
        period=rng.choice(PERIODS),
        month=rng.choice(MONTHS),
        platform=rng.choice(PLATFORMS),
        weekday=rng.choice(WEEKDAYS),
        area=rng.choice(AREAS),
        number=rng.choice((5, 10, 14, 30)),
    )


def _fillers(rng: Random, count: int) -> list[str]:
    return [_filler(rng) for _ in range(count)]


def build(seed: int = 17, questions: int | None = None) -> LabelledSet:
    """The documents and the labelled questions; the same every time for the same ``seed``.

    ``questions`` keeps only the first facts, with the other documents in proportion (a quick run).
    """
    rng = Random(seed)
    facts = FACTS[:questions] if questions else FACTS
    others = OTHER_DOCUMENTS * len(facts) // len(FACTS)
    documents: list[Document] = []
    labels: list[dict] = [{} for _ in facts]
    for index, (category, title, statement, _question) in enumerate(facts):
        first, second = rng.sample(KINDS, 2)
        guide = Document(
            key=f"fact:{index}:guide",
            name=f"{title} {first}",
            category=category,
            content=" ".join([statement, *_fillers(rng, 3)]),
            tags=[category, "guide"],
        )
        middle = Document(
            key=f"fact:{index}:section",
            name=f"{rng.choice(PLATFORMS)} {title} {second}",
            category=category,
            content=" ".join([*_fillers(rng, 2), statement, *_fillers(rng, 2)]),
            tags=[category],
        )
        for document in (guide, middle):
            documents.append(document)
            labels[index][document.id] = 2
    names = set()
    for number in range(others):
        name = f"{rng.choice(PLATFORMS)} {rng.choice(AREAS)} {rng.choice(KINDS)}"
        while name in names:
            name += f" {rng.randint(2, 99)}"
        names.add(name)
        sentences = _fillers(rng, rng.randint(4, 7))
        mentioned = None
        if number % MENTION_EVERY == 0:
            mentioned = (number // MENTION_EVERY) % len(facts)
            sentences.insert(rng.randint(1, len(sentences) - 1), facts[mentioned][2])
        document = Document(
            key=f"other:{number}",
            name=name,
            category=rng.choice(("operations", "reference", "team")),
            content=" ".join(sentences),
            tags=["internal"],
        )
        documents.append(document)
        if mentioned is not None:
            labels[mentioned][document.id] = 1
    queries = [(fact[3], labels[index]) for index, fact in enumerate(facts)]
    return LabelledSet(documents=documents, queries=queries)
