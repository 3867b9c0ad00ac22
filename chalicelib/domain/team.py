"""The moderation team: reviewers, their roles, names and personal tokens (stored only as hashes).

Tokens are 256-bit random values, so a plain SHA-256 is enough to make a stolen table useless
(a slow password hash protects low-entropy secrets, which these are not).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import actors
from chalicelib.errors import BadRequestError

REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (REVIEWER, ADMIN)
TOKEN_PREFIX = "cmr_"
_NAME = re.compile(r"[a-z0-9._-]{1,64}")
# Names that already mean something in decidedBy, or the configured bootstrap admin.
RESERVED_NAMES = frozenset({actors.ADMIN, actors.SIGNED_LINK, actors.CONTENT_CHECK, actors.DEADLINE, actors.WORKFLOW})


@dataclass(frozen=True)
class Identity:
    """Who a request comes from: a reviewer's name and role."""

    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str
    created_at: str
    created_by: str


@dataclass(frozen=True)
class NewReviewer:
    """A validated ``POST /reviewers`` body."""

    name: str
    role: str


def validate_name(name: Any) -> str:
    """A reviewer name: 1-64 characters of a-z, 0-9, '.', '_' and '-'; not a reserved one."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadRequestError("'name' must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'")
    if name in RESERVED_NAMES:
        raise BadRequestError(f"'{name}' is reserved")
    return name


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
