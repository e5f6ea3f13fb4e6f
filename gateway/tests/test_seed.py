import importlib.util
import io
import json
import math
from datetime import UTC, datetime
from random import Random

import pytest
from django.contrib.postgres.search import SearchQuery
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from campaigns.models import Campaign, Conversion, Experiment
from gateway.seeding.development import FIXTURE
from gateway.seeding.scale import ScaleGenerator, expected_counts
from knowledge.models import EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL, KnowledgeChunk, KnowledgeDocument
from media.models import Asset, Clip, PerformanceMetric, Prediction
from users.models import ApiKey, User
from users.seeding import DEV_API_KEYS
from users.services import api_key_authenticate, api_key_revoke

pytestmark = pytest.mark.django_db

MODELS = (User, ApiKey, Asset, Clip, Prediction, PerformanceMetric, Campaign, Experiment, Conversion, KnowledgeDocument)
DOCUMENTED_COUNTS = {
    User: 3,
    ApiKey: 3,
    Asset: 2,
    Clip: 11,
    Prediction: 5,
    PerformanceMetric: 0,
    Campaign: 2,
    Experiment: 1,
    Conversion: 10,
    KnowledgeDocument: 3,
}


def seed(*args, **options) -> str:
    out = io.StringIO()
    call_command("seed", *args, force=True, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def counts() -> dict:
    # _base_manager is all_objects for soft models: soft-deleted rows count too.
    return {model: model._base_manager.count() for model in MODELS}


def snapshot() -> dict:
    """Every row of every model, by id. Password hashes are salted afresh on each run, and the seed embeds the
    knowledge documents anew (``embedded_at``), so they are left out."""
    rows = {}
    for model in MODELS:
        left_out = ("password", "embedding", "embedded_at")
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in left_out]
        rows[model] = {row["id"]: row for row in model._base_manager.values(*fields)}
    return rows


