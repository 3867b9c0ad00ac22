"""A failure between the decision write and the callback never leaves a review stuck."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import service
from chalicelib.errors import UnavailableError
from chalicelib.workflow import Workflow
from tests.conftest import REGION, pending_review_for, submit, wait_for_status


def _answer_execution_running(stubber: Stubber, execution_arn: str, state_machine_arn: str) -> None:
    stubber.add_response(
        "describe_execution",
        {"executionArn": execution_arn, "stateMachineArn": state_machine_arn, "status": "RUNNING",
         "startDate": datetime.now(tz=UTC)},
        {"executionArn": execution_arn},
    )


def test_callback_failure_rolls_the_claim_back_so_a_retry_succeeds(client, admin_headers, aws, monkeypatch):
    created = submit(client, "forbidden retry")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.moderation_service()
    real_workflow = moderation._workflow
    failing = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(failing)
    stubber.add_client_error("send_task_success", service_error_code="ServiceUnavailable", http_status_code=503,
                             expected_params={"taskToken": ANY, "output": ANY})
    stubber.activate()
    monkeypatch.setattr(moderation, "_workflow", Workflow(failing, aws["StateMachineArn"]))

    with pytest.raises(UnavailableError):
        moderation.decide(review["reviewId"], action="approve", decided_by="admin")

    after_failure = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert after_failure["status"] == "PENDING"
    assert "decision" not in after_failure
    listed = client.http.get("/reviews", headers=admin_headers).json_body["items"]
    assert review["reviewId"] in [item["reviewId"] for item in listed]

    monkeypatch.setattr(moderation, "_workflow", real_workflow)
    retry = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    assert retry.status_code == 200
    assert wait_for_status(client, created["submissionId"], "APPROVED")["status"] == "APPROVED"


def test_a_claim_left_half_done_is_finished_by_retrying_the_same_decision(client, admin_headers, aws):
    created = submit(client, "forbidden crash")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.moderation_service()
    # Simulate a Lambda that died right after its conditional write, before the callback.
    assert moderation._reviews.claim_decision(
        review["reviewId"], decision="rejected", reason=None, decided_by="admin",
        decided_at="2026-11-24T00:00:00.000Z", now=0,
    )

    retry = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers)
    other = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert retry.status_code == 200
    assert other.status_code == 409
    assert wait_for_status(client, created["submissionId"], "REJECTED")["status"] == "REJECTED"



def test_a_second_identical_decision_while_the_first_is_finishing_gets_409(client, admin_headers, aws, monkeypatch):
    created = submit(client, "forbidden twice")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.moderation_service()
    # The first request has claimed the review and resumed the execution, but not yet cleared
    # callbackPending when a second, identical request arrives.
    assert moderation._reviews.claim_decision(
        review["reviewId"], decision="approved", reason=None, decided_by="admin",
        decided_at="2026-11-24T00:00:00.000Z", now=0,
    )
    token = moderation._reviews.get(review["reviewId"]).task_token
    moderation._workflow.send_decision(token, {"decision": "approved", "decidedBy": "admin",
                                               "decidedAt": "2026-11-24T00:00:00.000Z"})
    # AWS answers a consumed token with TaskDoesNotExist; moto accepts it again, so stub it.
    consumed = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(consumed)
    stubber.add_client_error("send_task_success", service_error_code="TaskDoesNotExist", http_status_code=400)
    execution_arn = moderation._reviews.get(review["reviewId"]).execution_arn
    _answer_execution_running(stubber, execution_arn, aws["StateMachineArn"])
    stubber.activate()
    monkeypatch.setattr(moderation, "_workflow", Workflow(consumed, aws["StateMachineArn"]))

    second = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert second.status_code == 409
    assert wait_for_status(client, created["submissionId"], "APPROVED")["status"] == "APPROVED"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "APPROVED"


def test_a_retried_request_approval_hands_the_existing_decision_to_its_new_token(client, admin_headers, aws,
                                                                                monkeypatch):
    created = submit(client, "forbidden retried task")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.moderation_service()
    stored = moderation._reviews.get(review["reviewId"])
    assert moderation._reviews.claim_decision(
        review["reviewId"], decision="rejected", reason="spam", decided_by="admin",
        decided_at="2026-11-24T00:00:00.000Z", now=0,
    )
    # Step Functions retried the task (a new attempt, a new token) after the review was decided.
    retried = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(retried)
    stubber.add_response("send_task_success", {}, {"taskToken": "token-of-the-retry", "output": ANY})
    stubber.activate()
    monkeypatch.setattr(moderation, "_workflow", Workflow(retried, aws["StateMachineArn"]))

    moderation.request_approval({
        "taskToken": "token-of-the-retry", "submissionId": created["submissionId"],
        "executionArn": stored.execution_arn, "timeoutSeconds": 3600, "matches": [],
    })

    stubber.assert_no_pending_responses()


class _ConnectionDroppingStepFunctions:
    """A Step Functions client whose StartExecution times out after (maybe) reaching AWS."""

    def __init__(self, real, *, started: bool) -> None:
        self._real, self._started = real, started

    def start_execution(self, **arguments):
        from botocore.exceptions import ReadTimeoutError

        if self._started:
            self._real.start_execution(**arguments)
        raise ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com")

    def describe_execution(self, **arguments):
        return self._real.describe_execution(**arguments)


@pytest.mark.parametrize("started", [True, False], ids=["start-went-through", "start-lost"])
def test_a_start_that_timed_out_keeps_the_submission_only_if_its_execution_exists(client, aws, monkeypatch, started):
    moderation = service.moderation_service()
    real = boto3.client("stepfunctions", region_name=REGION)
    monkeypatch.setattr(
        moderation, "_workflow", Workflow(_ConnectionDroppingStepFunctions(real, started=started), aws["StateMachineArn"])
    )

    if started:
        submission = moderation.submit({"title": "Hello"}, idempotency_key="timeout-1")
        monkeypatch.undo()
        assert wait_for_status(client, submission.submission_id, "APPROVED")["status"] == "APPROVED"
    else:
        with pytest.raises(UnavailableError):
            moderation.submit({"title": "Hello"}, idempotency_key="timeout-2")
        assert boto3.client("dynamodb", region_name=REGION).scan(TableName=aws["SubmissionsTableName"])["Count"] == 0


def test_a_decision_whose_success_reply_was_lost_is_reported_as_applied(client, admin_headers, aws, monkeypatch):
    created = submit(client, "forbidden lost reply")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    moderation = service.moderation_service()
    execution_arn = moderation._reviews.get(review["reviewId"]).execution_arn
    # botocore retried a SendTaskSuccess that had gone through; AWS answers the retry TaskTimedOut.
    replied = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(replied)
    stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
    _answer_execution_running(stubber, execution_arn, aws["StateMachineArn"])
    stubber.activate()
    monkeypatch.setattr(moderation, "_workflow", Workflow(replied, aws["StateMachineArn"]))

    response = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert response.status_code == 200
    assert response.json_body["decision"] == "approved"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "APPROVED"
