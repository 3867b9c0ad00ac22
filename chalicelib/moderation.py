"""The moderation use cases: submit, check, request approval, decide, record the outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import Any

from chalicelib.clock import Clock, iso, parse_iso
from chalicelib.domain import content_check
from chalicelib.domain.actors import CONTENT_CHECK, SIGNED_LINK, WORKFLOW
from chalicelib.errors import (
    BadRequestError,
    ConflictError,
    ExpiredError,
    IdempotencyKeyReusedError,
    NotFoundError,
    UnavailableError,
)
from chalicelib.integrations.mailer import Mailer, MailNotSent
from chalicelib.integrations.notifications import Notifier
from chalicelib.integrations.webhooks import WebhookDeliveryFailed, WebhookSender, message_body, webhook_id_for
from chalicelib.integrations.workflow import OutcomeUnknownError, TaskTokenGoneError, Workflow
from chalicelib.log import log_event
from chalicelib.stores import history as events
from chalicelib.stores.history import History, HistoryEvent
from chalicelib.stores.reviews import (
    DECIDED_STATUSES,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Decision,
    Review,
    ReviewStatus,
    ReviewStore,
    claim_id_for,
    review_id_for,
)
from chalicelib.stores.submissions import (
    IDEMPOTENCY_KEY_MAX_CHARACTERS,
    Submission,
    SubmissionStatus,
    SubmissionStore,
    parse_article_request,
    submission_id_for,
    validate_submission_id,
    validate_uuid,
)
from chalicelib.web.links import signed_path

logger = logging.getLogger(__name__)

REASON_MAX_CHARACTERS = 1000
MAX_REPORTED_MATCHES = 25
MAX_QUOTED_CHARACTERS = 100
# A lost claim is retried only when the winner rolled back meanwhile; more than this means churn.
MAX_CLAIM_ATTEMPTS = 3
SUBMISSION_STATUS_BY_DECISION = {
    Decision.APPROVED: SubmissionStatus.APPROVED,
    Decision.REJECTED: SubmissionStatus.REJECTED,
    Decision.EXPIRED: SubmissionStatus.EXPIRED,
    Decision.FAILED: SubmissionStatus.FAILED,
}
# The execution starts with this outcome: clean content reaches RecordOutcome with it unchanged
# (a state of its own for it would cost a transition on every clean submission); every other
# path overwrites it (the review's decision, MarkExpired, MarkFailed).
DEFAULT_OUTCOME = {"decision": Decision.APPROVED, "decidedBy": CONTENT_CHECK}
# How much of a failed delivery's cause the audit trail keeps.
DELIVERY_ERROR_MAX_CHARACTERS = 300


class ModerationService:
    """Everything the REST API and the workflow's Lambda functions do, over injected stores."""

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        reviews: ReviewStore,
        history: History,
        workflow: Workflow,
        notifier: Notifier,
        word_list_source: Callable[[], list[str]],
        link_secret: Callable[[], str],
        review_timeout_seconds: int,
        clock: Clock,
        mailer: Callable[[], Mailer] | None = None,
        webhook_sender: Callable[[], WebhookSender | None] = lambda: None,
    ) -> None:
        self._submissions = submissions
        self._reviews = reviews
        self._history = history
        self._workflow = workflow
        self._notifier = notifier
        self._word_list_source = word_list_source
        self._link_secret = link_secret
        self._review_timeout_seconds = review_timeout_seconds
        self._clock = clock
        self._mailer = mailer
        self._webhook_sender = webhook_sender

    @cached_property
    def word_list(self) -> content_check.WordList:
        """The compiled word list: normalised once per cold start, not per call."""
        return content_check.compile_word_list(self._word_list_source())

    # --- submissions -------------------------------------------------------------------

    def submit(self, payload: Any, *, idempotency_key: str | None) -> Submission:
        """Store a submission and start its execution; the same Idempotency-Key returns the same one.

        Raises BadRequestError / PayloadTooLargeError for bad input (nothing stored),
        IdempotencyKeyReusedError when a key comes back with a different article, and
        UnavailableError when the workflow cannot be started (nothing left behind).
        """
        request = parse_article_request(payload)
        submission_id = submission_id_for(idempotency_key)
        # The execution is named after the submission, so its ARN is known before it starts
        # and is stored with the submission: no second write once it has started.
        execution_arn = self._workflow.execution_arn_for(submission_id)
        submission = Submission(
            submission_id=submission_id,
            title=request.title,
            body=request.body,
            status=SubmissionStatus.CHECKING,
            created_at=iso(self._clock()),
            request_fingerprint=request.fingerprint(),
            notify_email=request.notify_email,
            execution_arn=execution_arn,
        )
        if not self._submissions.create(submission):
            existing = self._submissions.get(submission_id)
            if existing is None:  # a concurrent request with this key failed and rolled back
                raise UnavailableError("a concurrent request with this Idempotency-Key failed; retry")
            if existing.request_fingerprint != submission.request_fingerprint:
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different article")
            if self._workflow.execution_status(execution_arn) is not None:
                return existing
            submission = existing  # a retry after a start that failed half-way: start it now
        submission = self._start(submission)
        self._history.append(submission.submission_id, events.SUBMITTED, at=submission.created_at)
        return submission

    def _start(self, submission: Submission) -> Submission:
        """Start the submission's execution; the submission with its execution ARN."""
        try:
            execution_arn = self._workflow.start(
                name=submission.submission_id,
                payload={
                    "submissionId": submission.submission_id,
                    "reviewTimeoutSeconds": self._review_timeout_seconds,
                    "outcome": DEFAULT_OUTCOME,
                },
            )
        except OutcomeUnknownError:
            # The start may have gone through: keep the submission if its execution exists.
            execution_arn = self._workflow.execution_arn_for(submission.submission_id)
            if self._workflow.execution_status(execution_arn) is None:
                self._submissions.delete(submission.submission_id)
                raise
        except UnavailableError:
            self._submissions.delete(submission.submission_id)  # no execution, so no submission
            raise
        log_event(logger, "submission.accepted", submissionId=submission.submission_id, executionArn=execution_arn)
        return replace(submission, execution_arn=execution_arn)

    def get_submission(self, submission_id: str) -> Submission:
        """Raises BadRequestError for a malformed id, NotFoundError for an unknown one."""
        submission = self._submissions.get(validate_submission_id(submission_id))
        if submission is None:
            raise NotFoundError(f"no submission {submission_id}")
        return submission

    # --- workflow tasks ----------------------------------------------------------------

    def check_content(self, event: dict[str, Any]) -> dict[str, Any]:
        """The content-check task: which configured words the title and body contain.

        At most MAX_REPORTED_MATCHES are passed on, each quoting at most MAX_QUOTED_CHARACTERS:
        a body stuffed with banned words must not blow Step Functions' 256 KB payload, a
        DynamoDB item or a page of the pending list. The full count goes to the history and
        the log, not to the execution, whose state machine keeps only ``flagged`` and ``matches``.
        """
        submission = self.get_submission(event["submissionId"])
        matches: list[dict[str, Any]] = []
        for field_name, text in (("title", submission.title), ("body", submission.body)):
            for match in content_check.find_matches(text, self.word_list):
                matches.append({"field": field_name, **match.to_dict()})
        reported = [
            {**match, "text": match["text"][:MAX_QUOTED_CHARACTERS]} for match in matches[:MAX_REPORTED_MATCHES]
        ]
        log_event(
            logger,
            "content.checked",
            submissionId=submission.submission_id,
            executionArn=event.get("executionArn"),
            flagged=bool(matches),
            matchCount=len(matches),
        )
        self._history.append(
            submission.submission_id,
            events.CHECKED,
            at=iso(self._clock()),
            flagged=bool(matches),
            matches=reported,
            matchCount=len(matches),
        )
        return {"flagged": bool(matches), "matches": reported}

    def request_approval(self, event: dict[str, Any]) -> dict[str, Any]:
        """The wait-for-callback task: store the review with its token; the execution then waits."""
        submission_id = event["submissionId"]
        execution_arn = event["executionArn"]
        review_id = review_id_for(execution_arn)
        entered = parse_iso(event["enteredTime"]) if event.get("enteredTime") else self._clock()
        deadline = int(entered + int(event.get("timeoutSeconds") or self._review_timeout_seconds))
        secret = self._link_secret()
        # Status first: once the review is listed, the submission already reads IN_REVIEW. The write
        # returns the submission; only a retried task (no longer CHECKING) reads it again.
        in_review = self._submissions.mark_in_review(submission_id)
        submission = in_review if in_review is not None else self.get_submission(submission_id)
        review = Review(
            review_id=review_id,
            submission_id=submission_id,
            execution_arn=execution_arn,
            title=submission.title,
            matches=event.get("matches") or [],
            status=ReviewStatus.PENDING,
            created_at=iso(entered),
            deadline=deadline,
            deadline_at=iso(deadline),
            approve_path=signed_path(secret, review_id=review_id, action="approve", expires=deadline),
            reject_path=signed_path(secret, review_id=review_id, action="reject", expires=deadline),
            task_token=event["taskToken"],
        )
        stored = self._reviews.put_pending(review)
        if in_review is not None:
            self._notifier.publish_status(in_review)
        log_event(
            logger,
            "review.requested",
            submissionId=submission_id,
            executionArn=execution_arn,
            reviewId=review_id,
            deadline=review.deadline_at,
            stored=stored,
        )
        if not stored:
            self._replay_decision(review_id, task_token=event["taskToken"])
        else:
            self._history.append(
                submission_id,
                events.REVIEW_REQUESTED,
                at=review.created_at,
                key=review_id,
                reviewId=review_id,
                deadline=review.deadline_at,
            )
            self._notifier.publish_review_event("created", review.to_public(None))
        return {"reviewId": review_id}

    def _replay_decision(self, review_id: str, *, task_token: str) -> None:
        """A retried task found its review already decided: hand that decision to the new token.

        Step Functions gives each attempt a new token, and the decision went to the old one;
        without this the execution would wait for the deadline and expire a decided review.
        """
        review = self._reviews.get(review_id)
        if review is None or review.decision not in (Decision.APPROVED, Decision.REJECTED):
            return
        self._workflow.send_decision(task_token, _callback_output(review))
        log_event(
            logger,
            "review.decision_replayed",
            submissionId=review.submission_id,
            executionArn=review.execution_arn,
            reviewId=review_id,
            decision=review.decision,
        )

    def record_outcome(self, event: dict[str, Any]) -> dict[str, Any]:
        """Record the outcome on the submission and review, notify subscribers, e-mail the submitter.

        Returns what the delivery states need: ``detail`` (the EventBridge detail and the
        webhook's ``data``) and ``webhooks`` (one item when WEBHOOK_URL is set, else none).
        Subscribers come first: no delivery to the platform ever delays them.
        """
        outcome = event["outcome"]
        decision = outcome["decision"]
        submission = self._submissions.record_outcome(
            event["submissionId"],
            status=SUBMISSION_STATUS_BY_DECISION[decision],
            decision=decision,
            reason=outcome.get("reason"),
            decided_by=outcome.get("decidedBy", WORKFLOW),
            # Pass states stamp $$.State.EnteredTime, whose format varies: store our one format.
            decided_at=iso(parse_iso(outcome["decidedAt"])) if outcome.get("decidedAt") else iso(self._clock()),
        )
        if submission is None:  # nothing to record (it was rolled back): retrying cannot help
            log_event(
                logger,
                "outcome.no_submission",
                level=logging.ERROR,
                submissionId=event["submissionId"],
                executionArn=event.get("executionArn"),
                decision=decision,
            )
            detail = {
                "submissionId": event["submissionId"],
                "title": None,
                "decision": decision,
                "decidedBy": outcome.get("decidedBy", WORKFLOW),
                "decidedAt": outcome.get("decidedAt"),
            }
            return {
                "submissionId": event["submissionId"],
                "decision": decision,
                "delivered": 0,
                "detail": detail,
                "webhooks": [],
            }
        log_event(
            logger,
            "outcome.recorded",
            submissionId=submission.submission_id,
            executionArn=event.get("executionArn"),
            decision=decision,
        )
        # Subscribers first: they wait on this, the review's copy of the outcome does not.
        delivered = self._notifier.publish_decision(submission)
        self._record_outcome_history(submission, delivered=delivered)
        if submission.decided_by != CONTENT_CHECK:  # clean content never had a review
            self._close_review(review_id_for(event["executionArn"]), submission, decision=decision)
        if submission.notify_email:
            self._send_outcome_email(submission)
        detail = outcome_detail(submission)
        webhooks = []
        if self._webhook_sender() is not None:
            webhooks.append(
                {
                    "submissionId": submission.submission_id,
                    "webhookId": webhook_id_for(submission.submission_id),
                    "detail": detail,
                }
            )
        return {
            "submissionId": submission.submission_id,
            "decision": decision,
            "delivered": delivered,
            "detail": detail,
            "webhooks": webhooks,
        }

    def _close_review(self, review_id: str, submission: Submission, *, decision: str) -> None:
        """Make the review show the execution's outcome without writing a reviewer's decision twice.

        A reviewer's decision reached the execution as the review's own fields, written by its
        claim: only a ``callbackPending`` left by a request that died after its callback is
        cleared. An expiry or a failure is written onto the review, and reviewers hear of it.
        """
        if decision in (Decision.APPROVED, Decision.REJECTED):
            self._reviews.finish_decision(review_id)
            return
        review = self._reviews.record_final(
            review_id,
            decision=decision,
            reason=submission.reason,
            decided_by=submission.decided_by or WORKFLOW,
            decided_at=submission.decided_at or iso(self._clock()),
        )
        if review is not None:
            self._notifier.publish_review_event(
                "expired" if decision == Decision.EXPIRED else "decided", review.to_public(None)
            )

    def _send_outcome_email(self, submission: Submission) -> None:
        """One message to the address given at submit; its fate goes in the audit trail, never the address."""
        at = iso(self._clock())
        try:
            if self._mailer is None:
                raise MailNotSent("no mailer is configured")
            message_id = self._mailer().send_outcome(submission, to=submission.notify_email or "")
        except MailNotSent as error:
            log_event(
                logger, "email.failed", level=logging.WARNING, submissionId=submission.submission_id, error=str(error)
            )
            self._history.append(
                submission.submission_id, events.DELIVERY_FAILED, at=at, key="email", channel="email", error=str(error)
            )
            return
        self._history.append(
            submission.submission_id, events.DELIVERED, at=at, key="email", channel="email", messageId=message_id
        )

    # --- deliveries to the platform ----------------------------------------------------------

    def deliver_webhook(self, event: dict[str, Any]) -> dict[str, Any]:
        """One webhook attempt (the state machine retries): POST, record ``delivered`` on a 2xx.

        Raises WebhookDeliveryFailed for anything else, which Step Functions retries with
        backoff and, after the last attempt, catches into :meth:`record_delivery_failure`.
        """
        submission_id, webhook_id = event["submissionId"], event["webhookId"]
        attempt_number = int(event.get("attempt") or 0) + 1
        sender = self._webhook_sender()
        if sender is None:
            raise WebhookDeliveryFailed("WEBHOOK_URL is no longer configured")
        try:
            attempt = sender.send(webhook_id=webhook_id, body=message_body(event["detail"]))
        except WebhookDeliveryFailed as error:
            log_event(
                logger,
                "webhook.attempt_failed",
                level=logging.WARNING,
                submissionId=submission_id,
                webhookId=webhook_id,
                attempt=attempt_number,
                error=str(error),
            )
            raise
        self._history.append(
            submission_id,
            events.DELIVERED,
            at=iso(self._clock()),
            key="webhook",
            channel="webhook",
            webhookId=webhook_id,
            status=attempt.status,
            attempts=attempt_number,
        )
        return {"webhookId": webhook_id, "status": attempt.status, "attempts": attempt_number}

    def record_delivery_failure(self, event: dict[str, Any]) -> dict[str, Any]:
        """A channel failed after its last retry: record ``delivery_failed``; the decision stands."""
        channel = event["channel"]
        error = event.get("error") or {}
        cause = _error_message(error.get("Cause"))
        log_event(
            logger,
            "delivery.failed",
            level=logging.WARNING,
            submissionId=event["submissionId"],
            executionArn=event.get("executionArn"),
            channel=channel,
            error=error.get("Error"),
            cause=cause,
        )
        self._history.append(
            event["submissionId"],
            events.DELIVERY_FAILED,
            at=iso(self._clock()),
            key=channel,
            channel=channel,
            webhookId=event.get("webhookId"),
            error=error.get("Error"),
            cause=cause,
        )
        return {"channel": channel, "recorded": True}

    def _record_outcome_history(self, submission: Submission, *, delivered: int) -> None:
        """The outcome's events: reviewers' decisions were recorded when they were made."""
        at = submission.decided_at or iso(self._clock())
        if submission.decision == Decision.EXPIRED:
            self._history.append(submission.submission_id, events.EXPIRED, at=at, reason=submission.reason)
        elif submission.decision == Decision.FAILED:
            self._history.append(submission.submission_id, events.FAILED, at=at, reason=submission.reason)
        elif submission.decided_by == CONTENT_CHECK:
            self._history.append(
                submission.submission_id, events.DECIDED, at=at, decision=submission.decision, actor=CONTENT_CHECK
            )
        self._history.append(
            submission.submission_id,
            events.DELIVERED,
            at=iso(self._clock()),
            key="websocket",
            channel="websocket",
            sockets=delivered,
        )

    # --- reviews -------------------------------------------------------------------------

    def list_reviews(
        self, *, status: str | None, limit: str | None, next_token: str | None, order: str | None
    ) -> tuple[list[Review], str | None]:
        """One page of pending (oldest first by default) or decided reviews (newest first by default).

        Raises BadRequestError for a bad status, limit, order or nextToken.
        """
        page_size = _page_size(limit)
        if order not in (None, "oldest", "newest"):
            raise BadRequestError("order must be 'oldest' or 'newest'")
        status = "pending" if status is None else status.lower()
        if status == "pending":
            return self._reviews.list_pending(limit=page_size, page_token=next_token, oldest_first=order != "newest")
        if status not in DECIDED_STATUSES:
            raise BadRequestError("status must be one of pending, " + ", ".join(DECIDED_STATUSES))
        return self._reviews.list_decided(
            status=status, limit=page_size, page_token=next_token, newest_first=order != "oldest"
        )

    def get_review(self, review_id: str) -> Review:
        """Raises BadRequestError for a malformed id, NotFoundError for an unknown one."""
        validate_uuid(review_id, field="reviewId")
        review = self._reviews.get(review_id)
        if review is None:
            raise NotFoundError(f"no review {review_id}")
        return review

    def get_review_in_full(self, review_id: str) -> tuple[Review, str]:
        """The review and the body of the article it judges (the review item keeps only the title)."""
        review = self.get_review(review_id)
        submission = self._submissions.get(review.submission_id)
        return review, submission.body if submission is not None else ""

    def history(self, submission_id: str) -> list[HistoryEvent]:
        """The audit trail of a submission, oldest first. Raises BadRequestError / NotFoundError."""
        submission = self.get_submission(submission_id)
        return self._history.events(submission.submission_id)

    def decide(
        self,
        review_id: str,
        *,
        action: str,
        reason: str | None = None,
        decided_by: str,
        idempotency_key: str | None = None,
    ) -> Review:
        """Apply one decision: a conditional write picks the single winner, then the execution resumes.

        Only the request that claimed the review (or a retry of it with the same
        ``idempotency_key``) resumes the execution and gets the review back; every other
        request gets ConflictError naming the decision that stands. A claim whose request died
        before resuming the execution is finished by the first request after its lease.

        Raises NotFoundError, ConflictError (already decided), ExpiredError (deadline passed or
        the execution no longer waits), BadRequestError (bad reason or key),
        IdempotencyKeyReusedError (the key was used for another decision) and UnavailableError
        (the callback failed: a refused one rolls the claim back, an uncertain one keeps it so
        that retrying with the same key finishes it).
        """
        decision = Decision.BY_ACTION[action]
        reason = _validated_reason(reason)
        validate_uuid(review_id, field="reviewId")
        claim_id = claim_id_for(decided_by, _validated_decision_key(idempotency_key))
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
                return self._resume(claimed, release_on_refusal=True)
            review = self._reviews.get(review_id)
            if review is None:
                raise NotFoundError(f"no review {review_id}")
            if review.status != ReviewStatus.PENDING:
                return self._answer_decided(review, claim_id=claim_id, decision=decision, reason=reason)
            if review.deadline <= now:  # the condition failed on the deadline
                raise ExpiredError("the review deadline has passed")
            # Pending again: a claim was rolled back between our write and our read. Claim again.
        raise UnavailableError("the review is being decided by others; retry")

    def _answer_decided(self, review: Review, *, claim_id: str, decision: str, reason: str | None) -> Review:
        """The answer for a request whose claim lost: the same answer again for its own retry, else a conflict."""
        if review.decision not in (Decision.APPROVED, Decision.REJECTED):  # expired or failed meanwhile
            raise _already_decided(review)
        if review.claimed_by(claim_id):  # our own request, retried with the same Idempotency-Key
            if (review.decision, review.reason) != (decision, reason):
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different decision")
            return self._resume(review) if review.callback_pending else review
        if review.claim_abandoned(self._clock()):
            review = self._finish_abandoned_claim(review)
        raise _already_decided(review)

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
        return self._resume(renewed)

    def _resume(self, review: Review, *, release_on_refusal: bool = False) -> Review:
        """Tell the execution about a claimed decision; ``release_on_refusal``: the claim is this request's own."""
        try:
            self._workflow.send_decision(review.task_token, _callback_output(review))
        except TaskTokenGoneError as error:
            # AWS answers alike for a used token and a timed-out task: ask the execution.
            if self._clock() < review.deadline and self._workflow.execution_status(review.execution_arn) in (
                "RUNNING",
                "SUCCEEDED",
            ):
                # An earlier attempt of this claim delivered it (a lost reply, or a request
                # that died after its callback): the decision stands.
                log_event(
                    logger,
                    "review.decision_already_delivered",
                    submissionId=review.submission_id,
                    executionArn=review.execution_arn,
                    reviewId=review.review_id,
                )
            else:
                log_event(
                    logger,
                    "review.expired_on_decision",
                    submissionId=review.submission_id,
                    executionArn=review.execution_arn,
                    reviewId=review.review_id,
                    error=str(error),
                )
                raise ExpiredError("the review expired before the decision reached the workflow") from error
        except OutcomeUnknownError:
            log_event(
                logger,
                "review.decision_uncertain",
                level=logging.WARNING,
                submissionId=review.submission_id,
                executionArn=review.execution_arn,
                reviewId=review.review_id,
            )
            raise
        except UnavailableError:
            if release_on_refusal and review.claim_id is not None:
                self._reviews.release_decision(review.review_id, claim_id=review.claim_id)
                log_event(
                    logger,
                    "review.decision_rolled_back",
                    level=logging.WARNING,
                    submissionId=review.submission_id,
                    executionArn=review.execution_arn,
                    reviewId=review.review_id,
                )
            raise
        self._reviews.finish_decision(review.review_id)
        decided = review.without_pending_callback()
        self._history.append(
            decided.submission_id,
            events.DECIDED,
            at=decided.decided_at or iso(self._clock()),
            reviewId=decided.review_id,
            decision=decided.decision,
            reason=decided.reason,
            actor=decided.decided_by,
        )
        self._notifier.publish_review_event("decided", decided.to_public(None))
        return decided


