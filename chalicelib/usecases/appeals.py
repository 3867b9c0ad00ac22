"""Appeals (SPEC §15): the submitter contests a refusal once; the appeal is a new review in a new execution."""

from __future__ import annotations

import hmac
import logging
import uuid

from chalicelib.clock import Clock, iso, parse_iso
from chalicelib.domain import history as events
from chalicelib.domain.appeal import Appeal, appeal_execution_name, submitter_token_hash, validated_message
from chalicelib.domain.ports import HistoryStore, Notifications, SubmissionStore, WorkflowEngine
from chalicelib.domain.submission import APPEALABLE_STATUSES, Submission
from chalicelib.errors import (
    AppealNotAllowedError,
    AppealWindowClosedError,
    OutcomeUnknownError,
    UnauthorizedError,
    UnavailableError,
)
from chalicelib.log import log_event
from chalicelib.usecases.queries import find_submission
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)


class AppealRefusal:
    """``POST /submissions/{id}/appeal``: check every rule, store the appeal once, start its execution."""

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        history: HistoryStore,
        workflow: WorkflowEngine,
        notifier: Notifications,
        review_timeout_seconds: int,
        appeal_window_seconds: int,
        clock: Clock,
        count: CountEvents,
    ) -> None:
        self._submissions = submissions
        self._history = history
        self._workflow = workflow
        self._notifier = notifier
        self._review_timeout_seconds = review_timeout_seconds
        self._appeal_window_seconds = appeal_window_seconds
        self._clock = clock
        self._count = count

    def appeal(self, submission_id: str, *, token: str | None, message: object) -> tuple[Submission, Appeal]:
        """Appeal the submission's refusal; the submission (IN_REVIEW again) and its appeal.

        Raises BadRequestError (malformed id, empty or over-long message), NotFoundError,
        UnauthorizedError (not this submission's submitter token), AppealNotAllowedError (not
        REJECTED or EXPIRED, or appealed already: of racing appeals exactly one is stored),
        AppealWindowClosedError and UnavailableError (the execution could not be started: the
        appeal is undone). Every refusal leaves the submission as it was and starts nothing.
        """
        submission = find_submission(self._submissions, submission_id)
        token_hash = submitter_token_hash(token) if token else ""
        if not (token_hash and submission.submitter_token_hash) or not hmac.compare_digest(
            token_hash, submission.submitter_token_hash
        ):
            raise UnauthorizedError("this submission's submitter token is required")
        text = validated_message(message)
        if submission.appeal is not None:
            raise AppealNotAllowedError("this submission has already been appealed")
        if submission.status not in APPEALABLE_STATUSES:
            raise AppealNotAllowedError(
                f"only a rejected or expired submission can be appealed; it is {submission.status}"
            )
        now = self._clock()
        decided = parse_iso(submission.decided_at) if submission.decided_at else now
        if now > decided + self._appeal_window_seconds:
            raise AppealWindowClosedError(
                f"an appeal must be made within {self._appeal_window_seconds} seconds of the decision"
            )
        appeal = Appeal(
            appeal_id=str(uuid.uuid4()),
            message=text,
            appealed_at=iso(now),
            original_status=submission.status,
            original_decision=submission.decision,
            original_reason=submission.reason,
            original_decided_by=submission.decided_by,
            original_decided_at=submission.decided_at,
            # The statement of reasons' category, where this build records one.
            original_category=getattr(submission, "category", None),
        )
        appealed = self._submissions.start_appeal(submission.submission_id, appeal=appeal, token_hash=token_hash)
        if appealed is None:  # another appeal won the conditional write (or the decision changed meanwhile)
            raise AppealNotAllowedError("this submission has already been appealed")
        self._start(appealed, appeal)
        if self._history.append(
            appealed.submission_id,
            events.APPEALED,
            at=appeal.appealed_at,
            key=appeal.appeal_id,
            appealId=appeal.appeal_id,
            message=appeal.message,
            originalDecision=appeal.original_decision,
            originalDecidedBy=appeal.original_decided_by,
        ):
            self._count.appealed(appeal.appealed_at)
        self._notifier.publish_status(appealed)
        return appealed, appeal

    def _start(self, submission: Submission, appeal: Appeal) -> None:
        """Start the appeal's execution (its own name: one appeal per submission); undo the appeal if it did not start."""
        name = appeal_execution_name(submission.submission_id)
        try:
            execution_arn = self._workflow.start(
                name=name,
                payload={
                    "submissionId": submission.submission_id,
                    "reviewTimeoutSeconds": self._review_timeout_seconds,
                },
            )
        except OutcomeUnknownError:
            if self._workflow.execution_status(self._workflow.execution_arn_for(name)) is None:
                self._submissions.cancel_appeal(submission.submission_id, appeal=appeal)
                raise
            execution_arn = self._workflow.execution_arn_for(name)
        except UnavailableError:
            self._submissions.cancel_appeal(submission.submission_id, appeal=appeal)
            raise
        log_event(
            logger,
            "submission.appealed",
            submissionId=submission.submission_id,
            appealId=appeal.appeal_id,
            executionArn=execution_arn,
        )
