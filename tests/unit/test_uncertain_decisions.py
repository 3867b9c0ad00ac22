"""SPEC §19: no 200 for a decision that did not count. An uncertain callback answer near the deadline is
settled by the outcome the execution records, over fakes, a fake clock and a sleep that plays the execution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from chalicelib.clock import iso
from chalicelib.domain.identifiers import review_id_for
from chalicelib.domain.submission import SubmissionStatus
from chalicelib.errors import ExpiredError, OutcomeUnknownError, TaskTokenGoneError
from chalicelib.usecases.decisions import NEAR_DEADLINE_SECONDS, DecideReview, ResumeExecution
from chalicelib.usecases.intake import SubmitArticle
from chalicelib.usecases.tasks import RequestApproval
from chalicelib.web.links import decision_paths
from chalicelib.web.requests import parse_article_request
from tests.fakes import (
    FakeClock,
    InMemoryHistory,
    InMemoryReviews,
    InMemorySubmissions,
    RecordingNotifier,
    RecordingWorkflow,
    counting,
)

TIMEOUT = 3600


@dataclass
class Deadline:
    decide: DecideReview
    submissions: InMemorySubmissions
    reviews: InMemoryReviews
    workflow: RecordingWorkflow
    clock: FakeClock
    submission_id: str
    review_id: str
    slept: list[float]
    # What the execution does while the request waits (called on the first sleep).
    meanwhile: list[Callable[[], None]]


@pytest.fixture
def near() -> Deadline:
    """A review whose deadline is a second away, and a decision service over it."""
    submissions, reviews, history = InMemorySubmissions(), InMemoryReviews(), InMemoryHistory()
    workflow, notifier, clock = RecordingWorkflow(), RecordingNotifier(), FakeClock()
    slept: list[float] = []
    meanwhile: list[Callable[[], None]] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        while meanwhile:
            meanwhile.pop(0)()

    submission = SubmitArticle(
        submissions=submissions,
        history=history,
        workflow=workflow,
        review_timeout_seconds=TIMEOUT,
        clock=clock,
        count=counting(),
    ).submit(parse_article_request({"title": "forbidden, late"}), idempotency_key=None)
    execution_arn = workflow.execution_arn_for(submission.submission_id)
    RequestApproval(
        submissions=submissions,
        reviews=reviews,
        history=history,
        workflow=workflow,
        notifier=notifier,
        decision_paths=decision_paths(lambda: "secret"),
        review_timeout_seconds=TIMEOUT,
        clock=clock,
    ).request(
        {
            "submissionId": submission.submission_id,
            "executionArn": execution_arn,
            "taskToken": "token-1",
            "enteredTime": iso(clock()),
            "timeoutSeconds": TIMEOUT,
        }
    )
    clock.advance(TIMEOUT - 1)  # the reviewer clicks a second before the deadline
    resumer = ResumeExecution(
        reviews=reviews,
        submissions=submissions,
        history=history,
        workflow=workflow,
        notifier=notifier,
        clock=clock,
        count=counting(),
        sleep=sleep,
    )
    return Deadline(
        decide=DecideReview(reviews=reviews, resumer=resumer, clock=clock),
        submissions=submissions,
        reviews=reviews,
        workflow=workflow,
        clock=clock,
        submission_id=submission.submission_id,
        review_id=review_id_for(execution_arn),
        slept=slept,
        meanwhile=meanwhile,
    )


def _the_execution_records(near: Deadline, *, decision: str, decided_by: str) -> Callable[[], None]:
    def record() -> None:
        status = SubmissionStatus.EXPIRED if decision == "expired" else SubmissionStatus.APPROVED
        submission = near.submissions.items[near.submission_id]
        near.submissions.items[near.submission_id] = replace(
            submission, status=status, decision=decision, decided_by=decided_by
        )

    return record


def test_a_spent_token_near_the_deadline_is_410_when_the_deadline_won(near):
    assert near.clock() >= near.reviews.items[near.review_id].deadline - NEAR_DEADLINE_SECONDS
    near.workflow.send_errors.append(TaskTokenGoneError("TaskTimedOut"))
    near.meanwhile.append(_the_execution_records(near, decision="expired", decided_by="deadline"))

    with pytest.raises(ExpiredError):
        near.decide.decide(near.review_id, action="approve", decided_by="alice")

    assert near.slept  # it waited for the execution's outcome instead of guessing
    assert near.reviews.items[near.review_id].callback_pending  # nothing finished: the final task writes EXPIRED


def test_a_spent_token_near_the_deadline_is_200_when_the_execution_recorded_this_decision(near):
    near.workflow.send_errors.append(TaskTokenGoneError("TaskTimedOut"))  # a retry of a delivered callback
    near.meanwhile.append(_the_execution_records(near, decision="approved", decided_by="alice"))

    decided = near.decide.decide(near.review_id, action="approve", decided_by="alice")

    assert decided.decision == "approved" and not near.reviews.items[near.review_id].callback_pending


def test_a_callback_that_timed_out_is_settled_by_the_outcome_it_led_to(near):
    near.workflow.send_errors.append(OutcomeUnknownError("read timeout"))
    near.meanwhile.append(_the_execution_records(near, decision="approved", decided_by="alice"))

    assert near.decide.decide(near.review_id, action="approve", decided_by="alice").decision == "approved"


def test_a_callback_that_timed_out_before_an_expiry_is_410(near):
    near.workflow.send_errors.append(OutcomeUnknownError("read timeout"))
    near.meanwhile.append(_the_execution_records(near, decision="expired", decided_by="deadline"))

    with pytest.raises(ExpiredError):
        near.decide.decide(near.review_id, action="approve", decided_by="alice")


def test_an_outcome_that_stays_unknown_is_503_after_a_bounded_wait_and_keeps_the_claim(near):
    near.workflow.send_errors.append(OutcomeUnknownError("read timeout"))

    with pytest.raises(OutcomeUnknownError):
        near.decide.decide(near.review_id, action="approve", decided_by="alice")

    assert 0 < sum(near.slept) <= 3.5
    review = near.reviews.items[near.review_id]
    assert review.callback_pending and review.decision == "approved"  # a retry with the same key finishes it


def test_well_before_the_deadline_a_spent_token_of_a_running_execution_is_this_claims_own(near):
    near.clock.advance(-(TIMEOUT // 2))  # half an hour before the deadline: no timeout can have happened
    near.workflow.send_errors.append(TaskTokenGoneError("TaskTimedOut"))

    assert near.decide.decide(near.review_id, action="approve", decided_by="alice").decision == "approved"
    assert near.slept == []
