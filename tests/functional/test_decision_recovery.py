"""Decisions that never lie: one winner per review, claims owned by one request, nothing lost on failure.

Step Functions answers differ between moto and AWS (AWS refuses a used task token with
``TaskTimedOut``; moto accepts it again), so the AWS answers come from botocore's Stubber.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import service
from chalicelib.domain.identifiers import claim_id_for
from chalicelib.domain.review import CLAIM_LEASE_SECONDS
from chalicelib.errors import ConflictError, ExpiredError, IdempotencyKeyReusedError, UnavailableError
from chalicelib.integrations import aws as aws_clients
from chalicelib.integrations.workflow import StepFunctionsWorkflow
from chalicelib.stores.reviews import DynamoDBReviewStore
from chalicelib.web.requests import parse_article_request
from tests.conftest import REGION, REVIEW_TIMEOUT_SECONDS, pending_review_for, submit, wait_for, wait_for_status


class FakeClock:
    """Real time plus an offset the test moves forward, so leases pass without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def reviews(aws: dict[str, str]) -> DynamoDBReviewStore:
    return DynamoDBReviewStore(aws_clients.table(aws["ReviewsTableName"]))


def _stubbed_workflow(aws: dict[str, str]) -> tuple[StepFunctionsWorkflow, Stubber]:
    client = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(client)
    stubber.activate()
    return StepFunctionsWorkflow(client, aws["StateMachineArn"]), stubber


def _answer_execution(stubber: Stubber, execution_arn: str, state_machine_arn: str, status: str = "RUNNING") -> None:
    stubber.add_response(
        "describe_execution",
        {
            "executionArn": execution_arn,
            "stateMachineArn": state_machine_arn,
            "status": status,
            "startDate": datetime.now(tz=UTC),
        },
        {"executionArn": execution_arn},
    )


