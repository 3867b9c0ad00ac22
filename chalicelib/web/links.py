"""Signed approve/reject links: HMAC-SHA256 over the review, the action and the expiry."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from chalicelib.clock import Clock, system_clock
from chalicelib.errors import ForbiddenError

ACTIONS = ("approve", "reject")
# The query parameters a decision link carries, all three signed (the action and expiry directly).
LINK_PARAMETERS = ("action", "expires", "signature")
# The one spelling signed links use: ASCII digits, no sign, space, underscore or leading zero.
# int() also accepts " 17", "+17", "017", "1_7" and non-ASCII digits, each a second spelling
# of a signed value that would verify.
_CANONICAL_EXPIRES = re.compile(r"[1-9][0-9]{0,15}")


def sign(secret: str, *, review_id: str, action: str, expires: int) -> str:
    """The signature binding one review, one action and one expiry (epoch seconds)."""
    message = f"{review_id}\n{action}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_path(secret: str, *, review_id: str, action: str, expires: int) -> str:
    """The path and query of a decision link (made absolute by whoever shows it)."""
    query = urlencode(
        {
            "action": action,
            "expires": expires,
            "signature": sign(secret, review_id=review_id, action=action, expires=expires),
        }
    )
    return f"/reviews/{review_id}/decide?{query}"


def verify(
    secret: str, *, review_id: str, action: str | None, expires: str | None, signature: str | None, now: float
) -> str:
    """Check a link's query parameters and return its action.

    Raises ForbiddenError for a tampered, action-swapped or expired link; the message never
    says which check failed, so a forger learns nothing.
    """
    if action not in ACTIONS or not expires or not signature or not _CANONICAL_EXPIRES.fullmatch(expires):
        raise ForbiddenError("invalid or expired link")
    expires_at = int(expires)
    expected = sign(secret, review_id=review_id, action=action, expires=expires_at)
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged link must get 403, not 500.
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")) or now > expires_at:
        raise ForbiddenError("invalid or expired link")
    return action


def verify_link(secret: str, *, review_id: str, query: Mapping[str, str], clock: Clock = system_clock) -> str:
    """Check a decision link's query string at ``clock()`` and return its action.

    Raises ForbiddenError as :func:`verify` does (a missing parameter is a tampered link).
    """
    return verify(
        secret,
        review_id=review_id,
        action=query.get("action"),
        expires=query.get("expires"),
        signature=query.get("signature"),
        now=clock(),
    )


def link_query(query: Mapping[str, str]) -> str:
    """The signed parameters of a verified link, encoded again (for the confirmation form's action)."""
    return urlencode({key: query[key] for key in LINK_PARAMETERS})


def decision_paths(secret: Callable[[], str]) -> Callable[[str, int], tuple[str, str]]:
    """``(review_id, expires) -> (approve path, reject path)``, signed with the secret read at each call."""

    def paths(review_id: str, expires: int) -> tuple[str, str]:
        key = secret()
        return (
            signed_path(key, review_id=review_id, action="approve", expires=expires),
            signed_path(key, review_id=review_id, action="reject", expires=expires),
        )

    return paths
