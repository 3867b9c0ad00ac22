"""The local REST server under oversized, malformed and mislabelled bodies: refused early, in the SPEC's shape, still serving."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib.web.request_body import REQUEST_BODY_MAX_BYTES
from tests.local_runtime.conftest import RunningRuntime, http, raise_open_file_limit, start_runtime, wait_for

ANSWER_TIMEOUT = 10.0
SUBMISSION = json.dumps({"title": "chunked but clean"}).encode()


def open_socket(runtime: RunningRuntime) -> socket.socket:
    address = urlsplit(runtime.rest_url)
    return socket.create_connection((address.hostname, address.port), timeout=ANSWER_TIMEOUT)


def request_head(path: str, *headers: str, method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(connection: socket.socket) -> tuple[int, dict[str, str], Any]:
    response = HTTPResponse(connection)
    response.begin()
    raw = response.read()
    return response.status, dict(response.getheaders()), json.loads(raw) if raw else None


def assert_error(answer: tuple[int, dict[str, str], Any], status: int, code: str) -> None:
    got_status, _headers, body = answer
    assert got_status == status, answer
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body


def assert_still_serving(runtime: RunningRuntime) -> None:
    assert http("GET", f"{runtime.rest_url}/health").body == {"status": "ok"}
    assert http("POST", f"{runtime.rest_url}/submissions", {"title": "still here"}).status == 202


def test_a_64_mb_body_is_refused_by_its_declared_length_without_waiting_for_it(runtime: RunningRuntime) -> None:
    with open_socket(runtime) as connection:
        started = time.monotonic()
        connection.sendall(
            request_head("/submissions", "Content-Type: application/json", f"Content-Length: {64 * 1024 * 1024}")
        )
        connection.sendall(b'{"title": "' + b"x" * 4096)  # and then nothing more
        answer = read_answer(connection)
        elapsed = time.monotonic() - started

    assert_error(answer, 413, "PayloadTooLarge")
    assert str(REQUEST_BODY_MAX_BYTES) in answer[2]["error"]["message"]
    assert answer[1].get("Connection") == "close"
    assert elapsed < 3.0, elapsed
    assert_still_serving(runtime)


def test_a_content_length_of_10_to_the_15_gets_413_and_the_server_keeps_serving(runtime: RunningRuntime) -> None:
    with open_socket(runtime) as connection:
        connection.sendall(
            request_head("/submissions", "Content-Type: application/json", "Content-Length: 1000000000000000")
        )
        connection.sendall(b'{"title": "x"}')
        answer = read_answer(connection)

    assert_error(answer, 413, "PayloadTooLarge")
    assert_still_serving(runtime)


def test_a_large_body_announced_with_expect_100_continue_gets_413_instead_of_continue(runtime: RunningRuntime) -> None:
    with open_socket(runtime) as connection:
        connection.sendall(
            request_head(
                "/submissions", "Content-Type: application/json", "Content-Length: 67108864", "Expect: 100-continue"
            )
        )
        answer = read_answer(connection)

    assert_error(answer, 413, "PayloadTooLarge")
    assert_still_serving(runtime)


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "+14", "14, 15"])
def test_an_invalid_content_length_gets_400(runtime: RunningRuntime, length: str) -> None:
    with open_socket(runtime) as connection:
        connection.sendall(request_head("/submissions", "Content-Type: application/json", f"Content-Length: {length}"))
        connection.sendall(b'{"title": "x"}')
        answer = read_answer(connection)

    assert_error(answer, 400, "BadRequest")
    assert_still_serving(runtime)


def test_a_chunked_body_is_read_and_the_connection_stays_usable(runtime: RunningRuntime) -> None:
    half = len(SUBMISSION) // 2
    chunks = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (SUBMISSION[:half], SUBMISSION[half:]))
    with open_socket(runtime) as connection:
        connection.sendall(
            request_head("/submissions", "Content-Type: application/json", "Transfer-Encoding: chunked")
            + chunks
            + b"0\r\n\r\n"
        )
        status, _headers, body = read_answer(connection)
        assert status == 202, body
        connection.sendall(request_head("/health", method="GET"))  # the same kept-alive connection
        assert read_answer(connection)[0] == 200


def test_a_chunked_body_over_the_limit_is_refused_before_its_end(runtime: RunningRuntime) -> None:
    chunk = b"x" * (64 * 1024)
    with open_socket(runtime) as connection:
        connection.sendall(request_head("/submissions", "Content-Type: application/json", "Transfer-Encoding: chunked"))
        for _ in range(REQUEST_BODY_MAX_BYTES // len(chunk) + 1):  # just over the limit, never the last chunk
            connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        answer = read_answer(connection)

    assert_error(answer, 413, "PayloadTooLarge")
    assert_still_serving(runtime)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_a_json_body_sent_as_another_content_type_gets_415_in_the_error_shape(
    runtime: RunningRuntime, content_type: str
) -> None:
    with open_socket(runtime) as connection:
        body = b'{"title": "sent the curl -d way"}'
        connection.sendall(
            request_head("/submissions", f"Content-Type: {content_type}", f"Content-Length: {len(body)}") + body
        )
        answer = read_answer(connection)

    assert_error(answer, 415, "UnsupportedMediaType")
    assert "send Content-Type: application/json" in answer[2]["error"]["message"]


# --- stalled clients (SPEC §19): a runtime of their own, with a short REQUEST_READ_TIMEOUT_SECONDS ----------

READ_TIMEOUT = 2.0
STALLED_CLIENTS = 200
# A behaviour bound, not a benchmark: /health answers in milliseconds; waiting on a stalled socket
# would take the whole read timeout.
HEALTH_BOUND_SECONDS = READ_TIMEOUT / 2


@pytest.fixture(scope="module")
def short_timeout_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    raise_open_file_limit()
    running = start_runtime(tmp_path_factory.mktemp("stalled"), REQUEST_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT))
    try:
        yield running
    finally:
        exit_status = running.stop()
    assert exit_status == 0, running.output()[-3000:]


def seconds_until_closed(connection: socket.socket, started: float) -> float:
    """Wait for the server to close ``connection`` (EOF or reset) and return when it did, from ``started``."""
    connection.settimeout(READ_TIMEOUT * 5)
    try:
        assert connection.recv(1024) == b"", "the server answered a request that was never complete"
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def stalled_lines(runtime: RunningRuntime) -> list[str]:
    return [line for line in runtime.output().splitlines() if "dropped a stalled client" in line]


def test_a_client_that_sends_half_a_request_line_is_closed_after_the_read_timeout(
    short_timeout_runtime: RunningRuntime,
) -> None:
    before = len(stalled_lines(short_timeout_runtime))
    with open_socket(short_timeout_runtime) as connection:
        started = time.monotonic()
        connection.sendall(b"GET /hea")
        elapsed = seconds_until_closed(connection, started)

    assert READ_TIMEOUT * 0.9 <= elapsed < READ_TIMEOUT * 4, elapsed
    wait_for(lambda: len(stalled_lines(short_timeout_runtime)) == before + 1)
    line = stalled_lines(short_timeout_runtime)[-1]
    assert "waiting for the request line" in line and "8 bytes received" in line, line
    assert "Traceback" not in short_timeout_runtime.output()
    assert_still_serving(short_timeout_runtime)


def test_a_client_that_sends_its_headers_and_stalls_in_the_body_is_closed_after_the_read_timeout(
    short_timeout_runtime: RunningRuntime,
) -> None:
    before = len(stalled_lines(short_timeout_runtime))
    with open_socket(short_timeout_runtime) as connection:
        started = time.monotonic()
        connection.sendall(request_head("/submissions", "Content-Type: application/json", "Content-Length: 40"))
        connection.sendall(b'{"title": "never fini')
        time.sleep(READ_TIMEOUT / 2)
        connection.sendall(b"shed")  # trickling does not extend the deadline: it bounds the whole request
        elapsed = seconds_until_closed(connection, started)

    assert READ_TIMEOUT * 0.9 <= elapsed < READ_TIMEOUT * 4, elapsed
    wait_for(lambda: len(stalled_lines(short_timeout_runtime)) == before + 1)
    assert "waiting for the body" in stalled_lines(short_timeout_runtime)[-1]
    assert "Traceback" not in short_timeout_runtime.output()
    assert_still_serving(short_timeout_runtime)


def test_a_chunked_body_that_stalls_is_closed_after_the_read_timeout(short_timeout_runtime: RunningRuntime) -> None:
    with open_socket(short_timeout_runtime) as connection:
        started = time.monotonic()
        connection.sendall(
            request_head("/submissions", "Content-Type: application/json", "Transfer-Encoding: chunked")
            + b'5\r\n{"tit\r\n'
        )
        elapsed = seconds_until_closed(connection, started)

    assert READ_TIMEOUT * 0.9 <= elapsed < READ_TIMEOUT * 4, elapsed


def test_200_stalled_clients_do_not_delay_health(short_timeout_runtime: RunningRuntime) -> None:
    stalled: list[socket.socket] = []
    try:
        for index in range(STALLED_CLIENTS):
            connection = open_socket(short_timeout_runtime)
            stalled.append(connection)
            if index % 2:  # half in the request line, half in the body
                connection.sendall(b"GET /health HTT")
            else:
                connection.sendall(request_head("/submissions", "Content-Length: 100") + b'{"ti')
        opened_at = time.monotonic()

        timings = []
        for _ in range(5):
            started = time.monotonic()
            assert http("GET", f"{short_timeout_runtime.rest_url}/health").body == {"status": "ok"}
            timings.append(time.monotonic() - started)
        submitted = http("POST", f"{short_timeout_runtime.rest_url}/submissions", {"title": "among stalled clients"})
        served_within = time.monotonic() - opened_at

        assert max(timings) < HEALTH_BOUND_SECONDS, timings
        assert submitted.status == 202, submitted
        # Every stalled client was still open while /health answered, and each is dropped at its deadline.
        assert served_within < READ_TIMEOUT, served_within
        for connection in stalled:
            assert seconds_until_closed(connection, opened_at) < READ_TIMEOUT * 4
    finally:
        for connection in stalled:
            connection.close()
    assert_still_serving(short_timeout_runtime)


def test_a_kept_alive_connection_that_goes_quiet_is_closed_without_a_stall_line(
    short_timeout_runtime: RunningRuntime,
) -> None:
    before = len(stalled_lines(short_timeout_runtime))
    with open_socket(short_timeout_runtime) as connection:
        connection.sendall(request_head("/health", method="GET"))
        assert read_answer(connection)[0] == 200
        started = time.monotonic()
        assert seconds_until_closed(connection, started) < READ_TIMEOUT * 4
    assert len(stalled_lines(short_timeout_runtime)) == before
