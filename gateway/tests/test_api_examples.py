"""docs/API.md runs as written: every ``sh`` block, in order, in one bash, against a live server.

The server is the production one (gunicorn) on the test database, emptied and seeded with the
development data set, as ``make run`` serves it to a newcomer, with a job worker beside it as ``make run``
starts one (the evaluation with ``apply`` is a job the examples poll). ``curl`` is wrapped to record each
request's method, URL and status. Each example must answer as its comment says: a comment that starts
with a JSON value (``# {"detail":"Not found."}``, ``# 204``, ``# [0.92, 0.81, 0.77]``) is compared
with what the command printed, and names the status too (an error body is a 4xx, ``HTTP/1.1 401`` is a
401, anything else a 2xx). The whole document then runs a second time on the same database: the
examples must keep working on data that has seen them (same statuses, same shapes of answers).
Finally every operation of the OpenAPI schema must have been called by some example.
"""

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from gateway.tests.job_helpers import Worker

API_DOC = Path(settings.BASE_DIR) / "docs" / "API.md"
DOCUMENTED_BASE = "http://127.0.0.1:8000"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
RECORD = re.compile(r"^CURL (\d{3}) (\S+) (\S+)$")
MARK = "@@example "

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq (.ci/run installs them)"
    ),
]

# bash: stop at the first failing command (a jq that cannot parse an answer), and record each request.
PRELUDE = r"""set -eu
curl() {
  local format="" arguments=()
  while (($#)); do
    if [[ $1 == -w || $1 == --write-out ]]; then format=$2; shift 2; else arguments+=("$1"); shift; fi
  done
  command curl "${arguments[@]}" --write-out "$format%{stderr}CURL %{http_code} %{method} %{url_effective}\n"
}
"""


@dataclass
class Example:
    """One shell command of the document (it may span lines) and what its comment says it answers."""

    source: str
    line: int
    comment: str = ""
    line_end: int = 0
    expected: object = None
    has_expected: bool = False
    output: str = ""
    requests: list = field(default_factory=list)

    def parse_comment(self):
        text = self.comment.strip()
        try:
            self.expected, _ = json.JSONDecoder().raw_decode(text)
            self.has_expected = True
        except ValueError:
            pass

    @property
    def expected_status(self) -> range:
        if match := re.match(r"HTTP/1\.1 (\d{3})", self.comment.strip()):
            return range(int(match[1]), int(match[1]) + 1)
        if self.has_expected and isinstance(self.expected, int) and 100 <= self.expected < 600:
            return range(self.expected, self.expected + 1)  # `-w '%{http_code}'` examples print the status
        if is_error_body(self.expected):
            return range(404, 405) if self.expected.get("detail") == "Not found." else range(400, 500)
        return range(200, 300)


def is_error_body(value) -> bool:
    """``{"detail": "..."}`` or ``{"field": ["message", ...], ...}``."""
    if not isinstance(value, dict) or not value:
        return False
    if set(value) == {"detail"}:
        return True
    return all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in value.values())


def split_commands(block: str, first_line: int) -> list[Example]:
    """The commands of a block, by bash's quoting rules as far as the document uses them."""
    examples, current, start = [], [], None
    quote, depth = None, 0
    lines = block.split("\n")
    for offset, line in enumerate(lines):
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            if (
                examples
                and not examples[-1].comment
                and line.lstrip().startswith("#")
                and examples[-1].line_end + 1 == offset
            ):
                examples[-1].comment = line.lstrip()[1:]
                examples[-1].line_end = offset
            continue
        if not current:
            start = offset
        code, comment = scan(line, quote, depth)
        quote, depth = code
        current.append(line)
        if quote is None and depth == 0 and not line.rstrip().endswith("\\"):
            examples.append(Example("\n".join(current), first_line + start, comment or "", line_end=offset))
            current = []
    assert not current, f"an unterminated command in the block at line {first_line}"
    for example in examples:
        example.parse_comment()
    return examples


def scan(line: str, quote, depth):
    """Carry the open quote and ``$(`` depth across ``line``; a trailing ``# comment`` outside quotes."""
    index = 0
    while index < len(line):
        char = line[index]
        if quote == "'":
            quote = None if char == "'" else quote
        elif quote == '"':
            if char == "\\":
                index += 1
            elif char == '"':
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 1
        elif line.startswith("$(", index):
            depth += 1
            index += 1
        elif char == ")" and depth:
            depth -= 1
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return (quote, depth), line[index + 1 :]
        index += 1
    return (quote, depth), None


def document_examples() -> list[Example]:
    text = API_DOC.read_text()
    examples = []
    for match in SH_BLOCK.finditer(text):
        first_line = text.count("\n", 0, match.start(1)) + 1
        examples += split_commands(match[1], first_line)
    return examples


