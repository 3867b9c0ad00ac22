"""Admin bearer check."""

from __future__ import annotations

import pytest

from chalicelib.web.auth import is_admin


@pytest.mark.parametrize("header", ["Bearer s3cret", "bearer s3cret", "BEARER   s3cret  "])
def test_accepts_the_admin_token_with_any_case_of_scheme(header):
    assert is_admin(header, "s3cret")


@pytest.mark.parametrize("header", [None, "", "s3cret", "Basic s3cret", "Bearer", "Bearer s3cre", "Bearer s3cret2"])
def test_refuses_anything_else(header):
    assert not is_admin(header, "s3cret")


def test_refuses_everything_when_no_token_is_configured():
    assert not is_admin("Bearer ", "")