def outcome_detail(submission: Submission) -> dict[str, Any]:
    """The EventBridge detail and webhook ``data`` (SPEC §12): no body, no e-mail address."""
    detail: dict[str, Any] = {
        "submissionId": submission.submission_id,
        "title": submission.title,
        "decision": submission.decision,
        "decidedBy": submission.decided_by or WORKFLOW,
        "decidedAt": submission.decided_at,
    }
    if submission.reason:
        detail["reason"] = submission.reason
    return detail


def _error_message(cause: Any) -> str | None:
    """The readable part of a Step Functions error cause (a Lambda's is JSON with ``errorMessage``)."""
    import json

    if not cause:
        return None
    text = str(cause)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        text = str(parsed["errorMessage"])
    return text[:DELIVERY_ERROR_MAX_CHARACTERS]


def _callback_output(review: Review) -> dict[str, Any]:
    """What SendTaskSuccess hands the execution (it becomes ``$.outcome``)."""
    return {
        "decision": review.decision,
        "reason": review.reason,
        "decidedBy": review.decided_by,
        "decidedAt": review.decided_at,
    }


def _already_decided(review: Review) -> Exception:
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


def _validated_decision_key(idempotency_key: str | None) -> str | None:
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_CHARACTERS:
        raise BadRequestError(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_CHARACTERS} characters")
    return key


def _validated_reason(reason: object) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise BadRequestError("'reason' must be a string")
    if len(reason) > REASON_MAX_CHARACTERS:
        raise BadRequestError(f"'reason' must be at most {REASON_MAX_CHARACTERS} characters")
    return reason.strip() or None


def _page_size(limit: str | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(limit)
    except ValueError:
        raise BadRequestError("limit must be an integer") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return size