def run_document(base_url: str, tmp_path: Path) -> list[Example]:
    examples = document_examples()
    script = [PRELUDE]
    for number, example in enumerate(examples):
        # A mark on a line of its own: an answer printed without a final newline ends before it.
        script.append(f'printf "\\n{MARK}{number}\\n"; printf "\\n{MARK}{number}\\n" >&2')
        script.append(example.source.replace(DOCUMENTED_BASE, base_url))
    path = tmp_path / "api-examples.sh"
    path.write_text("\n".join(script) + "\n")
    result = subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=300)
    outputs, errors = sections(result.stdout), sections(result.stderr)
    last = max(errors, default=-1)
    assert result.returncode == 0, (
        f"docs/API.md line {examples[last].line} failed (exit {result.returncode}):\n"
        f"{examples[last].source}\n--- stderr:\n{result.stderr[-3000:]}"
    )
    for number, example in enumerate(examples):
        example.output = outputs.get(number, "")
        example.requests = [
            RECORD.match(line).groups() for line in errors.get(number, "").splitlines() if RECORD.match(line)
        ]
    return examples


def sections(stream: str) -> dict[int, str]:
    """What was written between one example's mark and the next, by example number."""
    found, number = {}, None
    for line in stream.splitlines(keepends=True):
        if line.startswith(MARK):
            number = int(line[len(MARK) :])
            found[number] = ""
        elif number is not None:
            found[number] += line
    return found


def same_shape(expected, actual, *, exact: bool) -> bool:
    """Whether ``actual`` has the type and keys of ``expected`` (and its values, when ``exact``).

    Placeholders in the document (``"<the admin's id>"``, ``…``) stand for any string; floats are compared
    to three significant digits (Monte Carlo confidences, search scores); an error body's ``request_id``
    need not be shown.
    """
    if isinstance(expected, dict):
        if isinstance(actual, dict) and "request_id" not in expected:
            # Every error body carries the request's id (docs/API.md, "Errors"); the examples leave it out.
            actual = {key: value for key, value in actual.items() if key != "request_id"}
        return (
            isinstance(actual, dict)
            and set(expected) == set(actual)
            and all(same_shape(value, actual[key], exact=exact) for key, value in expected.items())
        )
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if exact:
            return len(expected) == len(actual) and all(
                same_shape(e, a, exact=True) for e, a in zip(expected, actual, strict=True)
            )
        return not expected or not actual or all(same_shape(expected[0], item, exact=False) for item in actual)
    if isinstance(expected, bool) or expected is None:
        return (actual == expected) if exact else (actual is None or isinstance(actual, bool) or expected is None)
    if isinstance(expected, int | float):
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        return not exact or math.isclose(expected, actual, rel_tol=1e-3)
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        return not exact or "<" in expected or "…" in expected or expected == actual
    return expected == actual


def check(examples: list[Example], *, exact: bool) -> list[str]:
    failures = []
    for example in examples:
        where = f"docs/API.md line {example.line}: {example.source.splitlines()[0][:100]}"
        for status, method, url in example.requests:
            if int(status) not in example.expected_status:
                failures.append(f"{where}\n  {method} {url} answered {status}, documented {example.expected_status}")
        if example.has_expected and not example.comment.strip().startswith("HTTP/"):
            try:
                actual = json.loads(example.output)
            except ValueError:
                failures.append(f"{where}\n  printed {example.output!r}, documented {example.expected!r}")
                continue
            if not same_shape(example.expected, actual, exact=exact):
                failures.append(f"{where}\n  printed {actual!r}, documented {example.expected!r}")
    return failures


def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def operation_of(method: str, url: str, operations: set[tuple[str, str]]) -> tuple[str, str] | None:
    """The schema operation (method, path template) a request called; a literal path beats a templated one."""
    path = "/" + url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
    matches = [
        (template.count("{"), (verb, template))
        for verb, template in operations
        if verb == method and re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path)
    ]
    return min(matches)[1] if matches else None


@pytest.fixture
def seeded_server(production_server, empty_queue, tmp_path):
    call_command("seed", force=True, verbosity=0)
    worker = Worker(tmp_path / "worker.log")
    yield f"http://127.0.0.1:{production_server.port}"
    worker.stop()


# A polling loop (``for ... done``) makes as many requests as it needs.
LOOP = re.compile(r"^\s*(for|until|while)\b", re.MULTILINE)


def test_every_example_of_the_api_document_answers_as_documented_twice(seeded_server, tmp_path):
    first = run_document(seeded_server, tmp_path)
    failures = check(first, exact=True)
    assert not failures, "\n".join(failures)
    # Every curl of the document ran (none hidden behind a failing one) and made one request, loops at least one.
    straight = [example for example in first if not LOOP.search(example.source)]
    curls = sum(len(re.findall(r"(?<![\w-])curl ", example.source)) for example in straight)
    assert sum(len(example.requests) for example in straight) == curls
    assert all(example.requests for example in first if LOOP.search(example.source))

    again = run_document(seeded_server, tmp_path)
    failures = check(again, exact=False)
    assert not failures, "\n".join(failures)

    operations = schema_operations()
    called = {operation_of(method, url, operations) for example in first for _, method, url in example.requests}
    missing = sorted(operations - called)
    assert missing == [], "operations of the schema without an example in docs/API.md:\n" + "\n".join(map(str, missing))
