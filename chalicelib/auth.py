"""Admin authentication: a constant-time check of an ``Authorization: Bearer`` credential."""

from __future__ import annotations

import hmac

BEARER_PREFIX = "bearer "


def is_admin(authorization: str | None, admin_token: str) -> bool:
    """True when the header carries exactly the admin token (scheme is case-insensitive)."""
    if not authorization or not admin_token:
        return False
    if authorization[: len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        return False
    presented = authorization[len(BEARER_PREFIX) :].strip()
    return hmac.compare_digest(presented.encode(), admin_token.encode())
