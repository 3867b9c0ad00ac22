"""Rate limits through the local runtime (SPEC §18): the socket's peer is the source IP, whatever X-Forwarded-For says,
100 concurrent submissions from one address with a limit of 10 let exactly 10 through, and the README's client
example submits as its platform client."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.local_runtime.conftest import RunningRuntime, raise_open_file_limit, start_runtime

LIMIT = 10
# Each test sends from addresses of its own in 127.0.0.0/8 (every one is the loopback on Linux),
# so no two tests share a counter.
_addresses = (f"127.0.{block}.{host}" for block, host in itertools.product(range(1, 255), range(1, 255)))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    raise_open_file_limit()
    running = start_runtime(
        tmp_path_factory.mktemp("rate-limited"), RATE_LIMIT_SUBMISSIONS_PER_MINUTE=str(LIMIT), RISK_CHECK="off"
    )
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()[-3000:]


def post_submission(
    runtime: RunningRuntime, *, source: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    """One POST /submissions from the source address ``source`` (the socket is bound to it)."""
    address = urlsplit(runtime.rest_url)
    connection = http.client.HTTPConnection(
        address.hostname or "", address.port, timeout=60, source_address=(source, 0)
    )
    try:
        body = json.dumps({"title": "clean", "body": "A clean article"})
        connection.request(
            "POST", "/submissions", body=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def _minute(moment: float) -> int:
    return int(moment // 60)


def test_a_hundred_concurrent_submissions_from_one_address_let_exactly_the_limit_through(limited: RunningRuntime):
    # The counter is per minute of the wall clock: a run that straddles a minute is run again from a
    # fresh address (at most twice more), so the count compared is always one window's.
    for _attempt in range(3):
        source = next(_addresses)
        started = time.time()
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(lambda _, source=source: post_submission(limited, source=source), range(100)))
        if _minute(started) == _minute(time.time()):
            break
    statuses = [status for status, _headers in answers]
    assert statuses.count(202) == LIMIT, statuses
    assert statuses.count(429) == 100 - LIMIT, statuses
    assert all(1 <= int(headers["Retry-After"]) <= 60 for status, headers in answers if status == 429)


def test_x_forwarded_for_does_not_change_the_address_that_is_counted(limited: RunningRuntime):
    for _attempt in range(3):
        source, neighbour = next(_addresses), next(_addresses)
        started = time.time()
        spoofed = [
            post_submission(limited, source=source, headers={"X-Forwarded-For": f"203.0.113.{number}"})[0]
            for number in range(LIMIT + 1)
        ]
        other = post_submission(limited, source=neighbour, headers={"X-Forwarded-For": source})[0]
        if _minute(started) == _minute(time.time()):
            break
    # Eleven "different" forwarded addresses from one socket address: the eleventh is over the limit.
    assert spoofed == [202] * LIMIT + [429]
    # Claiming to be the limited address from another socket address changes nothing either.
    assert other == 202


def test_the_readmes_python_client_example_submits_as_the_platform_client(limited: RunningRuntime, monkeypatch):
    """The README's ~10-line example, run as written against the runtime, is recorded as its client."""
    import re

    from tests.local_runtime.conftest import ROOT, http

    created = http("POST", f"{limited.rest_url}/clients", {"name": "readme-cms"}, limited.admin_headers)
    assert created.status == 201, created
    readme = (ROOT / "README.md").read_text()
    (example,) = re.findall(r"```python\n(import json, os, urllib.request, uuid\n.*?)```", readme, flags=re.DOTALL)
    monkeypatch.setenv("MODERATION_URL", limited.rest_url)
    monkeypatch.setenv("MODERATION_CLIENT_TOKEN", created.body["token"])
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # the documented code, unchanged

    accepted = namespace["submit_article"]("Hello from the platform", "A clean article")  # type: ignore[operator]

    history = http(
        "GET", f"{limited.rest_url}/submissions/{accepted['submissionId']}/history", None, limited.admin_headers
    )
    (submitted,) = [event for event in history.body["items"] if event["event"] == "submitted"]
    assert submitted["submittedBy"] == "readme-cms"
