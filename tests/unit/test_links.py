"""Link signing binds review, action and expiry; verification is constant-time and says nothing on failure."""

from __future__ import annotations

import pytest

from chalicelib.errors import ForbiddenError
from chalicelib.web.links import sign, signed_path, verify

SECRET = "secret"


def test_signed_path_verifies_until_it_expires():
    path = signed_path(SECRET, review_id="r1", action="approve", expires=1000)
    signature = path.split("signature=")[1]

    assert verify(SECRET, review_id="r1", action="approve", expires="1000", signature=signature, now=999) == "approve"
    with pytest.raises(ForbiddenError):
        verify(SECRET, review_id="r1", action="approve", expires="1000", signature=signature, now=1001)


@pytest.mark.parametrize(
    "changes",
    [
        {"review_id": "r2"},
        {"action": "reject"},
        {"expires": "1001"},
        {"expires": "soon"},
        {"action": "delete"},
        {"signature": None},
        {"expires": None},
    ],
)
def test_any_changed_part_fails_verification(changes):
    arguments = {
        "review_id": "r1",
        "action": "approve",
        "expires": "1000",
        "signature": sign(SECRET, review_id="r1", action="approve", expires=1000),
        "now": 0,
    }
    arguments.update(changes)
    with pytest.raises(ForbiddenError) as raised:
        verify(SECRET, **arguments)
    assert raised.value.message == "invalid or expired link"


def test_another_secret_does_not_verify():
    signature = sign("other", review_id="r1", action="approve", expires=1000)
    with pytest.raises(ForbiddenError):
        verify(SECRET, review_id="r1", action="approve", expires="1000", signature=signature, now=0)


@pytest.mark.parametrize(
    "spelling",
    [" 1000", "1000 ", "+1000", "01000", "1_000", "١٠٠٠", "１０００", "1000\n", "-1000", ""],
    ids=[
        "leading-space",
        "trailing-space",
        "plus",
        "leading-zero",
        "underscore",
        "arabic-indic",
        "full-width",
        "newline",
        "negative",
        "empty",
    ],
)
def test_only_the_canonical_spelling_of_expires_verifies(spelling):
    signature = sign(SECRET, review_id="r1", action="approve", expires=1000)

    with pytest.raises(ForbiddenError):
        verify(SECRET, review_id="r1", action="approve", expires=spelling, signature=signature, now=0)
