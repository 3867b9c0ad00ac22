"""Reviews: a flagged submission waiting for a human, its decision, and the rules of deciding it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from chalicelib.domain.appeal import KIND_SUBMISSION, Appeal
from chalicelib.errors import BadRequestError

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
REASON_MAX_CHARACTERS = 1000
# How long a claimed decision belongs to the request that claimed it. Longer than any request
# can live (API Gateway gives up after 29 s), so only a request that died loses its claim.
# Not to be confused with a reviewer's claim on a review (SPEC §14), called a *hold* in the code:
# see :attr:`Review.held_by`.
CLAIM_LEASE_SECONDS = 60
# SPEC §15's statement of reasons: what REJECTION_CATEGORIES defaults to, and what a rejection
# without a category gets (it must stay among the configured ones; config.py checks it).
DEFAULT_REJECTION_CATEGORIES = ("spam", "hate", "harassment", "violence", "sexual", "illegal", "off-topic", "other")
DEFAULT_CATEGORY = "other"


class ReviewStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


DECISION_BY_ACTION = {"approve": Decision.APPROVED, "reject": Decision.REJECTED}
# A person's decisions (the others are the workflow's: expiry and failure).
REVIEWER_DECISIONS = frozenset({Decision.APPROVED, Decision.REJECTED})
# What ``GET /reviews?status=`` accepts besides ``pending``.
DECIDED_STATUSES = ("approved", "rejected", "expired", "decided")
# How a page of pending reviews may be ordered (``risk``: the model's highest score first, SPEC §13).
# ``deadline``: the soonest deadline first (SPEC §14).
PENDING_ORDERS = ("oldest", "newest", "risk", "deadline")
DECIDED_ORDERS = ("oldest", "newest")
REVIEW_STATUS_BY_DECISION: dict[str, ReviewStatus] = {
    Decision.APPROVED: ReviewStatus.APPROVED,
    Decision.REJECTED: ReviewStatus.REJECTED,
    Decision.EXPIRED: ReviewStatus.EXPIRED,
    Decision.FAILED: ReviewStatus.FAILED,
}


@dataclass(frozen=True)
class ReviewListing:
    """Which page of reviews to list: ``status`` is ``pending`` or one of DECIDED_STATUSES.

    ``order`` is one of PENDING_ORDERS for pending reviews (default oldest first), and oldest or
    newest for decided ones (default newest first).
    """

    status: str = "pending"
    limit: int = DEFAULT_PAGE_SIZE
    page_token: str | None = None
    order: str | None = None

    @property
    def pending_order(self) -> str:
        return self.order or "oldest"

    @property
    def newest_first(self) -> bool:
        """For decided reviews."""
        return self.order != "oldest"


@dataclass(frozen=True)
class Review:
    review_id: str
    submission_id: str
    execution_arn: str
    title: str
    matches: list[dict[str, Any]]
    status: str
    created_at: str
    deadline: int
    deadline_at: str
    approve_path: str
    reject_path: str
    task_token: str = field(repr=False)
    decision: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    # A rejection's category (SPEC §15); None for other decisions.
    category: str | None = None
    # Set while a claimed decision has not yet reached the execution (see ReviewStore.claim_decision).
    callback_pending: bool = False
    claim_id: str | None = field(default=None, repr=False)
    claim_expires_at: int | None = None
    # The risk model's assessment (SPEC §13's ``{"score", "labels", "model"}`` or ``{"error"}``); None: not scored.
    risk: dict[str, Any] | None = None
    # ``submission`` (a first review) or ``appeal``; an appeal's review carries the appeal and the decision it contests.
    kind: str = KIND_SUBMISSION
    appeal: Appeal | None = None

    @property
    def excluded_decider(self) -> str | None:
        """Who may not decide this review: the person whose decision the appeal contests (SPEC §15)."""
        return self.appeal.original_decided_by if self.appeal is not None else None

    # A reviewer's claim on the review while reading it (SPEC §14; ``claimedBy``/``claimExpiresAt`` in
    # the API), called a *hold* here so it is never mistaken for the decision lease above
    # (``claim_id``/``claim_expires_at``: a request's one-minute ownership of a decision it wrote).
    # A hold only stops other people's decisions; the deadline and the lease recovery ignore it.
    held_by: str | None = None
    hold_expires_at: int | None = None
    # When the review was announced as due soon (REVIEW_REMINDER_SECONDS before its deadline); None: not yet.
    reminded_at: str | None = None

    @property
    def risk_rank(self) -> float:
        """Where the review sorts in ``order=risk``: its score; an unscored error first (a human must look); unchecked last."""
        if self.risk is None:
            return -1.0
        score = self.risk.get("score")
        return float(score) if score is not None else 2.0

    def claimed_by(self, claim_id: str) -> bool:
        return self.claim_id is not None and self.claim_id == claim_id

    def claim_abandoned(self, now: float) -> bool:
        """A claim whose request died: its callback never finished and its lease has run out."""
        return self.callback_pending and (self.claim_expires_at or 0) <= now

    def holder(self, now: float) -> str | None:
        """Who holds the review (a live claim on a pending review), or None; a hold lapses by itself."""
        if self.status != ReviewStatus.PENDING or self.held_by is None or (self.hold_expires_at or 0) <= now:
            return None
        return self.held_by

    def held_against(self, name: str, now: float) -> str | None:
        """The holder when a live hold belongs to someone other than ``name`` (whose decision it blocks)."""
        holder = self.holder(now)
        return holder if holder is not None and holder != name else None

    def with_hold(self, held_by: str | None, hold_expires_at: int | None) -> Review:
        return replace(self, held_by=held_by, hold_expires_at=hold_expires_at)

    def without_lapsed_hold(self, now: float) -> Review:
        """The review as listed at ``now``: a lapsed hold (or one left on a decided review) is not shown."""
        if self.held_by is None or self.holder(now) is not None:
            return self
        return self.with_hold(None, None)

    def without_pending_callback(self) -> Review:
        return replace(self, callback_pending=False)

    def callback_output(self) -> dict[str, Any]:
        """What SendTaskSuccess hands the execution (it becomes ``$.outcome``)."""
        output: dict[str, Any] = {
            "decision": self.decision,
            "reason": self.reason,
            "decidedBy": self.decided_by,
            "decidedAt": self.decided_at,
        }
        if self.category is not None:
            output["category"] = self.category
        return output


def validated_reason(reason: object) -> str | None:
    """A decision's reason, stripped (blank means none); BadRequestError for a non-string or an over-long one."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise BadRequestError("'reason' must be a string")
    if len(reason) > REASON_MAX_CHARACTERS:
        raise BadRequestError(f"'reason' must be at most {REASON_MAX_CHARACTERS} characters")
    return reason.strip() or None


def validated_category(category: object, *, decision: str, allowed: tuple[str, ...]) -> str | None:
    """A decision's category: one of ``allowed`` for a rejection (none given means DEFAULT_CATEGORY), None otherwise.

    Raises BadRequestError for a non-string, an unknown category, or a category on an approval.
    """
    if decision != Decision.REJECTED:
        if category is not None:
            raise BadRequestError("'category' applies to a rejection only")
        return None
    if category is None:
        return DEFAULT_CATEGORY
    if not isinstance(category, str):
        raise BadRequestError("'category' must be a string")
    if category not in allowed:
        raise BadRequestError(f"'category' must be one of: {', '.join(allowed)}")
    return category
