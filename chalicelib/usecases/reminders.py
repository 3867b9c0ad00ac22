"""Reminders (SPEC §14): a review still pending REVIEW_REMINDER_SECONDS before its deadline is announced as due soon.

The state machine waits twice: until the reminder, then until the original deadline. Between the
two, :class:`RemindReview` announces the review and :class:`AwaitDecision` hands the review the
token of the second wait, or, when a decision was claimed on the first token meanwhile, hands that
decision to the second one, so a decision at any moment around the reminder counts exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock, iso, parse_iso
from chalicelib.domain import history as events
from chalicelib.domain.identifiers import review_id_for
from chalicelib.domain.ports import HistoryStore, Notifications, ReviewStore, WorkflowEngine
from chalicelib.domain.review import REVIEWER_DECISIONS, Review, ReviewStatus
from chalicelib.errors import TaskTokenGoneError
from chalicelib.integrations.webhooks import DUE_SOON_EVENT_TYPE, WebhookSender, due_soon_webhook_id_for
from chalicelib.log import log_event

logger = logging.getLogger(__name__)


def due_soon_detail(review: Review) -> dict[str, Any]:
    """The EventBridge detail and webhook ``data`` of a reminder: no body, no token, no links."""
    return {
        "reviewId": review.review_id,
        "submissionId": review.submission_id,
        "title": review.title,
        "deadline": review.deadline_at,
    }


def reminder_wait_seconds(*, review_timeout_seconds: int, review_reminder_seconds: int) -> int | None:
    """How long the first wait lasts before the reminder; None when there is no reminder (0, or not before the deadline)."""
    if review_reminder_seconds <= 0 or review_reminder_seconds >= review_timeout_seconds:
        return None
    return review_timeout_seconds - review_reminder_seconds


class RemindReview:
    """The reminder task: announce a still-pending review as due soon, and say how long the second wait lasts."""

    def __init__(
        self,
        *,
        reviews: ReviewStore,
        history: HistoryStore,
        notifier: Notifications,
        webhook_sender: Callable[[], WebhookSender | None],
        clock: Clock,
    ) -> None:
        self._reviews = reviews
        self._history = history
        self._notifier = notifier
        self._webhook_sender = webhook_sender
        self._clock = clock

    def remind(self, event: dict[str, Any]) -> dict[str, Any]:
        """``{"reminded", "remainingSeconds", "detail", "webhooks"}`` for the state machine.

        ``remainingSeconds`` ends the second wait at the original deadline: the reminder's lead
        time, less whatever time has passed since the review's deadline came within it. A review
        decided meanwhile is not announced (its decision is on its way to the execution).
        """
        review_id = review_id_for(event["executionArn"])
        # The time the state was entered, not now: a retried reminder announces (and records) it once.
        at = iso(parse_iso(event["enteredTime"])) if event.get("enteredTime") else iso(self._clock())
        lead_seconds = int(event["beforeDeadlineSeconds"])
        review = self._reviews.mark_reminded(review_id, at=at)
        if review is None:
            log_event(logger, "review.reminder_skipped", executionArn=event["executionArn"], reviewId=review_id)
            known = self._reviews.get(review_id)
            return {
                "reminded": False,
                "remainingSeconds": self._remaining(known, lead_seconds),
                "detail": {},
                "webhooks": [],
            }
        self._history.append(
            review.submission_id, events.REMINDED, at=at, key=review_id, reviewId=review_id, deadline=review.deadline_at
        )
        self._notifier.publish_review_event("due_soon", review)
        log_event(
            logger,
            "review.reminded",
            submissionId=review.submission_id,
            executionArn=review.execution_arn,
            reviewId=review_id,
            deadline=review.deadline_at,
        )
        detail = due_soon_detail(review)
        webhooks = []
        if self._webhook_sender() is not None:
            webhooks.append(
                {
                    "submissionId": review.submission_id,
                    "webhookId": due_soon_webhook_id_for(review.submission_id),
                    "type": DUE_SOON_EVENT_TYPE,
                    "timestamp": at,
                    "detail": detail,
                }
            )
        return {
            "reminded": True,
            "remainingSeconds": self._remaining(review, lead_seconds),
            "detail": detail,
            "webhooks": webhooks,
        }

    def _remaining(self, review: Review | None, lead_seconds: int) -> int:
        """At most the lead time (the first wait ended exactly there), less what has passed since on this clock.

        The interpreter's clock may run ahead of ours (the local clock advance), so the lead time
        caps it: the deadline never moves later. Step Functions needs a positive timeout.
        """
        if review is None:
            return max(1, lead_seconds)
        return max(1, min(lead_seconds, review.deadline - int(self._clock())))


class AwaitDecision:
    """The wait after the reminder: the same review, the new token; never a second review or ``created``."""

    def __init__(self, *, reviews: ReviewStore, workflow: WorkflowEngine) -> None:
        self._reviews = reviews
        self._workflow = workflow

    def renew(self, event: dict[str, Any]) -> dict[str, Any]:
        """Write the new token onto the pending review, or hand a decision claimed meanwhile to it.

        Raises UnavailableError when Step Functions refused the replayed decision (the task's
        retry brings a new token and replays it again).
        """
        review_id = review_id_for(event["executionArn"])
        token = event["taskToken"]
        renewed = self._reviews.renew_task_token(review_id, task_token=token)
        if renewed is not None and renewed.status == ReviewStatus.PENDING:
            self._log("review.wait_renewed", review_id, event)
            return {"reviewId": review_id}
        # Claimed on the first token after that wait had ended: this wait takes the decision. The
        # claiming request may send it on this token too; Step Functions takes the first only.
        review = renewed or self._reviews.get(review_id)
        if review is None or review.decision not in REVIEWER_DECISIONS:
            self._log("review.wait_renewed_without_review", review_id, event, level=logging.WARNING)
            return {"reviewId": review_id}
        try:
            self._workflow.send_decision(token, review.callback_output())
        except TaskTokenGoneError:  # the claiming request delivered it on this token first
            self._log("review.decision_already_delivered", review_id, event)
            return {"reviewId": review_id}
        self._log("review.decision_replayed", review_id, event, decision=review.decision)
        return {"reviewId": review_id}

    def _log(
        self, name: str, review_id: str, event: dict[str, Any], *, level: int = logging.INFO, **fields: object
    ) -> None:
        log_event(
            logger,
            name,
            level=level,
            submissionId=event.get("submissionId"),
            executionArn=event["executionArn"],
            reviewId=review_id,
            **fields,
        )
