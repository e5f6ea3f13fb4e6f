"""No acknowledged write is lost: two real clients race on one row through the production server.

Each pair of requests is sent at once (released by a barrier) from two clients, each on its own
keep-alive connection to gunicorn (``production_server``: DEBUG off, 2 workers x 4 threads, the pool),
``TRIALS`` times on a new row each time. Afterwards every write that was answered with a 2xx must be in
the row. Before the fix an update saved the whole row it had read (docs/RELIABILITY.md has the figures).

Then the same with the protocol's help: two clients that read the same ETag and write with ``If-Match``
(one wins, the other gets a 412, reads again and writes on top, so neither change is lost), two requests
with one ``Idempotency-Key`` (one write, one answer), and a retry after a restart of the server.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import orjson
import pytest
from django.test import Client

from campaigns.choices import CampaignStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign
from conftest import GUNICORN_COMMAND, serve
from gateway.admin.links import change_url
from gateway.models import IdempotencyKey
from gateway.tests.admin_helpers import form_data
from knowledge.factories import KnowledgeDocumentFactory
from media.choices import AssetStatus
from media.factories import AssetFactory, ClipFactory
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TRIALS = 40
API = "/api/v1"


class ApiConnection:
    """One client: its own HTTP connection to the server, with an API key."""

    def __init__(self, server, key: str):
        self.connection = server.connect()
        self.headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}

    def send(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict | None]:
        status, _, body = self.exchange(method, path, payload)
        return status, body

    def exchange(self, method: str, path: str, payload: dict | None = None, headers: dict | None = None):
        """(status, headers, JSON body) of one request, with ``headers`` added to the key's."""
        body = orjson.dumps(payload) if payload is not None else None
        # A new socket each time: gunicorn closes a keep-alive connection idle for 2 s, and a write must
        # never be sent twice to find out.
        self.connection.close()
        self.connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = self.connection.getresponse()
        content = response.read()
        return response.status, dict(response.getheaders()), orjson.loads(content) if content else None

    def close(self):
        self.connection.close()


class Race:
    """Sends callables' requests at once, each from its own thread (and so its own connection)."""

    def __init__(self, size: int = 2):
        self.pool = ThreadPoolExecutor(size)
        self.size = size

    def __call__(self, *work: Callable):
        barrier = threading.Barrier(len(work))

        def run(job):
            barrier.wait(timeout=30)
            return job()

        return [future.result(timeout=60) for future in [self.pool.submit(run, job) for job in work]]

    def close(self):
        self.pool.shutdown()


@pytest.fixture
def race():
    racer = Race()
    yield racer
    racer.close()


@pytest.fixture
def clients(production_server):
    key = ApiKeyFactory(user=AdminUserFactory()).secret
    pair = [ApiConnection(production_server, key), ApiConnection(production_server, key)]
    yield pair
    for client in pair:
        client.close()


@dataclass
class Write:
    """One write of a race, and how to tell that it is in the row afterwards."""

    what: str  # what is lost when the row does not keep it
    request: Callable  # row -> (method, path, payload)
    kept: Callable  # (row as stored afterwards, row as created) -> bool


def patch(url: Callable, field: str, value) -> Write:
    """PATCH ``field`` of the row at ``url(row)`` to ``value``."""
    return Write(
        field, lambda row: ("PATCH", url(row), {field: value}), lambda stored, row: getattr(stored, field) == value
    )


def delete(url: Callable) -> Write:
    """DELETE the row at ``url(row)`` (a soft delete)."""
    return Write("delete", lambda row: ("DELETE", url(row), None), lambda stored, row: stored.deleted_at is not None)


@dataclass
class Pair:
    """Two writes on one new row: after the race, each acknowledged write must be in the row."""

    name: str
    create: Callable  # () -> the row
    first: Write
    second: Write

    def lost(self, stored, row, first_acknowledged: bool, second_acknowledged: bool) -> list[str]:
        """What the acknowledged writes lost."""
        writes = [(self.first, first_acknowledged), (self.second, second_acknowledged)]
        return [write.what for write, acknowledged in writes if acknowledged and not write.kept(stored, row)]


