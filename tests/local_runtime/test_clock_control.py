"""``/_local/clock`` on the runtime's AWS port: signed requests advance the Step Functions clock, nothing else does.

The expiry itself (a waiting review timed out by an advance) is in ``test_end_to_end.py``; here
nothing is waiting, so the advances these tests make change no review.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from local_runtime.clock_control import MAX_ADVANCE_SECONDS, parse_advance
from local_runtime.sigv4 import AwsCredentials
from tests.local_runtime.conftest import RunningRuntime, http, sign


def _post_raw(runtime: RunningRuntime, path: str, body: bytes) -> tuple[int, dict[str, str]]:
    """A POST of ``body`` as given (not necessarily JSON), signed with the runtime's credentials."""
    url = f"{runtime.moto_url}{path}"
    headers = sign("POST", url, body, {"Content-Type": "application/json"}, runtime.credentials, service="states")
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_signed_advance_answers_the_new_offset_and_how_many_tasks_timed_out(runtime: RunningRuntime) -> None:
    before = runtime.interpreter_clock()

    advanced = http(
        "POST",
        f"{runtime.moto_url}/_local/clock/advance",
        {"seconds": 90},
        signed_by=runtime.credentials,
        service="states",
    )

    assert advanced.status == 200, advanced
    assert advanced.body == {
        "advancedSeconds": 90,
        "timedOut": 0,
        "offsetSeconds": before["offsetSeconds"] + 90,
        "waiting": before["waiting"],
    }
    assert runtime.interpreter_clock()["offsetSeconds"] == before["offsetSeconds"] + 90


@pytest.mark.parametrize("signer", ["unsigned", "another key"])
@pytest.mark.parametrize(("method", "path", "body"), [("POST", "advance", {"seconds": 604800}), ("GET", "", None)])
def test_an_unsigned_or_wrongly_signed_request_gets_403_and_moves_nothing(
    runtime: RunningRuntime, signer: str, method: str, path: str, body: object
) -> None:
    before = runtime.interpreter_clock()
    url = f"{runtime.moto_url}/_local/clock" + (f"/{path}" if path else "")

    refused = http(method, url, body, signed_by=None if signer == "unsigned" else AwsCredentials.generate())

    assert refused.status == 403, refused
    assert refused.body["__type"] in ("MissingAuthenticationTokenException", "UnrecognizedClientException")
    assert runtime.interpreter_clock() == before


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"seconds": -5}', b'{"seconds": "604800"}', b"{}", b'{"seconds": 60, "also": 1}'],
)
def test_a_bad_advance_body_gets_400_and_moves_nothing(runtime: RunningRuntime, body: bytes) -> None:
    before = runtime.interpreter_clock()

    status, answer = _post_raw(runtime, "/_local/clock/advance", body)

    assert status == 400, answer
    assert answer["__type"] == "ValidationException" and "seconds" in answer["message"]
    assert runtime.interpreter_clock() == before


def test_a_wrong_method_gets_405_and_an_unknown_control_404(runtime: RunningRuntime) -> None:
    credentials = runtime.credentials
    assert http("GET", f"{runtime.moto_url}/_local/clock/advance", signed_by=credentials).status == 405
    assert http("POST", f"{runtime.moto_url}/_local/clock", {}, signed_by=credentials).status == 405
    assert http("GET", f"{runtime.moto_url}/_local/nothing", signed_by=credentials).status == 404


def test_the_command_advances_with_the_exported_credentials_and_says_what_it_did(runtime: RunningRuntime) -> None:
    before = runtime.interpreter_clock()

    done = runtime.advance_clock("3600")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Step Functions clock advanced by 3600 s"), done.stdout
    assert "0 waiting task(s) timed out" in done.stdout
    assert runtime.interpreter_clock()["offsetSeconds"] == before["offsetSeconds"] + 3600


def test_the_command_without_credentials_or_with_a_bad_number_says_what_to_do(runtime: RunningRuntime) -> None:
    before = runtime.interpreter_clock()

    unsigned = runtime.advance_clock("3600", signed=False)
    assert unsigned.returncode == 1
    assert "AWS_ACCESS_KEY_ID" in unsigned.stderr and "export" in unsigned.stderr

    negative = runtime.advance_clock("--", "-5")
    assert negative.returncode == 2 and "more than 0" in negative.stderr
    assert runtime.interpreter_clock() == before


def test_the_banner_shows_how_to_skip_ahead_to_review_deadlines(runtime: RunningRuntime) -> None:
    banner = runtime.banner()
    assert f"-m local_runtime.advance_clock 604800 --endpoint-url {runtime.moto_url}" in banner
    assert "not the app's clock" in banner


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff", "must be JSON"),
        (b"[60]", "nothing else"),
        (b'{"seconds": true}', "must be a number"),
        (b'{"seconds": NaN}', "must be a number"),
        (b'{"seconds": 0}', "more than 0"),
        (f'{{"seconds": {MAX_ADVANCE_SECONDS + 1}}}'.encode(), "at most"),
    ],
)
def test_parse_advance_refuses_anything_but_a_positive_number_of_seconds(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_advance(body)


def test_parse_advance_takes_whole_and_fractional_seconds() -> None:
    assert parse_advance(b'{"seconds": 604800}') == 604800.0
    assert parse_advance(b'{"seconds": 0.5}') == 0.5
