"""Outcomes: the final task records the decision everywhere it shows and tells the submitter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock, iso, parse_iso
from chalicelib.domain import history as events
from chalicelib.domain.actors import CONTENT_CHECK, WORKFLOW, is_automated
from chalicelib.domain.appeal import appeal_outcome, is_appeal_execution
from chalicelib.domain.identifiers import review_id_for
from chalicelib.domain.limits import RECIPIENT_CAP
from chalicelib.domain.ports import HistoryStore, Notifications, ReviewStore, SubmissionStore
from chalicelib.domain.review import DEFAULT_CATEGORY, REVIEWER_DECISIONS, Decision
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.errors import LimiterUnavailable, MailNotSent
from chalicelib.integrations.mailer import Mailer
from chalicelib.integrations.webhooks import WebhookSender, webhook_id_for
from chalicelib.log import log_event
from chalicelib.usecases.deliveries import outcome_detail
from chalicelib.usecases.limits import RecipientCap
from chalicelib.usecases.stats import CountEvents
from chalicelib.usecases.text_messages import OutcomeTextMessage

logger = logging.getLogger(__name__)

# The EventBridge DetailType of an outcome (SPEC §12, §15).
DETAIL_TYPE = "Submission Decided"
APPEAL_DETAIL_TYPE = "Submission Appeal Decided"

SUBMISSION_STATUS_BY_DECISION: dict[str, SubmissionStatus] = {
    Decision.APPROVED: SubmissionStatus.APPROVED,
    Decision.REJECTED: SubmissionStatus.REJECTED,
    Decision.EXPIRED: SubmissionStatus.EXPIRED,
    Decision.FAILED: SubmissionStatus.FAILED,
}


class OutcomeEmail:
    """One message per outcome to the address given at submit; its fate goes in the audit trail, never the address.

    A retried final task (Lambda retries, a redelivered task) finds the outcome's marker set and
    sends nothing again (SPEC §19); a message that could not be sent gives its marker back.
    """

    CHANNEL = "email"

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        history: HistoryStore,
        mailer: Callable[[], Mailer] | None,
        clock: Clock,
        count: CountEvents,
        recipient_cap: RecipientCap | None = None,
    ) -> None:
        self._count = count
        self._submissions = submissions
        self._history = history
        self._mailer = mailer
        self._clock = clock
        self._recipient_cap = recipient_cap

    def send(self, submission: Submission) -> None:
        outcome = f"{submission.decision}#{submission.decided_at}"
        if not self._submissions.mark_sent(submission.submission_id, channel=self.CHANNEL, outcome=outcome):
            log_event(logger, "email.already_sent", submissionId=submission.submission_id, outcome=outcome)
            return
        at = iso(self._clock())
        address = submission.notify_email or ""
        try:
            if self._mailer is None:
                raise MailNotSent("no mailer is configured")
            if not self._within_cap(address):
                self._skip(submission, at=at)  # the marker stays: a retried task must not send it either
                return
            message_id = self._mailer().send_outcome(submission, to=address)
        except MailNotSent as error:
            self._submissions.unmark_sent(submission.submission_id, channel=self.CHANNEL, outcome=outcome)
            log_event(
                logger, "email.failed", level=logging.WARNING, submissionId=submission.submission_id, error=str(error)
            )
            if self._history.append(
                submission.submission_id, events.DELIVERY_FAILED, at=at, key="email", channel="email", error=str(error)
            ):
                self._count.delivery_failed(self.CHANNEL)
            return
        self._history.append(
            submission.submission_id, events.DELIVERED, at=at, key="email", channel="email", messageId=message_id
        )

    def _within_cap(self, address: str) -> bool:
        """Count this message against the address's daily cap (SPEC §18). Raises MailNotSent when it cannot be counted."""
        if self._recipient_cap is None:
            return True
        try:
            return self._recipient_cap.allows(self.CHANNEL, address)
        except LimiterUnavailable as error:
            # Fail closed: an uncounted message could be the one past the cap.
            raise MailNotSent(f"the recipient cap could not be counted ({error})") from None

    def _skip(self, submission: Submission, *, at: str) -> None:
        log_event(logger, "email.skipped", submissionId=submission.submission_id, reason=RECIPIENT_CAP)
        if self._history.append(
            submission.submission_id,
            events.DELIVERY_SKIPPED,
            at=at,
            key="email",
            channel=self.CHANNEL,
            reason=RECIPIENT_CAP,
        ):
            self._count.notification_skipped(at, channel=self.CHANNEL)


