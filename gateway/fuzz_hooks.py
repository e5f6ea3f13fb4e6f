"""Schemathesis hooks of ``python -m gateway.fuzz`` (``make fuzz``), loaded through ``SCHEMATHESIS_HOOKS``.

- The fuzzer may revoke any key but the one it fuzzes with (``FUZZ_KEY_ID``): a revoke of that key
  (``POST /api/v1/api-keys/{id}/revoke/`` or ``DELETE /api/v1/api-keys/{id}/``), generated or found through a
  stateful link, is sent for the spare key of the same user (``FUZZ_SPARE_KEY_ID``) instead, so the operation
  is still exercised on a real key and every later request still authenticates. Likewise a write to its own
  user's row under ``/api/v1/users/{id}/`` (an ADMIN deleting, deactivating or demoting itself once another
  ADMIN exists) is sent for a spare user of the same role (``FUZZ_USER_ID``, ``FUZZ_SPARE_USER_ID``);
  ``/users/me/`` is fuzzed as it is (it cannot change the role or deactivate).
- Positive cases name the scratch database's rows in their references (``user``, ``asset``, ``clip``,
  ``campaign``, ``attributed_clip`` in the query and the body: ``FUZZ_REFERENCES``, JSON), so they reach real
  reads and writes rather than "no such row" answers, as the in-process test's cases do.
- Failures are judged by the rules both fuzz runs share (``gateway/fuzz_rules.py``): a 400 to schema-valid
  data for a documented rule JSON Schema cannot state, a 412/422 to an ``If-Match``/``Idempotency-Key`` the
  case sent, an ingest batch refusing its invalid items in ``errors``, a "wrong" value of a list-of-strings
  query parameter that is such a list on the wire.
"""

import json
import os

import schemathesis

from gateway.fuzz_rules import conditional_rejection, items_refused, query_valid_as_sent, semantic_rules

REVOKING = {("POST", "/api/v1/api-keys/{id}/revoke/"), ("DELETE", "/api/v1/api-keys/{id}/")}
USER_WRITES = {("PUT", "/api/v1/users/{id}/"), ("PATCH", "/api/v1/users/{id}/"), ("DELETE", "/api/v1/users/{id}/")}
REFERENCES = json.loads(os.environ.get("FUZZ_REFERENCES") or "{}")


@schemathesis.hook
def before_call(context, case, kwargs):
    swaps = {
        frozenset(REVOKING): ("FUZZ_KEY_ID", "FUZZ_SPARE_KEY_ID"),
        frozenset(USER_WRITES): ("FUZZ_USER_ID", "FUZZ_SPARE_USER_ID"),
    }
    for operations, (own, spare) in swaps.items():
        if (case.method.upper(), case.operation.path) not in operations:
            continue
        own_id, spare_id = os.environ.get(own), os.environ.get(spare)
        if own_id and spare_id and str((case.path_parameters or {}).get("id", "")).lower() == own_id:
            case.path_parameters["id"] = spare_id


@schemathesis.hook
def map_case(context, case):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    for container in (case.query, case.body):
        if isinstance(container, dict):
            for name, row_id in REFERENCES.items():
                if isinstance(container.get(name), str):
                    container[name] = row_id
    return case


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """False (not a failure) for the answers ``gateway/fuzz_rules.py`` lets through, and only for its check.

    Each answer let through is tallied by its reason in ``FUZZ_FILTER_LOG`` (one line each), which
    ``gateway/fuzz.py`` sums up after the run.
    """
    checks = set(getattr(failure, "checks", ()))
    reasons = set()
    judged = {"positive_data_acceptance", "negative_data_rejection"}
    if checks & judged and conditional_rejection(case, response):
        reasons = {f"{response.status_code} to the If-Match or Idempotency-Key sent"}
    if not reasons and "positive_data_acceptance" in checks:
        reasons = semantic_rules(case, response)
    if not reasons and "negative_data_rejection" in checks:
        if items_refused(case, response):
            reasons = {"ingest batch refusing items in errors"}
        elif query_valid_as_sent(case):
            reasons = {"query parameter valid as sent"}
    if reasons and os.environ.get("FUZZ_FILTER_LOG"):
        with open(os.environ["FUZZ_FILTER_LOG"], "a") as log:
            log.writelines(f"{reason}\n" for reason in sorted(reasons))
    return not reasons
