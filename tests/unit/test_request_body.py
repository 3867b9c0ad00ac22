"""Request bodies: the size limit, JSON parsing, and what a 415 tells the client to send."""

from __future__ import annotations

import pytest

from chalicelib.domain.submission import BODY_MAX_BYTES
from chalicelib.errors import BadRequestError, PayloadTooLargeError
from chalicelib.web.request_body import REQUEST_BODY_MAX_BYTES, check_body_size, parse_json_body, unsupported_media_type


def test_the_limit_fits_a_fully_escaped_100kb_body_and_is_far_below_api_gateways() -> None:
    assert 3 * BODY_MAX_BYTES < REQUEST_BODY_MAX_BYTES < 1024 * 1024


def test_a_body_at_the_limit_passes_and_one_byte_more_is_413() -> None:
    check_body_size(REQUEST_BODY_MAX_BYTES)
    with pytest.raises(PayloadTooLargeError, match=str(REQUEST_BODY_MAX_BYTES)):
        check_body_size(REQUEST_BODY_MAX_BYTES + 1)


def test_json_is_parsed_and_no_body_is_none() -> None:
    assert parse_json_body(b'{"reason": "x"}') == {"reason": "x"}
    assert parse_json_body(b"") is None
    assert parse_json_body(None) is None


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[" * 100_000])
def test_anything_else_is_400(raw: bytes) -> None:
    with pytest.raises(BadRequestError):
        parse_json_body(raw)


def test_an_oversized_body_is_413_before_it_is_parsed() -> None:
    with pytest.raises(PayloadTooLargeError):
        parse_json_body(b"{" * (REQUEST_BODY_MAX_BYTES + 1))  # would be a 400 if it were parsed


def test_415_says_what_to_send() -> None:
    error = unsupported_media_type("application/x-www-form-urlencoded", ["application/json"])

    assert (error.status_code, error.code) == (415, "UnsupportedMediaType")
    assert "'application/x-www-form-urlencoded'" in error.message
    assert error.message.endswith("send Content-Type: application/json")
    assert unsupported_media_type(None, []).message.endswith("send Content-Type: application/json")
    assert (
        "one of text/plain, application/json"
        in unsupported_media_type("a/b", ["text/plain", "application/json"]).message
    )