def acknowledged(status: int) -> bool:
    return 200 <= status < 300


def lost_unless(condition: bool, what: str) -> list[str]:
    return [] if condition else [what]


def campaign_url(campaign) -> str:
    return f"{API}/campaigns/{campaign.pk}/"


def campaign_pairs() -> list[Pair]:
    rename = Write(
        "name",
        lambda row: ("PATCH", campaign_url(row), {"name": f"renamed {row.pk}"}),
        lambda stored, row: stored.name == f"renamed {row.pk}",
    )
    increment = Write(
        "increment",
        lambda row: ("POST", f"{campaign_url(row)}metrics/", {"impressions": 7, "spend": "1.25", "increment": True}),
        lambda stored, row: (
            stored.total_impressions == row.total_impressions + 7
            and stored.total_spend == row.total_spend + Decimal("1.25")
        ),
    )
    return [
        Pair(
            "campaign: PATCH name + PATCH description",
            CampaignFactory,
            rename,
            patch(campaign_url, "description", "described"),
        ),
        Pair("campaign: PATCH name + metrics increment", CampaignFactory, rename, increment),
        Pair(
            "campaign: PATCH name + PATCH status ARCHIVED",
            CampaignFactory,
            rename,
            patch(campaign_url, "status", CampaignStatus.ARCHIVED),
        ),
        Pair("campaign: PATCH name + DELETE", CampaignFactory, rename, delete(campaign_url)),
    ]


def other_pairs() -> list[Pair]:
    asset = lambda row: f"{API}/assets/{row.pk}/"  # noqa: E731
    clip = lambda row: f"{API}/clips/{row.pk}/"  # noqa: E731
    experiment = lambda row: f"{API}/experiments/{row.pk}/"  # noqa: E731
    conversion = lambda row: f"{API}/conversions/{row.pk}/"  # noqa: E731
    api_key = lambda row: f"{API}/api-keys/{row.pk}/"  # noqa: E731
    document = lambda row: f"{API}/knowledge-documents/{row.pk}/"  # noqa: E731
    rename_asset = patch(asset, "original_name", "renamed.mp4")
    rename_document = patch(document, "name", "renamed")
    return [
        Pair(
            "asset: PATCH original_name + status change",
            AssetFactory,
            rename_asset,
            Write(
                "status",
                lambda row: ("POST", f"{asset(row)}status/", {"status": AssetStatus.PROCESSING}),
                lambda stored, row: stored.status == AssetStatus.PROCESSING,
            ),
        ),
        Pair("asset: PATCH original_name + DELETE", AssetFactory, rename_asset, delete(asset)),
        Pair(
            "clip: PATCH clip_url + new scores",
            ClipFactory,
            patch(clip, "clip_url", "https://cdn.example/renamed.mp4"),
            Write(
                "scores",
                lambda row: ("POST", f"{clip(row)}scores/", {"score": 0.125, "viral_score": 0.25}),
                lambda stored, row: (stored.score, stored.viral_score) == (0.125, 0.25),
            ),
        ),
        Pair(
            "experiment: PATCH description + select winner",
            ExperimentFactory,
            patch(experiment, "description", "described"),
            Write(
                "winner",
                lambda row: ("POST", f"{experiment(row)}select-winner/", {"variant_id": row.variants[0]["id"]}),
                lambda stored, row: stored.winner_variant_id == row.variants[0]["id"],
            ),
        ),
        Pair(
            "conversion: PATCH attributed_ad_id + PATCH metadata",
            ConversionFactory,
            patch(conversion, "attributed_ad_id", "ad-7"),
            patch(conversion, "metadata", {"checked": True}),
        ),
        Pair(
            "API key: PATCH name + revoke",
            lambda: ApiKeyFactory(user=UserFactory()),
            patch(api_key, "name", "renamed"),
            Write(
                "revoke",
                lambda row: ("POST", f"{api_key(row)}revoke/", None),
                lambda stored, row: stored.revoked_at is not None,
            ),
        ),
        Pair(
            "knowledge document: PATCH name + PATCH content",
            KnowledgeDocumentFactory,
            rename_document,
            Write(
                "content",
                lambda row: ("PATCH", document(row), {"content": "new content"}),
                lambda stored, row: (stored.content, stored.version) == ("new content", row.version + 1),
            ),
        ),
        Pair("knowledge document: PATCH name + DELETE", KnowledgeDocumentFactory, rename_document, delete(document)),
    ]