def load_fixture_builder():
    spec = importlib.util.spec_from_file_location("fixtures_build", FIXTURE.with_name("build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_creates_the_documented_counts():
    seed()
    assert counts() == DOCUMENTED_COUNTS


def test_seed_embeds_the_development_documents():
    seed()
    assert set(KnowledgeDocument.all_objects.values_list("embedding_state", flat=True)) == {"READY"}
    assert KnowledgeChunk.objects.filter(model=LOCAL_EMBEDDING_MODEL).count() >= DOCUMENTED_COUNTS[KnowledgeDocument]


def test_seed_twice_leaves_the_same_rows():
    seed()
    before = snapshot()
    seed()
    assert snapshot() == before


def test_seed_prints_the_admin_login_and_the_keys(settings):
    settings.DEV_ADMIN_PASSWORD = "dev-password-for-this-test"
    output = seed()
    assert "admin@geminivideo.ai / dev-password-for-this-test" in output
    for key in DEV_API_KEYS.values():
        assert key in output


def test_seeded_dev_keys_authenticate_as_their_users():
    seed()
    for email, key in DEV_API_KEYS.items():
        api_key = api_key_authenticate(key)
        assert api_key is not None
        assert api_key.user.email == email


def test_seeded_database_holds_no_plaintext_key():
    seed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM api_keys t UNION ALL SELECT t::text FROM users t")
        dump = "\n".join(row[0] for row in cursor.fetchall())
    assert "sha512$$" in dump
    for key in DEV_API_KEYS.values():
        assert key not in dump


@pytest.mark.django_db(transaction=True)  # --reset empties tables with TRUNCATE, as `make reset` does: committed
def test_seed_leaves_a_revoked_dev_key_revoked_and_reset_brings_it_back():
    seed()
    api_key_revoke(api_key=ApiKey.objects.get(prefix=ApiKey.prefix_of(DEV_API_KEYS["demo@geminivideo.ai"])))
    seed()
    assert api_key_authenticate(DEV_API_KEYS["demo@geminivideo.ai"]) is None
    assert ApiKey.objects.count() == 3
    seed(reset=True, yes=True)
    assert api_key_authenticate(DEV_API_KEYS["demo@geminivideo.ai"]) is not None
    assert ApiKey.objects.count() == 3


class TestSeedKeepsYourWork:
    """``make run`` seeds every time: a second seed inserts what is missing and changes nothing that exists."""

    def change_seeded_rows(self):
        clip = Clip.objects.exclude(score=0.66).first()
        Clip.objects.filter(pk=clip.pk).update(score=0.66)
        experiment = Experiment.objects.get()
        Experiment.objects.filter(pk=experiment.pk).update(status="COMPLETED")
        demo = User.objects.get(email="demo@geminivideo.ai")
        User.objects.filter(pk=demo.pk).update(settings={"theme": "mine"})
        campaign = Campaign.objects.first()
        Campaign.objects.filter(pk=campaign.pk).update(total_clicks=123_456)
        return snapshot()

    def test_a_second_seed_keeps_every_changed_row(self):
        seed()
        changed = self.change_seeded_rows()
        seed()
        assert snapshot() == changed

    def test_a_soft_deleted_row_stays_deleted(self):
        seed()
        asset = Asset.objects.first()
        asset.soft_delete()
        seed()
        assert Asset.all_objects.get(pk=asset.pk).deleted_at is not None

    def test_a_missing_row_is_inserted_again(self):
        seed()
        document = KnowledgeDocument.objects.first()
        pk = document.pk
        document.delete()
        seed()
        assert KnowledgeDocument.objects.filter(pk=pk).exists()
        assert counts() == DOCUMENTED_COUNTS

    def test_the_admin_keeps_a_changed_password(self, settings):
        seed()
        admin = User.objects.get(email="admin@geminivideo.ai")
        admin.set_password("my-own-password")
        admin.save(update_fields=["password"])
        seed()
        assert User.objects.get(pk=admin.pk).check_password("my-own-password")

    def test_a_logged_in_admin_stays_logged_in(self, client):
        seed()
        client.force_login(User.objects.get(email="admin@geminivideo.ai"))
        assert client.get("/admin/").status_code == 200
        seed()
        assert client.get("/admin/").status_code == 200


def fixture_rows() -> dict:
    """The seeded rows but the API keys (issued anew by a reset: new ids and times), and which keys work."""
    rows = {model: table for model, table in snapshot().items() if model is not ApiKey}
    return {
        **rows,
        "usable keys": {email: api_key_authenticate(key) is not None for email, key in DEV_API_KEYS.items()},
    }


@pytest.mark.django_db(transaction=True)  # --reset empties tables with TRUNCATE, as `make reset` does: committed
class TestSeedReset:
    def test_reset_with_yes_restores_the_fixture_values(self):
        seed()
        before = fixture_rows()
        TestSeedKeepsYourWork().change_seeded_rows()
        Asset.objects.first().soft_delete()
        output = seed(reset=True, yes=True)
        assert "Deleted every row" in output
        assert fixture_rows() == before

    def test_reset_asks_and_deletes_nothing_without_a_yes(self, monkeypatch):
        seed()
        changed = TestSeedKeepsYourWork().change_seeded_rows()
        monkeypatch.setattr("builtins.input", lambda prompt: "no")
        with pytest.raises(CommandError, match="nothing was deleted"):
            seed(reset=True)
        assert snapshot() == changed

    def test_reset_goes_on_when_the_answer_is_yes(self, monkeypatch):
        seed()
        before = fixture_rows()
        TestSeedKeepsYourWork().change_seeded_rows()
        monkeypatch.setattr("builtins.input", lambda prompt: "yes")
        seed(reset=True)
        assert fixture_rows() == before


def test_seeded_admin_is_a_staff_superuser_with_the_configured_password(settings):
    settings.DEV_ADMIN_PASSWORD = "another-dev-password"
    seed()
    admin = User.objects.get(email="admin@geminivideo.ai")
    assert admin.check_password("another-dev-password")
    assert admin.is_staff and admin.is_superuser and admin.is_active


def test_seeded_users_other_than_the_admin_cannot_log_in_with_a_password():
    seed()
    assert not any(user.has_usable_password() for user in User.objects.exclude(email="admin@geminivideo.ai"))


def test_seed_refuses_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed", stdout=io.StringIO())
    assert User.objects.count() == 0


def test_seed_runs_with_force_when_debug_is_off(settings):
    settings.DEBUG = False
    seed()  # passes --force
    assert User.objects.count() == 3


def test_seed_runs_without_force_when_debug_is_on(settings):
    settings.DEBUG = True
    call_command("seed", stdout=io.StringIO())
    assert User.objects.count() == 3


def test_seed_reports_a_development_email_taken_by_another_user():
    User.objects.create_user("Admin@GeminiVideo.ai")
    with pytest.raises(CommandError, match="admin@geminivideo.ai already exists"):
        seed()


def test_seeded_clips_follow_the_documented_pattern():
    seed()
    clips = Clip.objects.filter(asset__filename="demo-video-1.mp4").order_by("rank")
    assert [(c.start_time, c.end_time, c.duration) for c in clips] == [
        (20.0 * i, 20.0 * i + 15, 15.0) for i in range(5)
    ]
    assert [c.score for c in clips] == [0.92, 0.81, 0.77, 0.74, 0.71]
    assert [c.features["emotion"] for c in clips] == ["happy", "excited", "surprised", "happy", "excited"]
    assert Clip.objects.filter(asset__filename="demo-video-2.mp4").count() == 6


def test_seeded_conversions_follow_the_documented_pattern():
    seed()
    conversions = Conversion.objects.order_by("external_id")
    assert [c.external_id for c in conversions] == [f"meta_conv_{1000 + i}" for i in range(10)]
    assert [int(c.value) for c in conversions] == [50 + 15 * i for i in range(10)]
    assert [c.campaign.name for c in conversions[:2]] == ["Summer Product Launch", "Brand Awareness Campaign"]
    assert conversions[0].timestamp == datetime(2025, 7, 15, 12, tzinfo=UTC)


def test_fixture_loads_with_loaddata_and_the_database_fills_the_generated_columns():
    call_command("loaddata", str(FIXTURE), verbosity=0)
    assert set(Clip.objects.values_list("duration", flat=True)) == {15.0}
    found = KnowledgeDocument.objects.filter(search_vector=SearchQuery("attribution windows"))
    assert list(found.values_list("name", flat=True)) == ["ROAS Calculation Methods"]
    assert set(KnowledgeDocument.objects.values_list("version", flat=True)) == {1}


def test_a_dump_including_generated_columns_loads_back(tmp_path):
    # dumpdata writes GeneratedField values; loaddata must ignore them rather than fail.
    call_command("loaddata", str(FIXTURE), verbosity=0)
    dump = tmp_path / "dump.json"
    call_command("dumpdata", "media.clip", "knowledge.knowledgedocument", output=str(dump), verbosity=0)
    assert '"duration": 15.0' in dump.read_text()
    before = snapshot()
    call_command("loaddata", str(dump), verbosity=0)
    assert snapshot() == before


def test_fixture_is_what_its_builder_writes():
    builder = load_fixture_builder()
    assert builder.render(builder.build()) == FIXTURE.read_text()


def test_fixture_embeddings_are_unit_vectors_of_the_model_dimension():
    rows = [row for row in json.loads(FIXTURE.read_text()) if row["model"] == "knowledge.knowledgedocument"]
    assert len(rows) == 3
    for row in rows:
        embedding = row["fields"]["embedding"]
        assert len(embedding) == EMBEDDING_DIMENSIONS
        assert math.sqrt(math.fsum(v * v for v in embedding)) == pytest.approx(1.0, abs=1e-6)


def test_seed_scale_1_adds_the_unit_data_set_to_the_development_one():
    seed(scale=1)
    assert expected_counts(1) == {
        User: 10,
        Asset: 100,
        Clip: 1_000,
        Prediction: 200,
        PerformanceMetric: 100,
        Campaign: 10,
        Experiment: 20,
        Conversion: 1_000,
        KnowledgeDocument: 20,
    }
    assert counts() == {model: DOCUMENTED_COUNTS[model] + expected_counts(1).get(model, 0) for model in MODELS}


def test_seed_scale_reports_rows_per_second():
    output = seed(scale=1)
    assert "Generated 2,460 rows" in output
    assert "rows/s" in output


def test_scale_1000_reaches_the_target_volumes():
    volumes = expected_counts(1000)
    assert volumes[User] >= 1_000
    assert volumes[Asset] >= 100_000
    assert volumes[Clip] >= 1_000_000
    assert volumes[Prediction] >= 200_000
    assert volumes[Campaign] >= 10_000
    assert volumes[Conversion] >= 1_000_000


def test_seed_scale_rows_pass_every_check_constraint():
    seed(scale=1)
    tables = [model._meta.db_table for model in expected_counts(1)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_expr(conbin, conrelid) FROM pg_constraint "
            "WHERE contype = 'c' AND conrelid::regclass::text = ANY(%s)",
            [tables],
        )
        checks = cursor.fetchall()
        violations = {}
        for table, name, expression in checks:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE NOT ({expression})")
            violations[name] = cursor.fetchone()[0]
    assert len(checks) > 30
    assert set(violations.values()) == {0}


def test_seed_scale_rows_pass_model_validation():
    seed(scale=1)
    for model in expected_counts(1):
        for instance in model._base_manager.order_by("?")[:20]:
            instance.full_clean(validate_unique=False, validate_constraints=False)


def test_seed_scale_twice_adds_twice_without_collisions():
    seed(scale=1)
    seed(scale=1)
    assert Conversion.objects.count() == 10 + 2 * 1_000
    assert Asset.all_objects.values("gcs_url").distinct().count() == 2 + 2 * 100


def test_seed_scale_keeps_the_embedding_index_and_writes_unit_vectors():
    seed(scale=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'knowledge_doc_embedding_idx'")
        assert "USING hnsw" in cursor.fetchone()[0]
        cursor.execute("SELECT min(vector_norm(embedding)), max(vector_norm(embedding)) FROM knowledge_documents")
        low, high = cursor.fetchone()
    assert low == pytest.approx(1.0, abs=1e-4)
    assert high == pytest.approx(1.0, abs=1e-4)


def test_scale_generator_with_a_seed_builds_the_same_rows():
    now = datetime(2025, 7, 15, tzinfo=UTC)
    first = ScaleGenerator(Random(42), now=now)
    second = ScaleGenerator(Random(42), now=now)
    assert first.batch(2) == second.batch(2)
    assert [part.build(first, 2) for part in first.parts if part.standalone] == [
        part.build(second, 2) for part in second.parts if part.standalone
    ]


def test_seed_rejects_a_negative_scale():
    with pytest.raises(CommandError, match="--scale"):
        seed(scale=-1)
