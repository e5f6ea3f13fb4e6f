"""``make fuzz`` on a small scale, so it cannot rot: Schemathesis's CLI against the live server finds nothing.

The full run (``make fuzz``: ``make serve`` and ``make run`` settings, ADMIN and USER, seeds 1, 2 and 3, 30
examples per operation, fuzz/__main__.py) takes long; this one runs ``make serve``'s settings (gunicorn,
DEBUG off) with both keys, seed 1 and a few examples per operation, every default check, on a fresh
scratch database each. The phases are examples, fuzzing and stateful: the coverage phase (thousands of
boundary cases whatever the number of examples) runs in process in ``test_schemathesis.py`` and in the
full ``make fuzz``. A couple of minutes on 2 cores.
"""

import subprocess
import sys

from django.conf import settings

MAX_EXAMPLES = 2


def test_schemathesis_finds_nothing_against_the_live_server(tmp_path):
    command = [
        *(sys.executable, "-m", "fuzz", "--modes", "serve", "--keys", "admin,user", "--seeds", "1"),
        *("--max-examples", str(MAX_EXAMPLES), "--phases", "examples,fuzzing,stateful", "--out", str(tmp_path)),
    ]
    result = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=900)
    failures = "\n".join(
        output.read_text().partition("=== FAILURES ===")[2][-20_000:]
        for output in sorted(tmp_path.glob("*.txt"))
        if "=== FAILURES ===" in output.read_text()
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr[-5000:]}\n{failures}"
    assert result.stdout.count(": exit 0: ") == 2, result.stdout
