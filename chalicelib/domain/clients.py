"""Platform clients: the publishing platform's backends that submit with a credential of their own (SPEC §18).

A client token is a 256-bit random value with the ``cmc_`` prefix, stored only as its SHA-256 (the
same reasoning as the reviewers' tokens in ``team``); the prefix keeps the two kinds apart, so a
reviewer's token never opens submissions as a client and a client's never opens the dashboard.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

CLIENT_TOKEN_PREFIX = "cmc_"


@dataclass(frozen=True)
class Client:
    """A platform client as ``GET /clients`` lists it (never its token)."""

    name: str
    created_at: str
    created_by: str


def new_client_token() -> str:
    return CLIENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
