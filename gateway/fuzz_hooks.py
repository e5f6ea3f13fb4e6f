"""Schemathesis hooks of ``python -m gateway.fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``).

The fuzzer may revoke any key but the one it fuzzes with (``FUZZ_KEY_ID``): a revoke of that key
(``POST /api/v1/api-keys/{id}/revoke/`` or ``DELETE /api/v1/api-keys/{id}/``), generated or found through
a stateful link, is sent for the spare key of the same user (``FUZZ_SPARE_KEY_ID``) instead, so the
operation is still exercised on a real key and every later request still authenticates.
"""

import os

import schemathesis

REVOKING = {("POST", "/api/v1/api-keys/{id}/revoke/"), ("DELETE", "/api/v1/api-keys/{id}/")}


@schemathesis.hook
def before_call(context, case, kwargs):
    if (case.method.upper(), case.operation.path) not in REVOKING:
        return
    key_id = os.environ.get("FUZZ_KEY_ID")
    if key_id and str((case.path_parameters or {}).get("id", "")).lower() == key_id:
        case.path_parameters["id"] = os.environ["FUZZ_SPARE_KEY_ID"]
