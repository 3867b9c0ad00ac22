"""The audit trail: every step of a submission, in order, readable by reviewers, with no secret in it."""

from __future__ import annotations

import json

import boto3

from tests.conftest import REGION, pending_review_for, submit, wait_for, wait_for_status
from tests.functional.test_reviewers_api import bearer, create_reviewer

UNKNOWN_ID = "8c1a3a55-8f4f-4a0d-9a55-000000000000"


def _history(client, headers, submission_id: str) -> list[dict]:
    response = client.http.get(f"/submissions/{submission_id}/history", headers=headers)
    assert response.status_code == 200, response.body
    assert response.json_body["submissionId"] == submission_id
    return response.json_body["items"]


def _events(items: list[dict]) -> list[str]:
    return [item["event"] for item in items]


def test_a_clean_submission_is_submitted_checked_decided_by_the_check_and_delivered(client, admin_headers):
    created = submit(client, "A lovely day")
    wait_for_status(client, created["submissionId"], "APPROVED")

    items = wait_for(
        lambda: (
            (found := _history(client, admin_headers, created["submissionId"]))
            and "delivered" in _events(found)
            and found
        )
    )

    assert _events(items) == ["submitted", "checked", "decided", "delivered"]
    assert items[1]["flagged"] is False
    assert (items[2]["decision"], items[2]["actor"]) == ("approved", "content-check")
    assert (items[3]["channel"], items[3]["sockets"]) == ("websocket", 0)
    assert [item["at"] for item in items] == sorted(item["at"] for item in items)
    assert all(item["at"].endswith("Z") for item in items)


def test_a_reviewed_submission_records_who_decided_and_why(client, admin_headers, aws, websockets_clients):
    alice = create_reviewer(client, admin_headers, "alice")
    created = submit(client, "This is forbidden")
    websockets_clients.connect("follower", submission_id=created["submissionId"])
    review = pending_review_for(client, admin_headers, created["submissionId"])
    decided = client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=bearer(alice), body='{"reason": "off-topic"}'
    )
    assert decided.status_code == 200
    wait_for_status(client, created["submissionId"], "REJECTED")

    items = wait_for(
        lambda: (
            (found := _history(client, bearer(alice), created["submissionId"]))
            and "delivered" in _events(found)
            and found
        )
    )

    assert _events(items) == ["submitted", "checked", "review_requested", "decided", "delivered"]
    checked, requested, decision, delivered = items[1:]
    assert checked["flagged"] is True and checked["matches"][0]["word"] == "forbidden"
    assert requested["reviewId"] == review["reviewId"] and requested["deadline"] == review["deadline"]
    assert (decision["decision"], decision["reason"], decision["actor"]) == ("rejected", "off-topic", "alice")
    assert delivered["sockets"] == 1
    stored = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(aws["ReviewsTableName"])
        .get_item(Key={"reviewId": review["reviewId"]})["Item"]
    )
    text = json.dumps(items)
    assert stored["taskToken"] not in text
    assert "signature" not in text and alice not in text


def test_a_retried_decision_adds_no_second_decided_event(client, admin_headers):
    created = submit(client, "forbidden twice")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    keyed = {**admin_headers, "Idempotency-Key": "once"}
    for _ in range(2):
        assert client.http.post(f"/reviews/{review['reviewId']}/approve", headers=keyed).status_code == 200
    wait_for_status(client, created["submissionId"], "APPROVED")

    items = wait_for(
        lambda: (
            (found := _history(client, admin_headers, created["submissionId"]))
            and "delivered" in _events(found)
            and found
        )
    )

    assert _events(items).count("decided") == 1


def test_history_needs_a_reviewer_token_and_a_known_submission(client, admin_headers):
    created = submit(client, "A lovely day")

    assert client.http.get(f"/submissions/{created['submissionId']}/history").status_code == 401
    assert (
        client.http.get(f"/submissions/{created['submissionId']}/history", headers=bearer("wrong")).status_code == 401
    )
    assert client.http.get(f"/submissions/{UNKNOWN_ID}/history", headers=admin_headers).status_code == 404
    assert client.http.get("/submissions/not-an-id/history", headers=admin_headers).status_code == 400
