"""Appeals (SPEC §15): a submitter contests a refusal once, and someone other than the original decider reviews it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.errors import BadRequestError

APPEAL_MESSAGE_MAX_CHARACTERS = 2000
# A submission's first review, and the review of its appeal.
KIND_SUBMISSION = "submission"
KIND_APPEAL = "appeal"
OVERTURNED = "overturned"
UPHELD = "upheld"
# Proves the submitter in an appeal: 256 random bits, so a plain SHA-256 of it is enough to store.
SUBMITTER_TOKEN_PREFIX = "cms_"
_EXECUTION_PREFIX = "appeal-"


def new_submitter_token() -> str:
    return SUBMITTER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def submitter_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def appeal_execution_name(submission_id: str) -> str:
    """The appeal's own execution (the first one is named after the submission): one appeal, one name."""
    return _EXECUTION_PREFIX + submission_id


def is_appeal_execution(execution_arn: str | None, submission_id: str) -> bool:
    """Whether ``execution_arn`` is the submission's appeal execution (no read needed: the name says it)."""
    return bool(execution_arn) and str(execution_arn).endswith(":" + appeal_execution_name(submission_id))


def appeal_outcome(decision: str | None) -> str:
    """Approving an appeal overturns the refusal; a refusal or the deadline upholds it."""
    return OVERTURNED if decision == "approved" else UPHELD


def validated_message(message: object) -> str:
    """The appeal's message (1 to 2,000 characters, not blank); BadRequestError otherwise."""
    if not isinstance(message, str):
        raise BadRequestError("'message' is required and must be a string")
    if not message.strip():
        raise BadRequestError("'message' must not be empty")
    if len(message) > APPEAL_MESSAGE_MAX_CHARACTERS:
        raise BadRequestError(f"'message' must be at most {APPEAL_MESSAGE_MAX_CHARACTERS} characters")
    return message.strip()


@dataclass(frozen=True)
class Appeal:
    """An appeal and the decision it contests (as it stood when the appeal was made)."""

    appeal_id: str
    message: str
    appealed_at: str
    original_status: str
    original_decision: str | None
    original_reason: str | None
    original_decided_by: str | None
    original_decided_at: str | None
    original_category: str | None = None
    # ``overturned`` or ``upheld`` once decided.
    outcome: str | None = None

    def decided(self, outcome: str) -> Appeal:
        return replace(self, outcome=outcome)

    def to_item(self) -> dict[str, Any]:
        item = {
            "appealId": self.appeal_id,
            "message": self.message,
            "appealedAt": self.appealed_at,
            "originalStatus": self.original_status,
            "originalDecision": self.original_decision,
            "originalReason": self.original_reason,
            "originalDecidedBy": self.original_decided_by,
            "originalDecidedAt": self.original_decided_at,
            "originalCategory": self.original_category,
            "outcome": self.outcome,
        }
        return {key: value for key, value in item.items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Appeal:
        return cls(
            appeal_id=item["appealId"],
            message=item.get("message", ""),
            appealed_at=item["appealedAt"],
            original_status=item["originalStatus"],
            original_decision=item.get("originalDecision"),
            original_reason=item.get("originalReason"),
            original_decided_by=item.get("originalDecidedBy"),
            original_decided_at=item.get("originalDecidedAt"),
            original_category=item.get("originalCategory"),
            outcome=item.get("outcome"),
        )
