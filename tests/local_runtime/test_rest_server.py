"""The local REST server under oversized, malformed and mislabelled bodies: refused early, in the SPEC's shape, still serving."""

from __future__ import annotations

import json
import socket
import time
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib.web.request_body import REQUEST_BODY_MAX_BYTES
from tests.local_runtime.conftest import RunningRuntime, http

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
