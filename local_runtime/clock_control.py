"""``/_local/clock`` on the local AWS endpoint: read and advance the Step Functions interpreter's clock.

With the default 7-day ``REVIEW_TIMEOUT_SECONDS`` nobody waits a week to see a review expire
locally: ``POST /_local/clock/advance`` with ``{"seconds": 604800}`` moves the interpreter's
clock (a :class:`~local_runtime.interpreter_clock.RealTimeClock`) a week ahead, and every task
whose deadline that reaches times out now, through the definition's ``Catch``, as on AWS. Only
the interpreter's timers move: the app's own clock (signed-link ``expires``, the ``deadline`` a
review shows) stays real time. The endpoint sits behind the same SigV4 check as moto (``sigv4.SignedOnly``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from local_runtime.interpreter_clock import ManualClock

logger = logging.getLogger(__name__)

PREFIX = "/_local/"
CLOCK_PATH = "/_local/clock"
ADVANCE_PATH = "/_local/clock/advance"
# Step Functions' own ceiling for TimeoutSeconds (about three years): no deadline lies further ahead.
MAX_ADVANCE_SECONDS = 99_999_999

StartResponse = Callable[..., Any]


class ClockControl:
    """WSGI middleware: answers ``/_local/clock`` and ``/_local/clock/advance``; passes every other path on."""

    def __init__(self, application: Any, clock: ManualClock) -> None:
        self._application = application
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self._application(environ, start_response)  # type: ignore[no-any-return]
        method = environ.get("REQUEST_METHOD", "GET")
        if path == CLOCK_PATH:
            if method != "GET":
                return _error(start_response, "405 Method Not Allowed", "MethodNotAllowed", f"{path} takes GET")
            return _json(start_response, "200 OK", self._state())
        if path == ADVANCE_PATH:
            if method != "POST":
                return _error(start_response, "405 Method Not Allowed", "MethodNotAllowed", f"{path} takes POST")
            try:
                seconds = parse_advance(_read_body(environ))
            except ValueError as error:
                return _error(start_response, "400 Bad Request", "ValidationException", str(error))
            timed_out = self._clock.advance(seconds)
            state = self._state()
            logger.info(
                "interpreter clock advanced by %g s (now %g s ahead): %d waiting task(s) timed out",
                seconds,
                state["offsetSeconds"],
                timed_out,
            )
            return _json(start_response, "200 OK", {"advancedSeconds": seconds, "timedOut": timed_out, **state})
        return _error(start_response, "404 Not Found", "NotFound", f"no such local control: {path}")

    def _state(self) -> dict[str, Any]:
        return {"offsetSeconds": self._clock.offset, "waiting": self._clock.waiting()}


def parse_advance(body: bytes) -> float:
    """The ``seconds`` of an advance request body ``{"seconds": N}``; ValueError with a clear message otherwise."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError('the body must be JSON: {"seconds": N}') from None
    if not isinstance(parsed, dict) or set(parsed) != {"seconds"}:
        raise ValueError('the body must be {"seconds": N} and nothing else')
    seconds = parsed["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ValueError("seconds must be a number")
    if not 0 < seconds <= MAX_ADVANCE_SECONDS:
        raise ValueError(f"seconds must be more than 0 and at most {MAX_ADVANCE_SECONDS}")
    return float(seconds)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return body


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _error(start_response: StartResponse, status: str, error_type: str, message: str) -> list[bytes]:
    payload = json.dumps({"__type": error_type, "message": message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", error_type),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]
