"""Bulk decisions (SPEC §14): one request deciding up to 50 reviews, each as if decided alone."""

from __future__ import annotations

from dataclasses import dataclass

BULK_MAX_ITEMS = 50


@dataclass(frozen=True)
class DecisionItem:
    """One item of ``POST /reviews/decisions``: approve or reject one review.

    ``category`` is accepted (SPEC §14 lists it) but not used: a single decision has no category
    to pass it to yet.
    """

    review_id: str
    action: str
    reason: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class DecisionResult:
    """What became of one item: the status a single decision would have answered, and its body's gist."""

    review_id: str
    status: int
    decision: str | None = None
    decided_by: str | None = None
    error_code: str | None = None
    error_message: str | None = None