class RecordOutcome:
    """The final task: record the outcome on the submission and review, notify, e-mail and text, hand over deliveries."""

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        reviews: ReviewStore,
        history: HistoryStore,
        notifier: Notifications,
        email: OutcomeEmail,
        webhook_sender: Callable[[], WebhookSender | None],
        clock: Clock,
        count: CountEvents,
        sms: OutcomeTextMessage | None = None,
    ) -> None:
        self._count = count
        self._sms = sms
        self._submissions = submissions
        self._reviews = reviews
        self._history = history
        self._notifier = notifier
        self._email = email
        self._webhook_sender = webhook_sender
        self._clock = clock

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        """Record the outcome in ``event`` and deliver it to subscribers and the submitter's e-mail.

        Returns what the delivery states need: ``detail`` (the EventBridge detail and the
        webhook's ``data``), ``detailType`` (an appeal's outcome has its own) and ``webhooks`` (one item when WEBHOOK_URL is set, else none).
        Subscribers come first: no delivery to the platform ever delays them.
        """
        outcome = event["outcome"]
        decision = outcome["decision"]
        appealed = is_appeal_execution(event.get("executionArn"), event["submissionId"])
        fields = self._appeal_fields(event["submissionId"], outcome) if appealed else self._fields(outcome)
        submission = self._submissions.record_outcome(event["submissionId"], **fields) if fields else None
        if fields is None or submission is None:  # nothing to record (it was rolled back): retrying cannot help
            return self._nothing_to_record(event, outcome)
        log_event(
            logger,
            "outcome.recorded",
            submissionId=submission.submission_id,
            executionArn=event.get("executionArn"),
            decision=decision,
        )
        # Subscribers first: they wait on this, the review's copy of the outcome does not.
        delivered = self._notifier.publish_decision(submission)
        self._record_history(submission, delivered=delivered, appeal_decision=decision if appealed else None)
        if submission.decided_by != CONTENT_CHECK:  # clean content never had a review
            self._close_review(
                review_id_for(event["executionArn"]),
                decision=decision,
                reason=outcome.get("reason"),
                decided_by=fields["decided_by"],
                decided_at=fields["decided_at"],
            )
        if submission.notify_email:
            self._email.send(submission)
        if submission.notify_phone and self._sms is not None:
            self._sms.send(submission)
        detail = outcome_detail(submission)
        webhooks = []
        if self._webhook_sender() is not None:
            webhooks.append(
                {
                    "submissionId": submission.submission_id,
                    "webhookId": webhook_id_for(submission.submission_id, appeal=appealed),
                    "detail": detail,
                }
            )
        return {
            "submissionId": submission.submission_id,
            "decision": decision,
            "delivered": delivered,
            "detail": detail,
            "detailType": APPEAL_DETAIL_TYPE if appealed else DETAIL_TYPE,
            "webhooks": webhooks,
        }

    def _fields(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """What the submission records of an outcome."""
        decision = outcome["decision"]
        return {
            "status": SUBMISSION_STATUS_BY_DECISION[decision],
            "decision": decision,
            "reason": outcome.get("reason"),
            "category": _category(outcome),
            "decided_by": outcome.get("decidedBy", WORKFLOW),
            # Pass states stamp $$.State.EnteredTime, whose format varies: store our one format.
            "decided_at": iso(parse_iso(outcome["decidedAt"])) if outcome.get("decidedAt") else iso(self._clock()),
        }

    def _appeal_fields(self, submission_id: str, outcome: dict[str, Any]) -> dict[str, Any] | None:
        """An appeal's outcome: approved overturns the refusal; a refusal replaces it; the deadline keeps it.

        None when the submission or its appeal is gone (nothing to record).
        """
        submission = self._submissions.get(submission_id)
        if submission is None or submission.appeal is None:
            return None
        fields = self._fields(outcome)
        decision = outcome["decision"]
        if decision == Decision.FAILED:
            return fields  # the workflow failed: said as for any submission
        if decision == Decision.EXPIRED:  # upheld by the deadline: the contested decision stands
            appeal = submission.appeal
            fields |= {
                "status": appeal.original_status,
                "decision": appeal.original_decision or Decision.REJECTED,
                "reason": appeal.original_reason,
                "category": appeal.original_category,
            }
        return fields | {"appeal_outcome": appeal_outcome(decision)}

    def _nothing_to_record(self, event: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
        log_event(
            logger,
            "outcome.no_submission",
            level=logging.ERROR,
            submissionId=event["submissionId"],
            executionArn=event.get("executionArn"),
            decision=outcome["decision"],
        )
        detail = {
            "submissionId": event["submissionId"],
            "title": None,
            "decision": outcome["decision"],
            "decidedBy": outcome.get("decidedBy", WORKFLOW),
            "automated": is_automated(outcome.get("decidedBy", WORKFLOW)),
            "decidedAt": outcome.get("decidedAt"),
        }
        return {
            "submissionId": event["submissionId"],
            "decision": outcome["decision"],
            "delivered": 0,
            "detail": detail,
            "detailType": DETAIL_TYPE,
            "webhooks": [],
        }

    def _close_review(
        self, review_id: str, *, decision: str, reason: str | None, decided_by: str, decided_at: str
    ) -> None:
        """Make the review show the execution's outcome without writing a reviewer's decision twice.

        A reviewer's decision reached the execution as the review's own fields, written by its
        claim: only a ``callbackPending`` left by a request that died after its callback is
        cleared. An expiry or a failure is written onto the review, and reviewers hear of it.
        """
        if decision in REVIEWER_DECISIONS:
            self._reviews.finish_decision(review_id)
            return
        review = self._reviews.record_final(
            review_id, decision=decision, reason=reason, decided_by=decided_by, decided_at=decided_at
        )
        if review is not None:
            self._notifier.publish_review_event("expired" if decision == Decision.EXPIRED else "decided", review)

    def _record_history(self, submission: Submission, *, delivered: int, appeal_decision: str | None) -> None:
        """The outcome's events: reviewers' decisions were recorded when they were made.

        ``appeal_decision``: the appeal review's decision (approved, rejected, expired) of an appeal's outcome.
        """
        at = submission.decided_at or iso(self._clock())
        if appeal_decision is not None and submission.appeal is not None and submission.appeal.outcome:
            self._history.append(
                submission.submission_id,
                events.APPEAL_DECIDED,
                at=at,
                key=submission.appeal.appeal_id,
                appealId=submission.appeal.appeal_id,
                appeal=submission.appeal.outcome,
                decision=appeal_decision,
                reason=submission.reason,
                actor=submission.decided_by,
            )
        elif submission.decision == Decision.EXPIRED:
            if self._history.append(submission.submission_id, events.EXPIRED, at=at, reason=submission.reason):
                self._count.expired(at)
        elif submission.decision == Decision.FAILED:
            self._history.append(submission.submission_id, events.FAILED, at=at, reason=submission.reason)
        elif submission.decided_by == CONTENT_CHECK and self._history.append(
            submission.submission_id,
            events.DECIDED,
            at=at,
            decision=submission.decision,
            reason=submission.reason,
            category=submission.category,
            actor=CONTENT_CHECK,
        ):
            self._count.decided(at, decision=submission.decision or "", decided_by=CONTENT_CHECK)
        self._history.append(
            submission.submission_id,
            events.DELIVERED,
            at=iso(self._clock()),
            key="websocket",
            channel="websocket",
            sockets=delivered,
        )


def _category(outcome: dict[str, Any]) -> str | None:
    """A rejection's category: the decider's, else DEFAULT_CATEGORY (an execution started before categories)."""
    if outcome["decision"] != Decision.REJECTED:
        return None
    return str(outcome.get("category") or DEFAULT_CATEGORY)