@pytest.mark.parametrize("pair", campaign_pairs() + other_pairs(), ids=lambda pair: pair.name)
def test_no_acknowledged_write_is_lost_when_two_clients_race(pair, clients, race):
    first, second = clients
    lost, acknowledgements = [], 0
    for _ in range(TRIALS):
        row = pair.create()
        (status_a, body_a), (status_b, body_b) = race(
            partial(first.send, *pair.first.request(row)), partial(second.send, *pair.second.request(row))
        )
        for status, body in ((status_a, body_a), (status_b, body_b)):
            # A write that lost the race to a delete finds no row: a 404, never a 5xx or a silent 200.
            assert acknowledged(status) or status == 404, (status, body)
        stored = type(row)._base_manager.get(pk=row.pk)
        acknowledgements += acknowledged(status_a) + acknowledged(status_b)
        lost += pair.lost(stored, row, acknowledged(status_a), acknowledged(status_b))
    print(f"{pair.name}: {len(lost)} of {TRIALS} trials lost an acknowledged write {sorted(set(lost))}")
    assert lost == []
    # The race is real only if the writes were taken: at least every trial's second write, or both.
    assert acknowledgements >= TRIALS * 2 - TRIALS * ("DELETE" in pair.name)


SOFT_ROWS = {
    "campaigns": (CampaignFactory, {"description": "back?"}),
    "assets": (AssetFactory, {"original_name": "back.mp4"}),
    "clips": (ClipFactory, {"rank": 2}),
    "experiments": (ExperimentFactory, {"description": "back?"}),
    "knowledge-documents": (KnowledgeDocumentFactory, {"description": "back?"}),
}


@pytest.mark.parametrize("prefix", SOFT_ROWS)
def test_an_update_after_a_delete_is_a_404_and_the_row_stays_deleted(prefix, clients):
    factory, change = SOFT_ROWS[prefix]
    row = factory()
    row.soft_delete()
    status, _ = clients[0].send("PATCH", f"{API}/{prefix}/{row.pk}/", change)
    assert status == 404
    assert type(row).all_objects.get(pk=row.pk).deleted_at is not None


API_WRITES_DURING_AN_ADMIN_EDIT = [
    Write(
        "metrics increment",
        lambda campaign: ("POST", f"{campaign_url(campaign)}metrics/", {"clicks": 3, "increment": True}),
        lambda stored, campaign: stored.total_clicks == campaign.total_clicks + 3,
    ),
    patch(campaign_url, "description", "from the API"),
    Write(
        "status ARCHIVED",
        lambda campaign: ("POST", f"{campaign_url(campaign)}status/", {"status": CampaignStatus.ARCHIVED}),
        lambda stored, campaign: stored.status == CampaignStatus.ARCHIVED,
    ),
]


@pytest.mark.parametrize("api_write", API_WRITES_DURING_AN_ADMIN_EDIT, ids=lambda write: write.what)
def test_the_admin_change_form_keeps_a_concurrent_api_write(api_write, clients, race):
    """The console's change form writes only what the staff member changed, so an API write survives it."""
    admin = Client()
    admin.force_login(AdminUserFactory())
    lost = []
    for trial in range(TRIALS):
        campaign = CampaignFactory()
        url = change_url(Campaign, campaign.pk)
        data = {**form_data(admin.get(url)), "name": f"edited {trial}"}
        answers = race(partial(admin.post, url, data), partial(clients[0].send, *api_write.request(campaign)))
        assert answers[0].status_code == 302, "the admin form was not saved"
        assert answers[1][0] == 200, answers[1]
        stored = Campaign.all_objects.get(pk=campaign.pk)
        lost += lost_unless(stored.name == f"edited {trial}", "admin name")
        lost += lost_unless(api_write.kept(stored, campaign), api_write.what)
    print(f"admin change form + API {api_write.what}: {len(lost)} of {TRIALS} trials lost a write {sorted(set(lost))}")
    assert lost == []


