"""Submissions: the article a submitter sent, its status and its outcome."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.domain.actors import is_automated
from chalicelib.domain.appeal import Appeal

TITLE_MAX_CHARACTERS = 300
BODY_MAX_BYTES = 100 * 1024
# RFC 5321's limit on a forward path. The pattern is deliberately plain (and the same in the OpenAPI
# document): one @, no spaces or control characters, a dotted domain of letters, digits and hyphens.
EMAIL_MAX_CHARACTERS = 254
EMAIL_PATTERN = (
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)

# E.164 (SPEC §15's notifyPhone): a plus, then 8 to 15 digits, the first (the country code's) not 0.
PHONE_PATTERN = r"\+[1-9][0-9]{7,14}"


class SubmissionStatus(StrEnum):
    CHECKING = "CHECKING"
    IN_REVIEW = "IN_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


# What an appeal may contest.
APPEALABLE_STATUSES = frozenset({"REJECTED", "EXPIRED"})
FINAL_STATUSES = frozenset(
    {SubmissionStatus.APPROVED, SubmissionStatus.REJECTED, SubmissionStatus.EXPIRED, SubmissionStatus.FAILED}
)


@dataclass(frozen=True)
class ArticleRequest:
    """A validated ``POST /submissions`` body."""

    title: str
    body: str
    notify_email: str | None = None
    notify_phone: str | None = None

    def fingerprint(self) -> str:
        """Hash of the request, to tell a retry from a different request reusing a key."""
        fields = {"title": self.title, "body": self.body}
        if self.notify_email is not None:  # absent keeps the hashes of earlier submissions unchanged
            fields["notifyEmail"] = self.notify_email
        if self.notify_phone is not None:
            fields["notifyPhone"] = self.notify_phone
        canonical = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    submission_id: str
    title: str
    body: str
    status: str
    created_at: str
    request_fingerprint: str
    execution_arn: str | None = None
    decision: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    # A rejection's category (SPEC §15).
    category: str | None = None
    # Connection ids following this submission; private, never shown.
    subscribers: frozenset[str] = frozenset()
    # Where the outcome is e-mailed; private: never returned, logged or put in the audit trail.
    notify_email: str | None = None
    # Where the outcome is sent by SMS; as private as the address.
    notify_phone: str | None = None
    # SHA-256 of the submitter token (SPEC §15): proves the submitter in an appeal; never shown.
    submitter_token_hash: str | None = field(default=None, repr=False)
    # The submitter's appeal, once made (one per submission).
    appeal: Appeal | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def automated(self) -> bool:
        """No person decided it (the content check, the deadline or a failed workflow)."""
        return is_automated(self.decided_by)
