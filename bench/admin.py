"""Admin benchmark: the clip and conversion changelists at 1,000,000 rows and the home page (the dashboard),
server time in this process.

Each page (the default page, a filter, a search) is requested as a logged-in superuser through the full
middleware stack and timed beside the same page served with Django's defaults for counting: its
``Paginator`` (an exact ``COUNT(*)`` of the filtered rows) and ``show_full_result_count`` (a second
``COUNT(*)`` of the whole table when filtered). The target is < 300 ms of server time. The SQL-only
baseline (the page's own queries through raw psycopg) is recorded too. The dashboard, which has no
Django default to compare with, is timed beside that SQL-only baseline: its KPI aggregates, daily totals,
running experiments and capped work-queue counts over the whole data set.
"""

from contextlib import contextmanager

from bench.harness import Row, explain, median, paired, print_plans, raw_connection, timed
from bench.inprocess import Server, baseline_of, capture, measure

REPEAT = 7
TARGET_MS = 300.0
DASHBOARD = ("admin: dashboard (home page)", "/admin/")


def fixtures() -> dict:
    from campaigns.models import Conversion
    from media.models import Clip
    from users.models import User

    superuser = User.objects.filter(is_superuser=True, is_active=True, deleted_at__isnull=True).first()
    if superuser is None:
        superuser = User.objects.create_superuser(email="bench-superuser@example.com", password=None)
    clip = Clip.objects.order_by("id").only("id").first()
    conversion = Conversion.objects.filter(external_id__isnull=False).order_by("id").only("external_id").first()
    return {"superuser": superuser, "clip": clip, "conversion": conversion}


def cases(rows: dict) -> list[tuple[str, str, str]]:
    """(name, model label, query string) of each page."""
    clip_short_id = str(rows["clip"].pk)[:8] if rows["clip"] else "00000000"
    external_id = rows["conversion"].external_id if rows["conversion"] else "none"
    return [
        ("admin: clips, default page", "media.clip", ""),
        ("admin: clips, filter status=SCORED", "media.clip", "?status__exact=SCORED"),
        ("admin: clips, search by short id", "media.clip", f"?q={clip_short_id}"),
        ("admin: conversions, default page", "campaigns.conversion", ""),
        ("admin: conversions, filter source=GOOGLE", "campaigns.conversion", "?source__exact=GOOGLE"),
        ("admin: conversions, search by external id", "campaigns.conversion", f"?q={external_id}"),
    ]


def session_cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@contextmanager
def django_default_counting(model_label: str):
    """Serve ``model_label``'s changelist with Django's own paginator and full result count meanwhile."""
    from django.apps import apps
    from django.contrib import admin
    from django.core.paginator import Paginator

    model_admin = admin.site._registry[apps.get_model(model_label)]
    saved = model_admin.__dict__.copy()
    model_admin.paginator = Paginator
    model_admin.show_full_result_count = True
    try:
        yield
    finally:
        for name in ("paginator", "show_full_result_count"):
            if name in saved:
                setattr(model_admin, name, saved[name])
            else:
                delattr(model_admin, name)


def run(*, repeat: int = REPEAT, verbose: bool = False) -> dict:
    rows = fixtures()
    cookie = session_cookie(rows["superuser"])
    server = Server()
    results, extra = [], {"cases": {}}
    with raw_connection() as raw:
        for name, label, query in cases(rows):
            path = f"/admin/{label.replace('.', '/')}/{query}"

            def make(path=path):
                return server.request("GET", path, headers={"Cookie": cookie})

            make()
            queries, response, content = capture(make)
            if response.status_code != 200:
                raise AssertionError(f"{path}: status {response.status_code}: {content[:300]!r}")
            with django_default_counting(label):
                make()
                full_queries, _, _ = capture(make)
                full = [timed(make) for _ in range(repeat)]
            figures, sql_baselines = paired(make, baseline_of(queries, raw), repeat=repeat)
            plans = [{"sql": sql, **explain(sql)} for sql in queries if _is_list_query(sql)]
            figure, full_ms = median(figures), median(full)
            results.append(
                Row(
                    name,
                    "ms",
                    figure,
                    full_ms,
                    len(queries),
                    f"< {TARGET_MS:.0f} ms (vs full count)",
                    figure < TARGET_MS,
                    {"sql_baseline_ms": median(sql_baselines), "full_count_queries": len(full_queries)},
                )
            )
            extra["cases"][name] = {
                "path": path,
                "queries": queries,
                "full_count_queries": full_queries,
                "figures_ms": figures,
                "full_count_ms": full,
                "sql_baseline_ms": sql_baselines,
                "plans": plans,
            }
            if verbose:
                print(
                    f"\n{name}: {figure:.1f} ms (Django's full count: {full_ms:.1f} ms, its SQL alone "
                    f"{median(sql_baselines):.1f} ms), {len(queries)} queries  [{path}]"
                )
                print_plans(plans)
        results.append(_dashboard_row(server, cookie, raw, repeat=repeat, extra=extra, verbose=verbose))
    return {"rows": results, "extra": extra}


def _dashboard_row(server, cookie: str, raw, *, repeat: int, extra: dict, verbose: bool) -> Row:
    """The home page timed beside its own SQL run through raw psycopg (every query it ran is EXPLAINed)."""
    name, path = DASHBOARD
    measured = measure(lambda: server.request("GET", path, headers={"Cookie": cookie}), raw, repeat=repeat)
    extra["cases"][name] = {
        "path": path,
        "queries": measured.queries,
        "figures_ms": measured.figures,
        "sql_baseline_ms": measured.baselines,
        "plans": measured.plans,
    }
    if verbose:
        print(
            f"\n{name}: {measured.figure_ms:.1f} ms (its SQL alone {measured.baseline_ms:.1f} ms), "
            f"{len(measured.queries)} queries  [{path}]"
        )
        print_plans(measured.plans)
    return Row(
        name,
        "ms",
        measured.figure_ms,
        measured.baseline_ms,
        len(measured.queries),
        f"< {TARGET_MS:.0f} ms (vs its SQL)",
        measured.figure_ms < TARGET_MS,
        {"sql_baseline_ms": measured.baseline_ms, "full_count_queries": len(measured.queries)},
    )


def _is_list_query(sql: str) -> bool:
    text = sql.lstrip().upper()
    return text.startswith("SELECT") and ('"CLIPS"' in text or '"CONVERSIONS"' in text)
