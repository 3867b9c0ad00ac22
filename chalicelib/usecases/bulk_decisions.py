"""``POST /reviews/decisions``: several decisions in one request, each through the single-decision use case."""

from __future__ import annotations

import hashlib
import logging

from chalicelib.domain.bulk_decisions import DecisionItem, DecisionResult
from chalicelib.domain.identifiers import validated_idempotency_key
from chalicelib.errors import ServiceError
from chalicelib.log import log_event
from chalicelib.usecases.decisions import DecideReview

logger = logging.getLogger(__name__)


def item_idempotency_key(idempotency_key: str | None, review_id: str) -> str | None:
    """The key one item is decided under: a retried batch (same key) gets each item's first answer again."""
    if idempotency_key is None:
        return None
    return hashlib.sha256(f"{idempotency_key}\n{review_id}".encode()).hexdigest()


class DecideInBulk:
    """Decide each item in order with :class:`DecideReview`, so each keeps every guarantee of a single
    decision (one winner, claims, the lease recovery, 409/410 answers); one item's failure is its own."""

    def __init__(self, *, decisions: DecideReview) -> None:
        self._decisions = decisions

    def decide_all(
        self, items: list[DecisionItem], *, decided_by: str, idempotency_key: str | None = None
    ) -> list[DecisionResult]:
        """One result per item, in order. Raises BadRequestError only for a malformed Idempotency-Key
        (before any item is decided); the items are validated by the caller (``web.requests``)."""
        key = validated_idempotency_key(idempotency_key)
        results = [self._decide_one(item, decided_by=decided_by, idempotency_key=key) for item in items]
        log_event(
            logger,
            "reviews.decided_in_bulk",
            decidedBy=decided_by,
            items=len(items),
            decided=sum(1 for result in results if result.status == 200),
        )
        return results

    def _decide_one(self, item: DecisionItem, *, decided_by: str, idempotency_key: str | None) -> DecisionResult:
        try:
            review = self._decisions.decide(
                item.review_id,
                action=item.action,
                reason=item.reason,
                category=item.category,
                decided_by=decided_by,
                idempotency_key=item_idempotency_key(idempotency_key, item.review_id),
            )
        except ServiceError as error:
            return DecisionResult(
                review_id=item.review_id,
                status=error.status_code,
                error_code=error.code,
                error_message=error.message,
            )
        except Exception:  # one item's unexpected failure must not hide the others' outcomes
            logger.exception("bulk decision item failed")
            return DecisionResult(
                review_id=item.review_id,
                status=500,
                error_code="InternalError",
                error_message="an internal error occurred",
            )
        return DecisionResult(
            review_id=review.review_id, status=200, decision=review.decision, decided_by=review.decided_by
        )
