"""Deliveries to the platform: one webhook attempt at a time, and the record of a channel that gave up."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock, iso
from chalicelib.domain import history as events
from chalicelib.domain.actors import WORKFLOW
from chalicelib.domain.ports import HistoryStore
from chalicelib.domain.submission import Submission
from chalicelib.errors import WebhookDeliveryFailed
from chalicelib.integrations.webhooks import APPEAL_EVENT_TYPE, EVENT_TYPE, WebhookSender, message_body
from chalicelib.log import log_event
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)

# How much of a failed delivery's cause the audit trail keeps.
DELIVERY_ERROR_MAX_CHARACTERS = 300


def outcome_detail(submission: Submission) -> dict[str, Any]:
    """The EventBridge detail and webhook ``data`` (SPEC §12, §15): no body, no address or number."""
    detail: dict[str, Any] = {
        "submissionId": submission.submission_id,
        "title": submission.title,
        "decision": submission.decision,
        "decidedBy": submission.decided_by or WORKFLOW,
        "automated": submission.automated,
        "decidedAt": submission.decided_at,
    }
    if submission.reason:
        detail["reason"] = submission.reason
    if submission.category:
        detail["category"] = submission.category
    if submission.appeal is not None and submission.appeal.outcome:
        detail["appeal"] = submission.appeal.outcome
    return detail


class DeliverWebhook:
    """One webhook attempt (the state machine retries): POST, record ``delivered`` on a 2xx."""

    def __init__(
        self, *, history: HistoryStore, webhook_sender: Callable[[], WebhookSender | None], clock: Clock
    ) -> None:
        self._history = history
        self._webhook_sender = webhook_sender
        self._clock = clock

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """Raises WebhookDeliveryFailed for anything but a 2xx, which Step Functions retries with
        backoff and, after the last attempt, catches into :class:`RecordDeliveryFailure`."""
        submission_id, webhook_id = event["submissionId"], event["webhookId"]
        attempt_number = int(event.get("attempt") or 0) + 1
        sender = self._webhook_sender()
        if sender is None:
            raise WebhookDeliveryFailed("WEBHOOK_URL is no longer configured")
        # An outcome's item has no type (an appeal's outcome is submission.appeal_decided, SPEC §15);
        # a reminder's says review.due_soon (SPEC §14).
        event_type = event.get("type") or (APPEAL_EVENT_TYPE if event["detail"].get("appeal") else EVENT_TYPE)
        body = message_body(event["detail"], event_type=event_type, timestamp=event.get("timestamp"))
        try:
            attempt = sender.send(webhook_id=webhook_id, body=body)
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
            key="webhook" if event_type == EVENT_TYPE else f"webhook:{event_type}",
            channel="webhook",
            about=None if event_type == EVENT_TYPE else event_type,
            webhookId=webhook_id,
            status=attempt.status,
            attempts=attempt_number,
        )
        return {"webhookId": webhook_id, "status": attempt.status, "attempts": attempt_number}


class RecordDeliveryFailure:
    """A channel failed after its last retry: record ``delivery_failed``; the decision stands."""

    def __init__(self, *, history: HistoryStore, clock: Clock, count: CountEvents) -> None:
        self._count = count
        self._history = history
        self._clock = clock

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
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
        about = event.get("about")  # a reminder's delivery (review.due_soon); an outcome's has none
        if self._history.append(
            event["submissionId"],
            events.DELIVERY_FAILED,
            at=iso(self._clock()),
            key=f"{channel}:{about}" if about else channel,
            channel=channel,
            about=about,
            webhookId=event.get("webhookId"),
            error=error.get("Error"),
            cause=cause,
        ):
            self._count.delivery_failed(channel)
        return {"channel": channel, "recorded": True}


def _error_message(cause: Any) -> str | None:
    """The readable part of a Step Functions error cause (a Lambda's is JSON with ``errorMessage``)."""
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
