"""Reviewers' claims on reviews (SPEC §14): "alice is reviewing this", so two people do not read one article at once.

In the code a claim is a *hold* (``Review.held_by``), so it is never confused with the decision
lease of :mod:`chalicelib.usecases.decisions` (``claim_decision``: the minute one request owns the
decision it wrote, so that a request which died is finished by a later one, SPEC §10). A hold is
advisory towards everything but a decision: it never moves or blocks the deadline (the state
machine's timeout and the final task ignore it) nor the lease recovery, and it lapses by itself
CLAIM_SECONDS after it was last taken or renewed. While it is live, only its holder may decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.clock import Clock, iso
from chalicelib.domain import history as events
from chalicelib.domain.identifiers import validate_review_id
from chalicelib.domain.ports import HistoryStore, Notifications, ReviewHoldStore, ReviewStore
from chalicelib.domain.review import Review, ReviewStatus
from chalicelib.errors import ClaimedError, ExpiredError, ForbiddenError, NotFoundError, UnavailableError
from chalicelib.log import log_event

logger = logging.getLogger(__name__)

# A lost conditional write is retried only when the hold it met went away meanwhile.
MAX_HOLD_ATTEMPTS = 3
# Which of some names are current reviewers (a removed reviewer's hold stops counting).
CurrentReviewers = Callable[[set[str]], set[str]]


def claimed_by_another(holder: str) -> ClaimedError:
    """409 naming who is reviewing it."""
    return ClaimedError(f"{holder} is reviewing this review (it is claimed by {holder})", holder=holder)


class HolderCheck:
    """Whether a live hold still counts: a reviewer removed since taking it holds nothing.

    Asked only when a hold is in someone's way, so the common paths read no reviewer. A hold of
    a removed reviewer is then given back (conditionally: only if it is still theirs).
    """

    def __init__(self, *, holds: ReviewHoldStore, current_reviewers: CurrentReviewers) -> None:
        self._holds = holds
        self._current_reviewers = current_reviewers

    def stands(self, review: Review, holder: str, *, now: int) -> bool:
        """True when ``holder`` is still a reviewer; else their hold is released and False returned."""
        if holder in self._current_reviewers({holder}):
            return True
        self._holds.release_hold(review.review_id, holder=holder, now=now)
        log_event(logger, "review.hold_of_removed_reviewer_released", reviewId=review.review_id, reviewer=holder)
        return False


class ReviewClaims:
    """``POST`` and ``DELETE /reviews/{id}/claim``."""

    def __init__(
        self,
        *,
        reviews: ReviewStore,
        holds: ReviewHoldStore,
        history: HistoryStore,
        notifier: Notifications,
        holder_check: HolderCheck,
        claim_seconds: int,
        clock: Clock,
    ) -> None:
        self._reviews = reviews
        self._holds = holds
        self._history = history
        self._notifier = notifier
        self._holder_check = holder_check
        self._claim_seconds = claim_seconds
        self._clock = clock

    def claim(self, review_id: str, *, reviewer: str) -> Review:
        """Hold the review for ``reviewer`` for CLAIM_SECONDS from now; their own live hold is renewed.

        Raises BadRequestError (malformed id), NotFoundError, ConflictError (decided), ExpiredError
        (deadline passed), ForbiddenError (an appeal of the reviewer's own decision), ClaimedError
        (someone else holds it) and UnavailableError (churn).
        """
        from chalicelib.usecases.decisions import already_decided

        validate_review_id(review_id)
        for _attempt in range(MAX_HOLD_ATTEMPTS):
            moment = self._clock()
            now = int(moment)
            until = now + self._claim_seconds
            before = self._holds.hold(review_id, reviewer=reviewer, now=now, until=until)
            if before is not None:
                held = before.with_hold(reviewer, until)
                self._announce_claim(held, renewed=before.holder(now) == reviewer, at=iso(moment))
                return held
            review = self._reviews.get(review_id)
            if review is None:
                raise NotFoundError(f"no review {review_id}")
            if review.status != ReviewStatus.PENDING:
                raise already_decided(review)
            if review.deadline <= now:
                raise ExpiredError("the review deadline has passed")
            if review.excluded_decider == reviewer:
                raise ForbiddenError("the decision under appeal was yours: someone else must review the appeal")
            holder = review.held_against(reviewer, now)
            if holder is not None and self._holder_check.stands(review, holder, now=now):
                raise claimed_by_another(holder)
            # The hold we met lapsed or was given back between our write and our read: try again.
        raise UnavailableError("the review is being claimed by others; retry")

    def release(self, review_id: str, *, reviewer: str, is_admin: bool) -> None:
        """Give a hold back: the holder's own, or anyone's for an admin. Nothing to give back is fine.

        Raises BadRequestError (malformed id), NotFoundError and ClaimedError (a reviewer
        releasing someone else's live hold).
        """
        validate_review_id(review_id)
        moment = self._clock()
        now = int(moment)
        before = self._holds.release_hold(review_id, holder=None if is_admin else reviewer, now=now)
        if before is None:
            review = self._reviews.get(review_id)
            if review is None:
                raise NotFoundError(f"no review {review_id}")
            holder = review.held_against(reviewer, now)
            if holder is not None and not is_admin:
                raise claimed_by_another(holder)
            return  # not held (or lapsed, or decided): nothing to give back
        released = before.with_hold(None, None)
        self._history.append(
            released.submission_id,
            events.RELEASED,
            at=iso(moment),
            key=f"{before.held_by}#{before.hold_expires_at}",
            reviewId=review_id,
            actor=reviewer,
            claimedBy=before.held_by,
        )
        self._notifier.publish_review_event("released", released)
        log_event(logger, "review.released", reviewId=review_id, reviewer=reviewer, claimedBy=before.held_by)

    def _announce_claim(self, held: Review, *, renewed: bool, at: str) -> None:
        """Watchers hear every claim (a renewal moves ``claimExpiresAt``); the history keeps new ones only."""
        if not renewed:
            self._history.append(
                held.submission_id,
                events.CLAIMED,
                at=at,
                key=f"{held.held_by}#{held.hold_expires_at}",
                reviewId=held.review_id,
                actor=held.held_by,
            )
        self._notifier.publish_review_event("claimed", held)
        log_event(logger, "review.claimed", reviewId=held.review_id, reviewer=held.held_by, renewed=renewed)