def read_modify_write(client, campaign, field: str, value: str) -> tuple[int, int]:
    """PATCH ``field`` over the campaign as last read, with ``If-Match``; on a 412 read again and retry.

    (status of the first attempt, status of the last).
    """
    url = campaign_url(campaign)
    statuses = []
    for _ in range(5):
        _, headers, _ = client.exchange("GET", url)
        status, _, _ = client.exchange("PATCH", url, {field: value}, {"If-Match": headers["ETag"]})
        statuses.append(status)
        if status != 412:
            break
    return statuses[0], statuses[-1]


def test_two_clients_with_if_match_one_wins_the_other_reapplies_on_top(clients, race):
    first, second = clients
    outcomes = []
    for trial in range(TRIALS):
        campaign = CampaignFactory()
        # Both read the same ETag first, then both write at once: the race If-Match must settle.
        etag = first.exchange("GET", campaign_url(campaign))[1]["ETag"]
        (status_a, _, _), (status_b, _, _) = race(
            partial(first.exchange, "PATCH", campaign_url(campaign), {"name": f"a {trial}"}, {"If-Match": etag}),
            partial(
                second.exchange, "PATCH", campaign_url(campaign), {"description": f"b {trial}"}, {"If-Match": etag}
            ),
        )
        outcomes.append(tuple(sorted((status_a, status_b))))
        # The loser reads the object as the winner left it and applies its change on top.
        if status_a == 412:
            read_modify_write(first, campaign, "name", f"a {trial}")
        if status_b == 412:
            read_modify_write(second, campaign, "description", f"b {trial}")
        stored = Campaign.objects.get(pk=campaign.pk)
        assert (stored.name, stored.description) == (f"a {trial}", f"b {trial}")
    print(f"If-Match race: {outcomes.count((200, 412))} of {TRIALS} trials had one 412")
    assert set(outcomes) == {(200, 412)}, "with the same ETag exactly one write of each pair may pass"


def test_two_requests_with_one_idempotency_key_write_once(clients, race):
    first, second = clients
    for trial in range(TRIALS // 4):
        body = {"name": f"once {trial}", "budget": "10.00"}
        headers = {"Idempotency-Key": f"race-{trial}-{CampaignFactory().pk}"}
        answers = race(
            partial(first.exchange, "POST", f"{API}/campaigns/", body, headers),
            partial(second.exchange, "POST", f"{API}/campaigns/", body, headers),
        )
        assert [status for status, _, _ in answers] == [201, 201]
        assert answers[0][2] == answers[1][2], "the second request gets the first one's answer"
        assert sorted(headers.get("Idempotent-Replayed", "") for _, headers, _ in answers) == ["", "true"]
        assert Campaign.objects.filter(name=f"once {trial}").count() == 1


def test_a_retry_after_a_restart_gets_the_first_answer(production_server, tmp_path_factory):
    key = ApiKeyFactory(user=UserFactory()).secret
    body = {"name": "before the restart", "budget": "10.00"}
    headers = {"Idempotency-Key": "restart-1"}
    first = ApiConnection(production_server, key).exchange("POST", f"{API}/campaigns/", body, headers)
    assert IdempotencyKey.objects.filter(key="restart-1").exists()
    restarted = serve(tmp_path_factory, GUNICORN_COMMAND)
    try:
        again = ApiConnection(restarted, key).exchange("POST", f"{API}/campaigns/", body, headers)
    finally:
        restarted.stop()
    assert (again[0], again[2]) == (first[0], first[2]) == (201, first[2])
    assert again[1]["Idempotent-Replayed"] == "true"
    assert Campaign.objects.filter(name="before the restart").count() == 1