def _race(decide: Callable[[int], Any], count: int) -> list[Any]:
    """Run ``decide(i)`` for ``count`` threads released at once; each result or the error it raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = decide(index)
        except Exception as error:  # the test inspects every outcome
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _claim_of_a_request_that_died(
    reviews: DynamoDBReviewStore, review_id: str, *, decision: str, reason: str | None, claim_id: str, now: float
) -> None:
    """What a Lambda leaves behind when it dies right after its conditional write, before the callback."""
    assert reviews.claim_decision(
        review_id,
        decision=decision,
        reason=reason,
        decided_by="admin",
        decided_at="2026-11-24T00:00:00.000Z",
        claim_id=claim_id,
        now=int(now),
    )


@pytest.mark.parametrize("trial", range(3))
def test_thirty_concurrent_decisions_give_exactly_one_winner_whose_reason_is_stored(client, admin_headers, trial):
    created = submit(client, f"forbidden race {trial}")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.use_cases()

    def decide(index: int) -> Any:
        action = "approve" if index % 2 else "reject"
        return moderation.decisions.decide(
            review["reviewId"], action=action, reason=f"reason {index}", decided_by="admin"
        )

    results = _race(decide, 30)

    winners = [result for result in results if not isinstance(result, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(result, ConflictError) for result in results if result is not winners[0]), results
    assert all(winners[0].decision in str(result) for result in results if isinstance(result, ConflictError))
    final = wait_for_status(client, created["submissionId"], "APPROVED", "REJECTED")
    assert final["decision"] == winners[0].decision
    assert final["reason"] == winners[0].reason


def test_on_aws_only_the_winner_calls_send_task_success(client, admin_headers, aws):
    created = submit(client, "forbidden aws race")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    workflow, stubber = _stubbed_workflow(aws)
    # AWS: the first SendTaskSuccess resumes the execution; any later one on that token is TaskTimedOut.
    stubber.add_response("send_task_success", {}, {"taskToken": ANY, "output": ANY})
    for _ in range(29):
        stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
    moderation = service.build_use_cases(workflow=workflow)

    results = _race(
        lambda index: moderation.decisions.decide(
            review["reviewId"], action="approve", reason=f"r{index}", decided_by="admin"
        ),
        30,
    )

    assert sum(not isinstance(result, Exception) for result in results) == 1, results
    assert sum(isinstance(result, ConflictError) for result in results) == 29, results
    with pytest.raises(AssertionError):  # 29 TaskTimedOut answers are left: nobody else called
        stubber.assert_no_pending_responses()


def test_a_retry_with_the_same_idempotency_key_gets_the_same_answer(client, admin_headers):
    created = submit(client, "forbidden keyed")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    url = f"/reviews/{review['reviewId']}/reject"
    keyed = {**admin_headers, "Idempotency-Key": "decision-1"}

    first = client.http.post(url, headers=keyed, body='{"reason": "spam"}')
    retry = client.http.post(url, headers=keyed, body='{"reason": "spam"}')
    other_action = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=keyed, body="{}")
    other_key = client.http.post(url, headers={**admin_headers, "Idempotency-Key": "decision-2"}, body="{}")

    assert first.status_code == 200
    assert retry.status_code == 200
    assert (
        retry.json_body
        == first.json_body
        == {"reviewId": review["reviewId"], "decision": "rejected", "decidedBy": "admin"}
    )
    assert other_action.status_code == 422
    assert other_action.json_body["error"]["code"] == "IdempotencyKeyReused"
    assert other_key.status_code == 409
    assert "rejected" in other_key.json_body["error"]["message"]
    assert wait_for_status(client, created["submissionId"], "REJECTED")["reason"] == "spam"


def test_callback_failure_rolls_the_claim_back_so_a_retry_succeeds(client, admin_headers, aws):
    created = submit(client, "forbidden retry")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    workflow, stubber = _stubbed_workflow(aws)
    stubber.add_client_error(
        "send_task_success",
        service_error_code="ServiceUnavailable",
        http_status_code=503,
        expected_params={"taskToken": ANY, "output": ANY},
    )
    failing = service.build_use_cases(workflow=workflow)

    with pytest.raises(UnavailableError):
        failing.decisions.decide(review["reviewId"], action="approve", decided_by="admin")

    after_failure = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert after_failure["status"] == "PENDING"
    assert "decision" not in after_failure
    listed = client.http.get("/reviews", headers=admin_headers).json_body["items"]
    assert review["reviewId"] in [item["reviewId"] for item in listed]

    retry = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    assert retry.status_code == 200
    assert wait_for_status(client, created["submissionId"], "APPROVED")["status"] == "APPROVED"


def test_a_claim_left_half_done_is_finished_by_its_own_retry_with_the_same_key(client, admin_headers, reviews):
    created = submit(client, "forbidden crash")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    _claim_of_a_request_that_died(
        reviews,
        review["reviewId"],
        decision="rejected",
        reason="spam",
        claim_id=claim_id_for("admin", "key-1"),
        now=time.time(),
    )

    retry = client.http.post(
        f"/reviews/{review['reviewId']}/reject",
        headers={**admin_headers, "Idempotency-Key": "key-1"},
        body='{"reason": "spam"}',
    )
    other = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert retry.status_code == 200
    assert other.status_code == 409
    assert "rejected by admin" in other.json_body["error"]["message"]
    assert wait_for_status(client, created["submissionId"], "REJECTED")["reason"] == "spam"


def test_a_concurrent_request_never_finishes_another_requests_claim(client, admin_headers, aws, reviews):
    created = submit(client, "forbidden in flight")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    clock = FakeClock()
    _claim_of_a_request_that_died(
        reviews, review["reviewId"], decision="rejected", reason="spam", claim_id="the-first-request", now=clock()
    )
    workflow, stubber = _stubbed_workflow(aws)  # no responses queued: any Step Functions call fails the test
    moderation = service.build_use_cases(workflow=workflow, clock=clock)

    results = _race(lambda _: moderation.decisions.decide(review["reviewId"], action="reject", decided_by="admin"), 10)

    assert all(isinstance(result, ConflictError) for result in results), results
    assert all("is being rejected by admin" in str(result) for result in results)
    stubber.assert_no_pending_responses()
    assert reviews.get(review["reviewId"]).callback_pending


def test_a_claim_whose_request_died_is_finished_after_the_lease_by_one_later_request(
    client, admin_headers, aws, reviews
):
    created = submit(client, "forbidden abandoned")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    clock = FakeClock()
    _claim_of_a_request_that_died(
        reviews, review["reviewId"], decision="rejected", reason="spam", claim_id="the-request-that-died", now=clock()
    )
    clock.advance(CLAIM_LEASE_SECONDS + 1)
    moderation = service.build_use_cases(clock=clock)

    results = _race(lambda _: moderation.decisions.decide(review["reviewId"], action="approve", decided_by="admin"), 10)

    assert all(isinstance(result, ConflictError) for result in results), results
    final = wait_for_status(client, created["submissionId"], "REJECTED")
    assert final["reason"] == "spam"
    assert not reviews.get(review["reviewId"]).callback_pending


def test_on_aws_a_died_claim_that_had_reached_the_execution_is_closed_without_a_second_decision(
    client, admin_headers, aws, reviews
):
    created = submit(client, "forbidden delivered then died")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    clock = FakeClock()
    _claim_of_a_request_that_died(
        reviews, review["reviewId"], decision="approved", reason=None, claim_id="delivered-then-died", now=clock()
    )
    clock.advance(CLAIM_LEASE_SECONDS + 1)
    workflow, stubber = _stubbed_workflow(aws)
    stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
    _answer_execution(stubber, reviews.get(review["reviewId"]).execution_arn, aws["StateMachineArn"], "SUCCEEDED")
    moderation = service.build_use_cases(workflow=workflow, clock=clock)

    with pytest.raises(ConflictError, match="was already approved by admin"):
        moderation.decisions.decide(review["reviewId"], action="reject", decided_by="admin")

    stubber.assert_no_pending_responses()
    assert not reviews.get(review["reviewId"]).callback_pending


def test_the_final_task_finishes_a_claim_whose_request_died_after_its_callback_and_keeps_its_decision(
    client, admin_headers, aws, reviews
):
    created = submit(client, "forbidden, delivered, then the request died")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    _claim_of_a_request_that_died(
        reviews, review["reviewId"], decision="rejected", reason="spam", claim_id="died-after-it", now=time.time()
    )
    claimed = reviews.get(review["reviewId"])
    # The request had resumed the execution, as ResumeExecution does, before it died.
    StepFunctionsWorkflow(boto3.client("stepfunctions", region_name=REGION), aws["StateMachineArn"]).send_decision(
        claimed.task_token,
        {"decision": "rejected", "reason": "spam", "decidedBy": "admin", "decidedAt": claimed.decided_at},
    )

    assert wait_for_status(client, created["submissionId"], "REJECTED")["reason"] == "spam"
    wait_for(lambda: not reviews.get(review["reviewId"]).callback_pending)
    assert reviews.get(review["reviewId"]) == replace(claimed, callback_pending=False)


def test_a_reused_key_for_another_decision_is_refused_and_changes_nothing(client, admin_headers, reviews):
    created = submit(client, "forbidden reused key")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.use_cases()
    moderation.decisions.decide(
        review["reviewId"], action="reject", reason="spam", decided_by="admin", idempotency_key="k"
    )

    with pytest.raises(IdempotencyKeyReusedError):
        moderation.decisions.decide(
            review["reviewId"], action="reject", reason="other", decided_by="admin", idempotency_key="k"
        )

    assert reviews.get(review["reviewId"]).reason == "spam"


def test_a_retried_request_approval_hands_the_existing_decision_to_its_new_token(client, admin_headers, aws, reviews):
    created = submit(client, "forbidden retried task")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    stored = reviews.get(review["reviewId"])
    _claim_of_a_request_that_died(
        reviews, review["reviewId"], decision="rejected", reason="spam", claim_id="first", now=time.time()
    )
    # Step Functions retried the task (a new attempt, a new token) after the review was decided.
    workflow, stubber = _stubbed_workflow(aws)
    stubber.add_response("send_task_success", {}, {"taskToken": "token-of-the-retry", "output": ANY})
    moderation = service.build_use_cases(workflow=workflow)

    moderation.approval.request(
        {
            "taskToken": "token-of-the-retry",
            "submissionId": created["submissionId"],
            "executionArn": stored.execution_arn,
            "timeoutSeconds": 3600,
            "matches": [],
        }
    )

    stubber.assert_no_pending_responses()


class _ConnectionDroppingStepFunctions:
    """A Step Functions client whose StartExecution times out after (maybe) reaching AWS."""

    def __init__(self, real: Any, *, started: bool) -> None:
        self._real, self._started = real, started

    def start_execution(self, **arguments: Any) -> Any:
        from botocore.exceptions import ReadTimeoutError

        if self._started:
            self._real.start_execution(**arguments)
        raise ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com")

    def describe_execution(self, **arguments: Any) -> Any:
        return self._real.describe_execution(**arguments)


@pytest.mark.parametrize("started", [True, False], ids=["start-went-through", "start-lost"])
def test_a_start_that_timed_out_keeps_the_submission_only_if_its_execution_exists(client, aws, started):
    real = boto3.client("stepfunctions", region_name=REGION)
    moderation = service.build_use_cases(
        workflow=StepFunctionsWorkflow(_ConnectionDroppingStepFunctions(real, started=started), aws["StateMachineArn"])
    )

    if started:
        submission = moderation.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="timeout-1")
        assert wait_for_status(client, submission.submission_id, "APPROVED")["status"] == "APPROVED"
    else:
        with pytest.raises(UnavailableError):
            moderation.intake.submit(parse_article_request({"title": "Hello"}), idempotency_key="timeout-2")
        assert boto3.client("dynamodb", region_name=REGION).scan(TableName=aws["SubmissionsTableName"])["Count"] == 0


def test_a_decision_whose_success_reply_was_lost_is_reported_as_applied(client, admin_headers, aws, reviews):
    created = submit(client, "forbidden lost reply")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    # botocore retried a SendTaskSuccess that had gone through; AWS answers the retry TaskTimedOut.
    workflow, stubber = _stubbed_workflow(aws)
    stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
    _answer_execution(stubber, reviews.get(review["reviewId"]).execution_arn, aws["StateMachineArn"])
    moderation = service.build_use_cases(workflow=workflow)

    decided = moderation.decisions.decide(review["reviewId"], action="approve", decided_by="admin")

    assert decided.decision == "approved"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "APPROVED"


def test_a_decision_that_reaches_a_timed_out_task_is_410(client, admin_headers, aws, reviews):
    created = submit(client, "forbidden too late")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    workflow, stubber = _stubbed_workflow(aws)
    stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
    _answer_execution(stubber, reviews.get(review["reviewId"]).execution_arn, aws["StateMachineArn"], "FAILED")
    moderation = service.build_use_cases(workflow=workflow)

    with pytest.raises(ExpiredError):
        moderation.decisions.decide(review["reviewId"], action="approve", decided_by="admin")


def test_a_decision_whose_spent_token_meets_the_deadline_is_410_and_the_review_stays_expired(
    client, admin_headers, aws, reviews, interpreter_clock
):
    """SPEC §19 on the real state machine: the reviewer clicks a second before the deadline, Step Functions
    answers TaskTimedOut (Stubber: moto cannot race it), and while the request asks, the deadline passes on
    the interpreter clock and the execution records EXPIRED: the reviewer hears 410, never 200."""
    from chalicelib.stores.history import DynamoDBHistoryStore
    from chalicelib.stores.submissions import DynamoDBSubmissionStore
    from chalicelib.usecases.decisions import DecideReview, ResumeExecution
    from tests.fakes import RecordingNotifier, counting

    created = submit(client, "forbidden at the wire")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    interpreter_clock.wait_until_waiting(1)
    stored = reviews.get(review["reviewId"])
    workflow, stubber = _stubbed_workflow(aws)
    stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
    _answer_execution(stubber, stored.execution_arn, aws["StateMachineArn"])  # still RUNNING: MarkExpired is next

    def the_deadline_passes_meanwhile(_seconds: float) -> None:
        if interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS):
            wait_for_status(client, created["submissionId"], "EXPIRED")

    resumer = ResumeExecution(
        reviews=reviews,
        submissions=DynamoDBSubmissionStore(aws_clients.table(aws["SubmissionsTableName"])),
        history=DynamoDBHistoryStore(aws_clients.table(aws["HistoryTableName"])),
        workflow=workflow,
        notifier=RecordingNotifier(),  # reviewers' live queue is not what this test is about
        clock=lambda: stored.deadline - 1,
        count=counting(),
        sleep=the_deadline_passes_meanwhile,
    )
    decide = DecideReview(reviews=reviews, resumer=resumer, clock=lambda: stored.deadline - 1)

    with pytest.raises(ExpiredError):
        decide.decide(review["reviewId"], action="approve", decided_by="admin")

    def expired_review() -> dict[str, Any] | None:
        body = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
        return body if body["status"] == "EXPIRED" else None

    final = wait_for(expired_review)
    assert final["decidedBy"] == "deadline" and final["decision"] == "expired"
    assert client.http.get(f"/submissions/{created['submissionId']}").json_body["status"] == "EXPIRED"
