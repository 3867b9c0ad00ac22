"""Intake: accept an article, store it and start its execution; the same Idempotency-Key, the same submission."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from chalicelib.clock import Clock, iso
from chalicelib.domain import history as events
from chalicelib.domain.actors import CONTENT_CHECK
from chalicelib.domain.appeal import new_submitter_token, submitter_token_hash
from chalicelib.domain.identifiers import submission_id_for
from chalicelib.domain.ports import HistoryStore, SubmissionStore, WorkflowEngine
from chalicelib.domain.review import Decision
from chalicelib.domain.submission import ArticleRequest, Submission, SubmissionStatus
from chalicelib.errors import IdempotencyKeyReusedError, OutcomeUnknownError, UnavailableError
from chalicelib.log import log_event
from chalicelib.usecases.reminders import reminder_wait_seconds
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)

# The execution starts with this outcome: clean content reaches RecordOutcome with it unchanged
# (a state of its own for it would cost a transition on every clean submission); every other
# path overwrites it (the review's decision, MarkExpired, MarkFailed).
DEFAULT_OUTCOME = {"decision": Decision.APPROVED, "decidedBy": CONTENT_CHECK}


class SubmitArticle:
    """``POST /submissions``: one stored submission and one execution per article (or per key)."""

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        history: HistoryStore,
        workflow: WorkflowEngine,
        review_timeout_seconds: int,
        clock: Clock,
        count: CountEvents,
        review_reminder_seconds: int = 0,
    ) -> None:
        self._count = count
        self._submissions = submissions
        self._history = history
        self._workflow = workflow
        self._review_timeout_seconds = review_timeout_seconds
        self._review_reminder_seconds = review_reminder_seconds
        self._clock = clock

    def submit(
        self, request: ArticleRequest, *, idempotency_key: str | None, submitted_by: str | None = None
    ) -> Submission:
        """:meth:`accept` without the submitter token."""
        return self.accept(request, idempotency_key=idempotency_key, submitted_by=submitted_by)[0]

    def accept(
        self, request: ArticleRequest, *, idempotency_key: str | None, submitted_by: str | None = None
    ) -> tuple[Submission, str | None]:
        """Store a submission and start its execution; the same Idempotency-Key returns the same one.

        Returns the submission and its submitter token. The token is stored only as a hash, so
        only the request that created the submission has it: a replay of the same
        Idempotency-Key gets None (never a second valid token, never the first one again).
        ``submitted_by``: the platform client that sent it (None: anonymous), kept in the history.

        Raises BadRequestError for a malformed key, IdempotencyKeyReusedError when a key comes
        back with a different article, and UnavailableError when the workflow cannot be started
        (nothing left behind).
        """
        submission_id = submission_id_for(idempotency_key)
        # The execution is named after the submission, so its ARN is known before it starts
        # and is stored with the submission: no second write once it has started.
        execution_arn = self._workflow.execution_arn_for(submission_id)
        token = new_submitter_token()
        submission = Submission(
            submission_id=submission_id,
            title=request.title,
            body=request.body,
            status=SubmissionStatus.CHECKING,
            created_at=iso(self._clock()),
            request_fingerprint=request.fingerprint(),
            notify_email=request.notify_email,
            notify_phone=request.notify_phone,
            execution_arn=execution_arn,
            submitter_token_hash=submitter_token_hash(token),
        )
        if not self._submissions.create(submission):
            # A replay: the token belongs to the request that created the submission.
            existing = self._submissions.get(submission_id)
            if existing is None:  # a concurrent request with this key failed and rolled back
                raise UnavailableError("a concurrent request with this Idempotency-Key failed; retry")
            if existing.request_fingerprint != submission.request_fingerprint:
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different article")
            if self._workflow.execution_status(execution_arn) is not None:
                return existing, None
            return self._start_and_record(existing, submitted_by), None  # a retry after a start that failed half-way
        return self._start_and_record(submission, submitted_by), token

    def _start_and_record(self, submission: Submission, submitted_by: str | None) -> Submission:
        submission = self._start(submission)
        if self._history.append(
            submission.submission_id, events.SUBMITTED, at=submission.created_at, submittedBy=submitted_by
        ):
            self._count.submitted(submission.created_at)
        return submission

    def _start(self, submission: Submission) -> Submission:
        """Start the submission's execution; the submission with its execution ARN."""
        payload: dict[str, Any] = {
            "submissionId": submission.submission_id,
            "reviewTimeoutSeconds": self._review_timeout_seconds,
            "outcome": DEFAULT_OUTCOME,
        }
        first_wait = reminder_wait_seconds(
            review_timeout_seconds=self._review_timeout_seconds, review_reminder_seconds=self._review_reminder_seconds
        )
        if first_wait is not None:  # without it the review waits once, as it always did (SPEC §14)
            payload["reminder"] = {"afterSeconds": first_wait, "beforeDeadlineSeconds": self._review_reminder_seconds}
        try:
            execution_arn = self._workflow.start(name=submission.submission_id, payload=payload)
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
