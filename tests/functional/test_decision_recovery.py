"""A failure between the decision write and the callback never leaves a review stuck."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import service
from chalicelib.errors import UnavailableError
from chalicelib.workflow import Workflow
from tests.conftest import REGION, pending_review_for, submit, wait_for_status


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
    stubber.activate()
    monkeypatch.setattr(moderation, "_workflow", Workflow(consumed, aws["StateMachineArn"]))

    second = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert second.status_code == 409
    assert wait_for_status(client, created["submissionId"], "APPROVED")["status"] == "APPROVED"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "APPROVED"
