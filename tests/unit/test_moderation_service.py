"""The use cases over in-memory fakes and a fake clock: without AWS, and time without waiting."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from chalicelib.clock import iso
from chalicelib.domain.actors import CONTENT_CHECK, DEADLINE
from chalicelib.domain.identifiers import claim_id_for, review_id_for
from chalicelib.domain.review import CLAIM_LEASE_SECONDS, ReviewStatus
from chalicelib.domain.submission import SubmissionStatus
from chalicelib.errors import (
    BadRequestError,
    ConflictError,
    ExpiredError,
    IdempotencyKeyReusedError,
    NotFoundError,
    UnavailableError,
)
from chalicelib.service import UseCases, compose_use_cases
from chalicelib.usecases.tasks import MAX_REPORTED_MATCHES
from chalicelib.web.links import verify_link
from chalicelib.web.requests import parse_article_request
from tests.fakes import (
    FakeClock,
    InMemoryHistory,
    InMemoryReviews,
    InMemoryStats,
    InMemorySubmissions,
    RecordingMetrics,
    RecordingNotifier,
    RecordingWorkflow,
)

LINK_SECRET = "unit-link-secret"
REVIEW_TIMEOUT_SECONDS = 3600


@dataclass
class World:
    """The use cases and every fake they were built over."""

    service: UseCases
    submissions: InMemorySubmissions
    reviews: InMemoryReviews
    history: InMemoryHistory
    workflow: RecordingWorkflow
    notifier: RecordingNotifier
    clock: FakeClock


@pytest.fixture
def world() -> World:
    submissions, reviews, history = InMemorySubmissions(), InMemoryReviews(), InMemoryHistory()
    workflow, notifier, clock = RecordingWorkflow(), RecordingNotifier(), FakeClock()
    service = compose_use_cases(
        submissions=submissions,  # the fakes keep the real classes' contracts
        reviews=reviews,
        holds=reviews,  # the fake holds reviewers' claims on the same items
        history=history,
        stats_store=InMemoryStats(),
        metrics=RecordingMetrics(),
        workflow=workflow,
        notifier=notifier,
        word_list_source=lambda: ["forbidden"],
        link_secret=lambda: LINK_SECRET,
        review_timeout_seconds=REVIEW_TIMEOUT_SECONDS,
        clock=clock,
    )
    return World(service, submissions, reviews, history, workflow, notifier, clock)


def _task_event(
    world: World,
    submission_id: str,
    *,
    token: str = "token-1",
    entered: float | None = None,
    timeout: int = REVIEW_TIMEOUT_SECONDS,
) -> dict[str, object]:
    """What the RequestApproval state sends the Lambda."""
    return {
        "submissionId": submission_id,
        "executionArn": world.workflow.execution_arn_for(submission_id),
        "taskToken": token,
        "enteredTime": iso(world.clock() if entered is None else entered),
        "timeoutSeconds": timeout,
        "matches": [{"field": "title", "word": "forbidden", "text": "forbidden", "start": 0, "end": 9}],
    }


def _in_review(world: World, title: str = "forbidden fruit") -> tuple[str, str]:
    """A submission waiting for a reviewer: (submission id, review id)."""
    submission = world.service.intake.submit(parse_article_request({"title": title}), idempotency_key=None)
    world.service.approval.request(_task_event(world, submission.submission_id))
    return submission.submission_id, review_id_for(world.workflow.execution_arn_for(submission.submission_id))


# --- submit ------------------------------------------------------------------------------------


def test_submit_stores_the_article_and_starts_its_execution(world):
    submission = world.service.intake.submit(
        parse_article_request({"title": " Hello ", "body": "text"}), idempotency_key=None
    )

    assert submission.status == SubmissionStatus.CHECKING
    assert submission.title == "Hello"
    assert submission.created_at == iso(world.clock())
    assert submission.execution_arn == world.workflow.execution_arn_for(submission.submission_id)
    assert world.submissions.items[submission.submission_id].execution_arn == submission.execution_arn
    # The ARN is known before the start (the execution is named after the submission): one write.
    assert [name for name, _ in world.submissions.calls] == ["create"]
    (start,) = world.workflow.called("start")
    assert start == {
        "name": submission.submission_id,
        "payload": {
            "submissionId": submission.submission_id,
            "reviewTimeoutSeconds": REVIEW_TIMEOUT_SECONDS,
            # The outcome a clean article ends with; review, expiry and failure paths overwrite it.
            "outcome": {"decision": "approved", "decidedBy": "content-check"},
        },
    }
    assert world.history.kinds(submission.submission_id) == ["submitted"]


def test_submit_with_the_same_key_returns_the_same_submission_and_starts_once(world):
    first = world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")
    again = world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")

    assert again == first
    assert len(world.workflow.called("start")) == 1


def test_a_retry_starts_the_execution_a_crashed_request_stored_but_never_started(world):
    first = world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")
    world.workflow.statuses.clear()  # as if the first request died between its write and its start

    again = world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")

    assert again.submission_id == first.submission_id
    assert len(world.workflow.called("start")) == 2
    assert world.workflow.execution_status(again.execution_arn or "") == "RUNNING"


def test_submit_with_a_used_key_for_another_article_is_422_and_changes_nothing(world):
    first = world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")

    with pytest.raises(IdempotencyKeyReusedError):
        world.service.intake.submit(parse_article_request({"title": "Something else"}), idempotency_key="key-1")

    assert world.submissions.items == {first.submission_id: first}


def test_a_retry_after_a_start_that_failed_half_way_starts_the_stored_submission(world):
    world.workflow.start_errors.append(UnavailableError("throttled"))
    with pytest.raises(UnavailableError):
        world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")
    assert world.submissions.items == {}  # no execution, so no submission

    retried = world.service.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="key-1")

    assert retried.execution_arn is not None
    assert len(world.workflow.called("start")) == 2


def test_submit_refuses_bad_input_before_storing_anything(world):
    with pytest.raises(BadRequestError):
        world.service.intake.submit(parse_article_request({"title": ""}), idempotency_key=None)
    with pytest.raises(BadRequestError):
        world.service.intake.submit(parse_article_request({"title": "x"}), idempotency_key=" ")

    assert world.submissions.calls == []
    assert world.workflow.calls == []


# --- check_content -----------------------------------------------------------------------------


def test_check_content_flags_a_configured_word_in_title_and_body(world):
    submission = world.service.intake.submit(
        parse_article_request({"title": "f0rb!dden", "body": "all forbidden"}), idempotency_key=None
    )

    result = world.service.check.check({"submissionId": submission.submission_id})

    assert result["flagged"] is True
    assert [(match["field"], match["text"]) for match in result["matches"]] == [
        ("title", "f0rb!dden"),
        ("body", "forbidden"),
    ]
    (checked,) = world.history.called("append")[1:]
    assert checked["event"] == "checked" and checked["flagged"] is True


def test_check_content_passes_clean_text(world):
    submission = world.service.intake.submit(parse_article_request({"title": "Sunny weather"}), idempotency_key=None)

    assert world.service.check.check({"submissionId": submission.submission_id}) == {
        "flagged": False,
        "matches": [],
        "route": "publish",
        "risk": None,  # this world's risk check is off (tests/unit/test_risk_check.py turns it on)
        "reason": None,
        "category": None,
    }


def test_check_content_reports_a_bounded_number_of_matches(world):
    submission = world.service.intake.submit(
        parse_article_request({"title": "Spam", "body": "forbidden " * 100}), idempotency_key=None
    )

    result = world.service.check.check({"submissionId": submission.submission_id})

    assert len(result["matches"]) == MAX_REPORTED_MATCHES
    (checked,) = world.history.called("append")[1:]
    assert checked["matchCount"] == 100  # the full count is kept in the history, where it is read
    assert checked["matches"] == result["matches"]


def test_check_content_of_an_unknown_submission_is_not_found(world):
    with pytest.raises(NotFoundError):
        world.service.check.check({"submissionId": "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10"})


# --- request_approval --------------------------------------------------------------------------


def test_request_approval_stores_a_pending_review_whose_deadline_counts_from_the_entered_time(world):
    submission = world.service.intake.submit(parse_article_request({"title": "forbidden fruit"}), idempotency_key=None)
    entered = world.clock() - 90  # the state was entered a while before the Lambda ran
    world.submissions.calls.clear()

    answer = world.service.approval.request(_task_event(world, submission.submission_id, entered=entered, timeout=600))

    review = world.reviews.items[answer["reviewId"]]
    assert review.status == ReviewStatus.PENDING
    assert review.deadline == int(entered + 600)
    assert review.created_at == iso(entered)
    assert review.title == "forbidden fruit"
    assert review.task_token == "token-1"
    assert world.submissions.items[submission.submission_id].status == SubmissionStatus.IN_REVIEW
    # The title came back from the IN_REVIEW write: no second read of the submission.
    assert [name for name, _ in world.submissions.calls] == ["mark_in_review"]
    assert [call["submission"].status for call in world.notifier.called("publish_status")] == ["IN_REVIEW"]
    assert [call["event"] for call in world.notifier.called("publish_review_event")] == ["created"]
    assert "review_requested" in world.history.kinds(submission.submission_id)


def test_request_approval_signs_links_that_expire_at_the_deadline(world):
    submission = world.service.intake.submit(parse_article_request({"title": "forbidden fruit"}), idempotency_key=None)
    answer = world.service.approval.request(_task_event(world, submission.submission_id, timeout=600))
    review = world.reviews.items[answer["reviewId"]]
    query = dict(part.split("=") for part in review.approve_path.split("?")[1].split("&"))

    assert verify_link(LINK_SECRET, review_id=review.review_id, query=query, clock=world.clock) == "approve"
    world.clock.advance(601)
    with pytest.raises(Exception, match="invalid or expired link"):
        verify_link(LINK_SECRET, review_id=review.review_id, query=query, clock=world.clock)


def test_a_retried_request_approval_reads_the_submission_and_rewrites_the_pending_review(world):
    submission_id, review_id = _in_review(world)
    world.submissions.calls.clear()

    world.service.approval.request(_task_event(world, submission_id, token="token-2"))

    assert [name for name, _ in world.submissions.calls] == ["mark_in_review", "get"]
    assert world.reviews.items[review_id].task_token == "token-2"
    assert len(world.notifier.called("publish_status")) == 1  # told once, by the first attempt


def test_a_retried_request_approval_hands_an_existing_decision_to_its_new_token(world):
    submission_id, review_id = _in_review(world)
    world.service.decisions.decide(review_id, action="reject", reason="spam", decided_by="alice")

    world.service.approval.request(_task_event(world, submission_id, token="token-2"))

    sent = world.workflow.called("send_decision")
    assert [call["task_token"] for call in sent] == ["token-1", "token-2"]
    assert sent[1]["output"]["decision"] == "rejected"


# --- decide ------------------------------------------------------------------------------------


def test_decide_claims_the_review_and_resumes_the_execution(world):
    submission_id, review_id = _in_review(world)

    decided = world.service.decisions.decide(review_id, action="approve", reason=" fine ", decided_by="alice")

    assert (decided.decision, decided.reason, decided.decided_by) == ("approved", "fine", "alice")
    assert decided.decided_at == iso(world.clock())
    assert not world.reviews.items[review_id].callback_pending
    (sent,) = world.workflow.called("send_decision")
    assert sent == {
        "task_token": "token-1",
        "output": {"decision": "approved", "reason": "fine", "decidedBy": "alice", "decidedAt": iso(world.clock())},
    }
    assert world.history.kinds(submission_id)[-1] == "decided"
    assert world.notifier.called("publish_review_event")[-1]["event"] == "decided"


def test_a_second_decision_gets_409_naming_the_one_that_stands(world):
    _submission_id, review_id = _in_review(world)
    world.service.decisions.decide(review_id, action="reject", decided_by="alice")

    with pytest.raises(ConflictError, match="already rejected by alice"):
        world.service.decisions.decide(review_id, action="approve", decided_by="bob")

    assert len(world.workflow.called("send_decision")) == 1


def test_a_retry_with_the_same_key_gets_the_same_answer_without_a_second_callback(world):
    _submission_id, review_id = _in_review(world)
    first = world.service.decisions.decide(
        review_id, action="reject", reason="spam", decided_by="alice", idempotency_key="k"
    )

    retry = world.service.decisions.decide(
        review_id, action="reject", reason="spam", decided_by="alice", idempotency_key="k"
    )

    assert retry == first
    assert len(world.workflow.called("send_decision")) == 1
    with pytest.raises(IdempotencyKeyReusedError):
        world.service.decisions.decide(review_id, action="approve", decided_by="alice", idempotency_key="k")
    with pytest.raises(ConflictError):  # the key belongs to alice: bob reusing it is another request
        world.service.decisions.decide(review_id, action="reject", reason="spam", decided_by="bob", idempotency_key="k")


def test_a_claim_left_half_done_is_finished_by_its_own_retry(world):
    _submission_id, review_id = _in_review(world)
    _claim_of_a_request_that_died(world, review_id, claim_id=claim_id_for("alice", "k"))

    retry = world.service.decisions.decide(
        review_id, action="reject", reason="spam", decided_by="alice", idempotency_key="k"
    )

    assert retry.decision == "rejected"
    assert len(world.workflow.called("send_decision")) == 1
    assert not world.reviews.items[review_id].callback_pending


def test_a_died_claim_belongs_to_its_request_until_the_lease_runs_out_then_one_request_finishes_it(world):
    _submission_id, review_id = _in_review(world)
    _claim_of_a_request_that_died(world, review_id, claim_id="the-request-that-died")

    with pytest.raises(ConflictError, match="is being rejected by alice"):
        world.service.decisions.decide(review_id, action="approve", decided_by="bob")
    assert world.workflow.called("send_decision") == []

    world.clock.advance(CLAIM_LEASE_SECONDS)  # no real waiting: the lease reads the fake clock
    with pytest.raises(ConflictError, match="rejected by alice"):
        world.service.decisions.decide(review_id, action="approve", decided_by="bob")

    (sent,) = world.workflow.called("send_decision")
    assert sent["output"]["decision"] == "rejected"
    assert not world.reviews.items[review_id].callback_pending
    with pytest.raises(ConflictError, match="was already rejected by alice"):
        world.service.decisions.decide(review_id, action="approve", decided_by="carol")
    assert len(world.workflow.called("send_decision")) == 1


def test_a_refused_callback_rolls_the_claim_back_so_a_retry_succeeds(world):
    _submission_id, review_id = _in_review(world)
    world.workflow.send_errors.append(UnavailableError("throttled"))

    with pytest.raises(UnavailableError):
        world.service.decisions.decide(review_id, action="approve", decided_by="alice")
    assert world.reviews.items[review_id].status == ReviewStatus.PENDING

    assert world.service.decisions.decide(review_id, action="approve", decided_by="alice").decision == "approved"


def test_a_decision_after_the_deadline_is_410(world):
    _submission_id, review_id = _in_review(world)
    world.clock.advance(REVIEW_TIMEOUT_SECONDS)

    with pytest.raises(ExpiredError):
        world.service.decisions.decide(review_id, action="approve", decided_by="alice")

    assert world.workflow.called("send_decision") == []


def test_a_decision_whose_token_is_gone_and_whose_execution_ended_is_410(world):
    _submission_id, review_id = _in_review(world)
    world.workflow.used_tokens.add("token-1")  # the task timed out on Step Functions' side
    world.workflow.statuses[world.reviews.items[review_id].execution_arn] = "FAILED"

    with pytest.raises(ExpiredError):
        world.service.decisions.decide(review_id, action="approve", decided_by="alice")


def test_decide_validates_its_input(world):
    _submission_id, review_id = _in_review(world)

    with pytest.raises(BadRequestError):
        world.service.decisions.decide("not-a-uuid", action="approve", decided_by="alice")
    with pytest.raises(BadRequestError):
        world.service.decisions.decide(review_id, action="approve", reason="x" * 1001, decided_by="alice")
    with pytest.raises(NotFoundError):
        world.service.decisions.decide("6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10", action="approve", decided_by="alice")


def _claim_of_a_request_that_died(world: World, review_id: str, *, claim_id: str) -> None:
    """What a Lambda leaves when it dies right after its conditional write, before the callback."""
    now = world.clock()
    assert world.reviews.claim_decision(
        review_id,
        decision="rejected",
        reason="spam",
        decided_by="alice",
        decided_at=iso(now),
        claim_id=claim_id,
        now=int(now),
    )


# --- record_outcome ----------------------------------------------------------------------------


def test_record_outcome_of_a_reviewed_submission_notifies_and_closes_the_review(world):
    submission_id, review_id = _in_review(world)
    world.service.decisions.decide(review_id, action="approve", decided_by="alice")
    decided_at = iso(world.clock())

    result = world.service.outcomes.record(
        {
            "submissionId": submission_id,
            "executionArn": world.workflow.execution_arn_for(submission_id),
            "outcome": {"decision": "approved", "decidedBy": "alice", "decidedAt": decided_at},
        }
    )

    assert {key: result[key] for key in ("submissionId", "decision", "delivered", "webhooks")} == {
        "submissionId": submission_id,
        "decision": "approved",
        "delivered": 0,
        "webhooks": [],
    }
    stored = world.submissions.items[submission_id]
    assert result["detail"] == {
        "submissionId": submission_id,
        "title": stored.title,
        "decision": "approved",
        "decidedBy": "alice",
        "automated": False,
        "decidedAt": decided_at,
    }
    assert (stored.status, stored.decided_by, stored.decided_at) == (SubmissionStatus.APPROVED, "alice", decided_at)
    assert [call["submission"].submission_id for call in world.notifier.called("publish_decision")] == [submission_id]
    review = world.reviews.items[review_id]
    assert (review.status, review.decided_by, review.decided_at) == (ReviewStatus.APPROVED, "alice", decided_at)
    assert not review.callback_pending
    assert world.reviews.called("finish_decision")[-1] == {"review_id": review_id}
    assert world.reviews.called("record_final") == []  # the reviewer's decision is not written again
    assert world.history.kinds(submission_id)[-1] == "delivered"


def test_the_final_step_keeps_the_reviewers_decision_and_clears_a_callback_its_request_left_pending(world):
    submission_id, review_id = _in_review(world)
    # The deciding request claimed the review and resumed the execution, then died before
    # clearing callbackPending; the execution's outcome is the claim's own fields.
    _claim_of_a_request_that_died(world, review_id, claim_id="died-after-its-callback")
    claimed = world.reviews.items[review_id]
    world.clock.advance(5)
    event = {
        "submissionId": submission_id,
        "executionArn": world.workflow.execution_arn_for(submission_id),
        "outcome": {"decision": "rejected", "reason": "spam", "decidedBy": "alice", "decidedAt": claimed.decided_at},
    }

    world.service.outcomes.record(event)
    world.service.outcomes.record(event)  # Step Functions retried the final task

    review = world.reviews.items[review_id]
    assert review == replace(claimed, callback_pending=False)
    assert world.reviews.called("record_final") == []
    assert world.reviews.called("finish_decision") == [{"review_id": review_id}] * 2
    assert world.submissions.items[submission_id].status == SubmissionStatus.REJECTED


def test_an_expiry_wins_over_a_claim_that_never_reached_the_execution(world):
    submission_id, review_id = _in_review(world)
    _claim_of_a_request_that_died(world, review_id, claim_id="died-before-its-callback")

    world.service.outcomes.record(
        {
            "submissionId": submission_id,
            "executionArn": world.workflow.execution_arn_for(submission_id),
            "outcome": {"decision": "expired", "decidedBy": DEADLINE, "reason": "no decision in time"},
        }
    )

    review = world.reviews.items[review_id]
    assert (review.status, review.decision, review.decided_by) == (ReviewStatus.EXPIRED, "expired", DEADLINE)
    assert not review.callback_pending
    assert world.reviews.called("finish_decision") == []


def test_record_outcome_of_clean_content_touches_no_review(world):
    submission = world.service.intake.submit(parse_article_request({"title": "Sunny"}), idempotency_key=None)
    world.submissions.items[submission.submission_id] = replace(
        world.submissions.items[submission.submission_id], subscribers=frozenset({"c1", "c2"})
    )

    result = world.service.outcomes.record(
        {
            "submissionId": submission.submission_id,
            "executionArn": submission.execution_arn,
            "outcome": {"decision": "approved", "decidedBy": CONTENT_CHECK},
        }
    )

    assert result["delivered"] == 2
    assert world.reviews.called("record_final") == []
    assert world.submissions.items[submission.submission_id].decided_at == iso(world.clock())
    assert world.history.kinds(submission.submission_id)[-2:] == ["decided", "delivered"]


def test_record_outcome_of_an_expired_review_tells_the_reviewers(world):
    submission_id, review_id = _in_review(world)

    world.service.outcomes.record(
        {
            "submissionId": submission_id,
            "executionArn": world.workflow.execution_arn_for(submission_id),
            "outcome": {"decision": "expired", "decidedBy": DEADLINE, "reason": "no decision in time"},
        }
    )

    assert world.reviews.items[review_id].status == ReviewStatus.EXPIRED
    assert world.notifier.called("publish_review_event")[-1]["event"] == "expired"
    assert "expired" in world.history.kinds(submission_id)


def test_record_outcome_for_a_submission_that_is_gone_delivers_nothing(world):
    result = world.service.outcomes.record(
        {
            "submissionId": "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10",
            "executionArn": "arn",
            "outcome": {"decision": "failed"},
        }
    )

    assert result["delivered"] == 0
    assert world.notifier.calls == []
