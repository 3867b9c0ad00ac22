"""Authentication: who an ``Authorization: Bearer`` credential belongs to.

The configured bootstrap token is the admin named ``admin`` (compared in constant time);
every other token is looked up by its hash in the reviewers table.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from chalicelib.domain.actors import ADMIN
from chalicelib.domain.team import ADMIN as ADMIN_ROLE
from chalicelib.domain.team import TOKEN_PREFIX, Identity

BEARER_PREFIX = "bearer "
# The bootstrap admin's identity.
BOOTSTRAP_ADMIN = Identity(name=ADMIN, role=ADMIN_ROLE)


def bearer_token(authorization: str | None) -> str | None:
    """The token of a ``Bearer`` header (scheme case-insensitive), or None."""
    if not authorization or authorization[: len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        return None
    return authorization[len(BEARER_PREFIX) :].strip() or None


def is_admin(authorization: str | None, admin_token: str) -> bool:
    """True when the header carries exactly the bootstrap admin token."""
    token = bearer_token(authorization)
    if token is None or not admin_token:
        return False
    return hmac.compare_digest(token.encode("utf-8", "replace"), admin_token.encode())


def identify(
    token: str | None, *, admin_token: Callable[[], str], reviewer_for: Callable[[str], Identity | None]
) -> Identity | None:
    """Who ``token`` belongs to: the bootstrap admin, a reviewer, or nobody (None).

    Only tokens with the personal prefix are looked up in the table, so a guessed or
    malformed credential costs no DynamoDB read.
    """
    if not token:
        return None
    expected = admin_token()
    if expected and hmac.compare_digest(token.encode("utf-8", "replace"), expected.encode()):
        return BOOTSTRAP_ADMIN
    if token.startswith(TOKEN_PREFIX):
        return reviewer_for(token)
    return None
