"""Page tokens of the review lists: what a client sends back is untrusted input."""

from __future__ import annotations

import base64

import pytest

from chalicelib.errors import BadRequestError
from chalicelib.stores.reviews import decode_page_token, encode_page_token


def test_a_page_token_round_trips():
    key = {"reviewId": "r-1", "pendingPartition": "PENDING", "createdAt": "2024-01-01T00:00:00Z"}
    assert decode_page_token(encode_page_token(key)) == key


def test_a_deeply_nested_page_token_is_a_bad_request():
    token = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("=")
    with pytest.raises(BadRequestError):
        decode_page_token(token)
