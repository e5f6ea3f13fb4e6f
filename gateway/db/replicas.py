"""Which read replicas may serve reads: reachable, in recovery, and no further behind than REPLICA_MAX_LAG_SECONDS.

Each process checks every replica at most once every ``REPLICA_CHECK_SECONDS``, never per query: the read
that finds the last check too old runs the next one (one thread at a time; the others keep using the last
result meanwhile), on a connection of its own that is closed afterwards. Replay lag is PostgreSQL's own
figure: ``now() - pg_last_xact_replay_timestamp()``, or 0 when the replica has replayed all the WAL it
received (an idle primary writes nothing, and the age of the last replayed transaction then grows without
the replica being behind). A replica that cannot be reached is "down"; one that lags is "lagging"; a server
that is not in recovery (promoted, or a wrong URL) is "not_replica". Each change of state is logged once.

Between two checks, the router marks a replica down at once when it cannot get a connection to it
(``mark_down``); reads then go to the primary until a check finds it well again.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

OK = "ok"
LAGGING = "lagging"
DOWN = "down"
NOT_REPLICA = "not_replica"

LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""


@dataclass
class ReplicaState:
    """What the last check (or failed connection) found out about one replica alias."""

    state: str
    lag_seconds: float | None = None
    checked_at: float = -math.inf  # time.monotonic()
    error: str | None = None

    def as_dict(self) -> dict:
        lag = None if self.lag_seconds is None else round(self.lag_seconds, 3)
        return {"state": self.state, "lag_seconds": lag, **({"error": self.error} if self.error else {})}


def replica_aliases() -> list[str]:
    """The database aliases of the configured replicas (``replica1``, ...), in order."""
    return [alias for alias, database in settings.DATABASES.items() if database.get("REPLICA")]


class ReplicaHealth:
    """The state of every replica in this process, refreshed at most once every REPLICA_CHECK_SECONDS."""

    def __init__(self):
        self._states: dict[str, ReplicaState] = {}
        self._checking = threading.Lock()

    def usable(self) -> list[str]:
        """The aliases of the replicas that may serve reads now (checking first when the last check is old)."""
        self.check_if_due()
        return [alias for alias in replica_aliases() if self.state(alias).state == OK]

    def state(self, alias: str) -> ReplicaState:
        return self._states.get(alias) or ReplicaState(state=DOWN, error="not checked yet")

    def states(self) -> dict[str, ReplicaState]:
        return {alias: self.state(alias) for alias in replica_aliases()}

    def check_if_due(self) -> None:
        oldest_fresh = time.monotonic() - settings.REPLICA_CHECK_SECONDS
        due = [alias for alias in replica_aliases() if self.state(alias).checked_at <= oldest_fresh]
        if not due:
            return
        # The first check of a process is waited for; later ones run in one thread while the others go on.
        never_checked = any(alias not in self._states for alias in due)
        if not self._checking.acquire(blocking=never_checked):
            return
        try:
            for alias in due:
                self.check(alias)
        finally:
            self._checking.release()

    def check(self, alias: str) -> ReplicaState:
        """Connect to the replica and read its replay lag; record and return what was found."""
        params = connections[alias].get_connection_params()
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                in_recovery, lag = conn.execute(LAG_SQL).fetchone()
        except psycopg.Error as error:
            return self._record(alias, ReplicaState(state=DOWN, error=_one_line(error)))
        if not in_recovery:
            return self._record(alias, ReplicaState(state=NOT_REPLICA, error="the server is not in recovery"))
        lag = float(lag)
        state = OK if lag <= settings.REPLICA_MAX_LAG_SECONDS else LAGGING
        return self._record(alias, ReplicaState(state=state, lag_seconds=lag))

    def mark_down(self, alias: str, error: BaseException) -> None:
        """Take ``alias`` out of rotation until the next check finds it well (a connection to it failed)."""
        self._record(alias, ReplicaState(state=DOWN, error=_one_line(error)))

    def _record(self, alias: str, found: ReplicaState) -> ReplicaState:
        found.checked_at = time.monotonic()
        previous = self._states.get(alias)
        self._states[alias] = found
        if previous is None or previous.state != found.state:
            if found.state == OK:
                logger.info("replica %s serves reads (lag %.3f s)", alias, found.lag_seconds)
            elif found.state == LAGGING:
                logger.warning(
                    "replica %s skipped: it lags %.1f s (REPLICA_MAX_LAG_SECONDS=%s); reads go to the primary",
                    alias,
                    found.lag_seconds,
                    settings.REPLICA_MAX_LAG_SECONDS,
                )
            else:
                logger.warning("replica %s skipped (%s): %s; reads go to the primary", alias, found.state, found.error)
        return found


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


health = ReplicaHealth()
