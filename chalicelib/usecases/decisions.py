"""Decisions: a reviewer's approve or reject, claimed by a conditional write, then handed to the execution.

:class:`DecideReview` picks the single winner among concurrent requests (SPEC §10);
:class:`ResumeExecution` tells the waiting execution and settles what its answer means.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NoReturn

from chalicelib.clock import Clock, iso
from chalicelib.domain import history as events
from chalicelib.domain.actors import SIGNED_LINK
from chalicelib.domain.identifiers import claim_id_for, validate_review_id, validated_idempotency_key
from chalicelib.domain.ports import HistoryStore, Notifications, ReviewStore, SubmissionStore, WorkflowEngine
from chalicelib.domain.review import (
    DECISION_BY_ACTION,
    DEFAULT_CATEGORY,
    DEFAULT_REJECTION_CATEGORIES,
    REVIEWER_DECISIONS,
    Decision,
    Review,
    ReviewStatus,
    validated_category,
    validated_reason,
)
from chalicelib.domain.submission import Submission
from chalicelib.errors import (
    ConflictError,
    ExpiredError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    NotFoundError,
    OutcomeUnknownError,
    TaskTokenGoneError,
    UnavailableError,
)
from chalicelib.log import log_event
from chalicelib.usecases.claims import HolderCheck, claimed_by_another
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)

# A lost claim is retried only when the winner rolled back meanwhile; more than this means churn.
MAX_CLAIM_ATTEMPTS = 3
# What Step Functions' DescribeExecution says of an execution a delivered decision may have resumed.
_ALIVE_OR_DONE = ("RUNNING", "SUCCEEDED")
# A decision this close to the deadline may have met a task that timed out meanwhile (clocks differ
# by this much, at most): its answer waits for the outcome the execution records.
NEAR_DEADLINE_SECONDS = 5
# How long an uncertain answer waits for the execution to record its outcome, and how often it looks.
SETTLE_SECONDS = 3.0
SETTLE_INTERVAL_SECONDS = 0.2


class ResumeExecution:
    """Send a claimed decision to its execution (SendTaskSuccess) and record it once it counts."""

    def __init__(
        self,
        *,
        reviews: ReviewStore,
        submissions: SubmissionStore,
        history: HistoryStore,
        workflow: WorkflowEngine,
        notifier: Notifications,
        clock: Clock,
        count: CountEvents,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._count = count
        self._reviews = reviews
        self._submissions = submissions
        self._sleep = sleep
        self._history = history
        self._workflow = workflow
        self._notifier = notifier
        self._clock = clock

    def resume(self, review: Review, *, release_on_refusal: bool = False) -> Review:
        """Tell the execution; ``release_on_refusal``: the claim is this request's own, roll it back if refused.

        An uncertain answer (a timeout, or a spent token near the deadline) is never reported as a
        success on faith: it is settled by the outcome the execution records (SPEC §19).

        Raises ExpiredError (the execution no longer waits for it, or the deadline won), OutcomeUnknownError
        (still unknown: the claim stays, a retry finishes it) and UnavailableError (refused).
        """
        try:
            sent_to = self._send(review)
        except TaskTokenGoneError as error:
            self._settle_gone_token(review, error)
        except OutcomeUnknownError as error:
            self._log(review, "review.decision_uncertain", level=logging.WARNING)
            self._settle_by_outcome(review, error)
        except _Refused as refused:
            if release_on_refusal and review.claim_id is not None:
                self._reviews.release_decision(review.review_id, claim_id=review.claim_id, task_token=refused.token)
                self._log(review, "review.decision_rolled_back", level=logging.WARNING)
            raise refused.error from refused.error.__cause__
        else:
            if sent_to != review.task_token:
                self._log(review, "review.decision_sent_on_renewed_token")
        self._reviews.finish_decision(review.review_id)
        decided = review.without_pending_callback()
        at = decided.decided_at or iso(self._clock())
        if self._history.append(
            decided.submission_id,
            events.DECIDED,
            at=at,
            reviewId=decided.review_id,
            decision=decided.decision,
            reason=decided.reason,
            category=decided.category,
            actor=decided.decided_by,
        ):
            self._count.decided(
                at,
                decision=decided.decision or "",
                decided_by=decided.decided_by or "",
                review_created_at=decided.created_at,
            )
        self._notifier.publish_review_event("decided", decided)
        return decided

    def _send(self, review: Review) -> str:
        """SendTaskSuccess on the review's token, or on the next wait's token once the first has ended.

        After a reminder the execution waits on a new token (SPEC §14): a claim that read the old
        one meets TaskTimedOut, and the review then holds the new token (``renew_task_token``).
        Step Functions accepts one success per task, so the decision counts at most once, whoever
        (this request, or the reminder's wait replaying the claim) delivers it. Returns the token used.
        Raises TaskTokenGoneError, OutcomeUnknownError and _Refused (UnavailableError on a token).
        """
        token = review.task_token
        for _wait in range(2):
            try:
                self._workflow.send_decision(token, review.callback_output())
                return token
            except OutcomeUnknownError:
                raise
            except UnavailableError as error:  # refused on this token: nothing happened
                raise _Refused(error, token=token) from error
            except TaskTokenGoneError:
                current = self._reviews.get(review.review_id)
                if current is None or current.task_token == token:
                    raise
                token = current.task_token
        raise TaskTokenGoneError("the execution no longer waits for this review")

    def _settle_gone_token(self, review: Review, error: TaskTokenGoneError) -> None:
        """AWS answers alike for a used token and a timed-out task: ask the execution which it was.

        Well before the deadline, an execution that is still running (or done) took a decision:
        ours (a lost reply, or a request that died after its callback), unless the outcome it
        recorded is another one. Near or past the deadline the task may have timed out instead,
        so the recorded outcome decides.
        """
        if self._workflow.execution_status(review.execution_arn) not in _ALIVE_OR_DONE:
            self._expired(review, error)
        if self._clock() < review.deadline - NEAR_DEADLINE_SECONDS:
            submission = self._submissions.get(review.submission_id)
            if submission is None or not submission.is_final or _is_ours(submission, review):
                self._log(review, "review.decision_already_delivered")
                return
            self._expired(review, error)
        self._settle_by_outcome(review, error)

    def _settle_by_outcome(self, review: Review, error: Exception) -> None:
        """Wait a little for the execution to record its outcome: ours stands (200), another is 410, none is 503."""
        looks = int(SETTLE_SECONDS / SETTLE_INTERVAL_SECONDS) + 1
        for look in range(looks):
            submission = self._submissions.get(review.submission_id)
            if submission is not None and submission.is_final:
                if _is_ours(submission, review):
                    self._log(review, "review.decision_already_delivered")
                    return
                self._expired(review, error)
            if look < looks - 1:  # no wait after the last look: the answer is 503 either way
                self._sleep(SETTLE_INTERVAL_SECONDS)
        self._log(review, "review.decision_unsettled", level=logging.WARNING)
        raise OutcomeUnknownError("the workflow may not have received the decision; retry it") from error

    def _expired(self, review: Review, error: Exception) -> NoReturn:
        self._log(review, "review.expired_on_decision", error=str(error))
        raise ExpiredError("the review expired before the decision reached the workflow") from error

    def _log(self, review: Review, event: str, *, level: int = logging.INFO, **fields: object) -> None:
        log_event(
            logger,
            event,
            level=level,
            submissionId=review.submission_id,
            executionArn=review.execution_arn,
            reviewId=review.review_id,
            **fields,
        )


class DecideReview:
    """``POST /reviews/{id}/approve|reject`` and signed links: exactly one decision per review.

    A rejection names one of ``categories`` (REJECTION_CATEGORIES; none given means ``other``, as
    a signed link's does); an approval names none.
    """

    def __init__(
        self,
        *,
        reviews: ReviewStore,
        resumer: ResumeExecution,
        clock: Clock,
        holder_check: HolderCheck | None = None,
        categories: tuple[str, ...] = DEFAULT_REJECTION_CATEGORIES,
    ) -> None:
        self._reviews = reviews
        self._resumer = resumer
        self._clock = clock
        # Without one, every live hold stands (the unit tests' fakes know no reviewers).
        self._holder_check = holder_check
        self._categories = categories

    def decide(
        self,
        review_id: str,
        *,
        action: str,
        reason: str | None = None,
        category: str | None = None,
        decided_by: str,
        idempotency_key: str | None = None,
    ) -> Review:
        """Apply one decision: a conditional write picks the single winner, then the execution resumes.

        Only the request that claimed the review (or a retry of it with the same
        ``idempotency_key``) resumes the execution and gets the review back; every other
        request gets ConflictError naming the decision that stands. A claim whose request died
        before resuming the execution is finished by the first request after its lease. While
        another reviewer holds the review (SPEC §14's claim, ``usecases.claims``), the same write refuses it.

        Raises NotFoundError, ClaimedError (another reviewer holds it), ConflictError (already decided),
        ExpiredError (deadline passed or the execution no longer waits), ForbiddenError (an appeal, by
        whoever made the decision it contests), BadRequestError (bad reason, category or key),
        IdempotencyKeyReusedError (the key was used for another decision) and UnavailableError
        (the callback failed: a refused one rolls the claim back, an uncertain one keeps it so
        that retrying with the same key finishes it).
        """
        decision, reason, category = self._validated(review_id, action, reason, category)
        claim_id = claim_id_for(decided_by, validated_idempotency_key(idempotency_key))
        for _attempt in range(MAX_CLAIM_ATTEMPTS):
            now = self._clock()
            # Claim first: on the common path the conditional write is the only read we need.
            claimed = self._reviews.claim_decision(
                review_id,
                decision=decision,
                reason=reason,
                decided_by=decided_by,
                decided_at=iso(now),
                claim_id=claim_id,
                now=int(now),
                category=category,
            )
            if claimed is not None:
                log_event(
                    logger,
                    "review.decided",
                    submissionId=claimed.submission_id,
                    executionArn=claimed.execution_arn,
                    reviewId=review_id,
                    decision=decision,
                    decidedBy=decided_by,
                )
                return self._resumer.resume(claimed, release_on_refusal=True)
            review = self._reviews.get(review_id)
            if review is None:
                raise NotFoundError(f"no review {review_id}")
            if review.status != ReviewStatus.PENDING:
                return self._answer_decided(review, claim_id=claim_id, proposed=(decision, reason, category))
            self._refuse_pending(review, decided_by=decided_by, now=now)
            # Pending again (a claim was rolled back), or the hold in the way lapsed or was given
            # back between our write and our read. Claim again.
        raise UnavailableError("the review is being decided by others; retry")

    def _refuse_pending(self, review: Review, *, decided_by: str, now: float) -> None:
        """Why a pending review refused our write: its deadline passed (410), the appeal is against our own decision
        (403), or another reviewer holds it (409)."""
        if review.deadline <= now:  # the condition failed on the deadline
            raise ExpiredError("the review deadline has passed")
        if review.excluded_decider == decided_by:  # the condition failed on who decides
            raise ForbiddenError("the decision under appeal was yours: someone else must decide the appeal")
        holder = review.held_against(decided_by, now)
        if holder is None:
            return
        if self._holder_check is None or self._holder_check.stands(review, holder, now=int(now)):
            raise claimed_by_another(holder)

    def _validated(
        self, review_id: str, action: str, reason: str | None, category: str | None
    ) -> tuple[str, str | None, str | None]:
        """The decision, reason and category (a rejection's must be configured; none given: ``other``)."""
        validate_review_id(review_id)
        decision = DECISION_BY_ACTION[action]
        return (
            decision,
            validated_reason(reason),
            validated_category(category, decision=decision, allowed=self._categories),
        )

    def _answer_decided(self, review: Review, *, claim_id: str, proposed: tuple[str, str | None, str | None]) -> Review:
        """The answer for a request whose claim lost (``proposed``: its decision, reason and category):
        the same answer again for its own retry, else a conflict."""
        if review.decision not in REVIEWER_DECISIONS:  # expired or failed meanwhile
            raise already_decided(review)
        if review.claimed_by(claim_id):  # our own request, retried with the same Idempotency-Key
            # A claim written before categories existed holds none: it meant the default.
            stored_category = review.category or (DEFAULT_CATEGORY if review.decision == Decision.REJECTED else None)
            if (review.decision, review.reason, stored_category) != proposed:
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different decision")
            return self._resumer.resume(review) if review.callback_pending else review
        if review.claim_abandoned(self._clock()):
            review = self._finish_abandoned_claim(review)
        raise already_decided(review)

    def _finish_abandoned_claim(self, review: Review) -> Review:
        """Resume the execution with a decision whose request died after claiming it.

        The lease is renewed first, so only one of several concurrent requests does this; the
        others (and this one, afterwards) get the conflict naming that decision.
        """
        renewed = self._reviews.renew_abandoned_claim(review, now=int(self._clock()))
        if renewed is None:
            return review
        log_event(
            logger,
            "review.abandoned_claim_finished",
            submissionId=review.submission_id,
            executionArn=review.execution_arn,
            reviewId=review.review_id,
            decision=review.decision,
        )
        return self._resumer.resume(renewed)


class _Refused(Exception):
    """Step Functions refused the callback on ``token`` (the UnavailableError it raised is ``error``)."""

    def __init__(self, error: UnavailableError, *, token: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token


def _is_ours(submission: Submission, review: Review) -> bool:
    """The outcome the execution recorded is this review's claimed decision."""
    return (submission.decision, submission.decided_by) == (review.decision, review.decided_by)


def already_decided(review: Review) -> Exception:
    """409 naming the decision that stands (and who made it), or 410 for an expired review."""
    if review.status == ReviewStatus.EXPIRED:
        return ExpiredError("the review has expired")
    if review.status == ReviewStatus.FAILED:
        return ConflictError("the moderation workflow of this review failed")
    decision = review.decision or review.status.lower()
    by = {None: "", SIGNED_LINK: " through a signed link"}.get(review.decided_by, f" by {review.decided_by}")
    if review.callback_pending:
        return ConflictError(f"the review is being {decision}{by}")
    return ConflictError(f"the review was already {decision}{by}")
