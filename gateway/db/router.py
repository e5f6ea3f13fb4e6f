"""Read replicas behind Django's router API, with read-your-writes pinning (docs/SCALING.md).

``ReplicaRouter`` sends every write to the primary (``default``) and a read to a healthy replica only when
all of these hold; otherwise the read goes to the primary too:

- it runs for a request (commands and jobs read the primary: they read what they have just written);
- the request has not written, is not the admin's (staff edit what they see), and its client is not pinned:
  a client that wrote reads the primary for ``REPLICA_PIN_SECONDS`` afterwards, per API key and per session,
  the pin kept in the shared cache so every app server honours it;
- the primary's connection is not inside a transaction (``atomic``): a transaction reads what it locks and
  writes; ``select_for_update`` is a write as far as routing goes (Django asks ``db_for_write``);
- the model's app is not in ``REPLICA_PRIMARY_APPS`` (who the client is and what it may do);
- a replica is up and lags no more than ``REPLICA_MAX_LAG_SECONDS`` (``gateway/db/replicas.py``), and a
  connection to it can be had now; one that cannot is taken out until the next check.

One replica is chosen per request, so all of a request's replica reads see one snapshot of history.
Migrations run on the primary only.

django-multidb-router (the maintained library for this) pins by a browser cookie and a thread-local, picks
replicas without health or lag checks and does not see transactions, which would leave every part of the
above to override; this is Django's router API directly.
"""

import functools
import hashlib
import logging
import math
import random
import re

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, Error, connections

from gateway import request_context
from gateway.db.replicas import health, replica_aliases

logger = logging.getLogger(__name__)

# A statement that changes data, and the table it changes when it names one first.
WRITE_STATEMENT = re.compile(
    r"\s*(?:(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(?P<table>\w+)|MERGE|COPY|TRUNCATE|WITH\b.*\b(?:INSERT|UPDATE|DELETE|MERGE)\b)",
    re.IGNORECASE | re.DOTALL,
)


class ReplicaRouter:
    """Writes, transactions and pinned clients on the primary; other reads of a request on a healthy replica."""

    def db_for_read(self, model, **hints):
        context = request_context.current()
        if context is None or not self.may_read_a_replica(model, context):
            return DEFAULT_DB_ALIAS
        if context.read_alias is None:
            context.read_alias = choose_replica()
        return context.read_alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Every alias holds the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica replays the primary's migrations; any other database (a bench's own) is the caller's choice.
        return False if db in replica_aliases() else None

    @staticmethod
    def may_read_a_replica(model, context: request_context.RequestContext) -> bool:
        return not (
            context.wrote
            or context.primary_only
            or model._meta.app_label in settings.REPLICA_PRIMARY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
            or not replica_aliases()
            or is_pinned(context)
        )


def choose_replica() -> str:
    """A usable replica with a connection ready, or the primary when there is none."""
    candidates = health.usable()
    random.shuffle(candidates)
    for alias in candidates:
        try:
            connections[alias].ensure_connection()
        except Error as error:
            health.mark_down(alias, error)
            connections[alias].close()
            continue
        return alias
    return DEFAULT_DB_ALIAS


def is_pinning_write(sql: str) -> bool:
    """Whether ``sql`` changes data a replica could serve stale.

    A write to a table of ``REPLICA_PRIMARY_APPS`` (an API key's last use, a session, a login attempt) does not
    count: those tables are always read from the primary.
    """
    write = WRITE_STATEMENT.match(sql)
    return write is not None and write["table"] not in primary_tables()


@functools.cache
def primary_tables() -> frozenset[str]:
    return frozenset(
        model._meta.db_table for model in apps.get_models() if model._meta.app_label in settings.REPLICA_PRIMARY_APPS
    )


def pin_key(context: request_context.RequestContext) -> str | None:
    """The cache key of the client's pin: its API key's prefix, else its session; None for anonymous clients."""
    if context.api_key_prefix:
        return f"replica-pin:api-key:{context.api_key_prefix}"
    if context.session_key:
        # The session key is a credential: only a digest of it goes into the cache.
        return f"replica-pin:session:{hashlib.sha256(context.session_key.encode()).hexdigest()[:32]}"
    return None


def is_pinned(context: request_context.RequestContext) -> bool:
    """Whether the client wrote within REPLICA_PIN_SECONDS (looked up once per request, once it is known)."""
    if context.pinned is None:
        key = pin_key(context)
        if key is None:
            return False
        context.pinned = bool(cache.get(key))
    return context.pinned


class ReadYourWritesMiddleware:
    """Notes whether a request writes to the primary and, when it did, pins its client there for a while.

    Writes are seen on the primary's connection itself (every INSERT, UPDATE, DELETE, ... it executes, raw SQL
    included), so no write path can forget to say so. ``SELECT ... FOR UPDATE`` is routed to the primary as a
    write but pins nothing by itself. The admin's requests read the primary throughout.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = request_context.current()
        if context is None or not replica_aliases():
            return self.get_response(request)
        context.session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(self.note_writes):
            response = self.get_response(request)
        if context.wrote:
            self.pin(request, context)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        context = request_context.current()
        if context is not None and "admin" in request.resolver_match.namespaces:
            context.primary_only = True

    @staticmethod
    def note_writes(execute, sql, params, many, query_context):
        context = request_context.current()
        if context is not None and not context.wrote:
            context.wrote = is_pinning_write(sql)
        return execute(sql, params, many, query_context)

    @staticmethod
    def pin(request, context: request_context.RequestContext) -> None:
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            context.session_key = session.session_key  # a login changes it
        key = pin_key(context)
        if key is not None:
            # Cache timeouts are whole seconds (Redis): a pin lasts at least REPLICA_PIN_SECONDS.
            cache.set(key, True, timeout=math.ceil(settings.REPLICA_PIN_SECONDS))
