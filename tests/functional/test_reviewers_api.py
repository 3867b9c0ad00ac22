"""The moderation team: personal tokens stored as hashes, roles, revocation, and who decided."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import ADMIN_TOKEN, REGION, json_headers, pending_review_for, submit, wait_for_status


def bearer(token: str) -> dict[str, str]:
    return json_headers(Authorization=f"Bearer {token}")


def create_reviewer(client: Any, admin_headers: dict[str, str], name: str, role: str = "reviewer") -> str:
    response = client.http.post("/reviewers", headers=admin_headers, body=json.dumps({"name": name, "role": role}))
    assert response.status_code == 201, response.body
    return str(response.json_body["token"])


def _reviewer_items(aws: dict[str, str]) -> list[dict[str, Any]]:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=aws["ReviewersTableName"])["Items"]


def test_an_admin_creates_a_reviewer_whose_token_is_shown_once_and_stored_only_as_a_hash(client, admin_headers, aws):
    response = client.http.post("/reviewers", headers=admin_headers, body='{"name": "alice", "role": "reviewer"}')

    assert response.status_code == 201
    created = response.json_body
    assert set(created) == {"name", "role", "token", "createdAt"}
    assert (created["name"], created["role"]) == ("alice", "reviewer")
    assert created["token"].startswith("cmr_") and len(created["token"]) > 40
    listed = client.http.get("/reviewers", headers=admin_headers).json_body["items"]
    assert listed == [{"name": "alice", "role": "reviewer", "createdAt": created["createdAt"], "createdBy": "admin"}]
    assert created["token"] not in json.dumps(_reviewer_items(aws))
    assert client.http.get("/reviews", headers=bearer(created["token"])).status_code == 200


def test_a_taken_name_is_409_and_changes_nothing(client, admin_headers, aws):
    first = create_reviewer(client, admin_headers, "alice")
    before = _reviewer_items(aws)

    again = client.http.post("/reviewers", headers=admin_headers, body='{"name": "alice", "role": "admin"}')

    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "AlreadyExists"
    assert _reviewer_items(aws) == before
    assert client.http.get("/reviews", headers=bearer(first)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "Alice"}',
        '{"name": "al ice"}',
        '{"name": ""}',
        json.dumps({"name": "a" * 65}),
        '{"name": 5}',
        '{"name": "admin"}',
        '{"name": "signed-link"}',
        '{"name": "bob", "role": "owner"}',
        '{"name": "bob", "email": "b@example.com"}',
        "[]",
        '{"role": "reviewer"}',
        '{"name": "b\\u00f6b"}',
    ],
    ids=[
        "uppercase",
        "space",
        "empty",
        "too-long",
        "not-a-string",
        "reserved-admin",
        "reserved-actor",
        "unknown-role",
        "unknown-field",
        "not-an-object",
        "missing-name",
        "non-ascii",
    ],
)
def test_bad_reviewer_bodies_get_400_and_store_nothing(client, admin_headers, aws, body):
    response = client.http.post("/reviewers", headers=admin_headers, body=body)

    assert response.status_code == 400
    assert response.json_body["error"]["message"]
    assert _reviewer_items(aws) == []


def test_a_reviewer_may_review_but_not_manage_the_team(client, admin_headers, aws):
    token = create_reviewer(client, admin_headers, "alice")
    create_reviewer(client, admin_headers, "bob")
    before = _reviewer_items(aws)

    answers = [
        client.http.post("/reviewers", headers=bearer(token), body='{"name": "mallory", "role": "admin"}'),
        client.http.get("/reviewers", headers=bearer(token)),
        client.http.delete("/reviewers/bob", headers=bearer(token)),
    ]

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert all(answer.json_body["error"]["code"] == "Forbidden" for answer in answers)
    assert _reviewer_items(aws) == before


def test_an_admin_reviewer_may_manage_the_team(client, admin_headers):
    token = create_reviewer(client, admin_headers, "carol", role="admin")

    created = client.http.post("/reviewers", headers=bearer(token), body='{"name": "dave"}')

    assert created.status_code == 201
    assert created.json_body["role"] == "reviewer"  # the default role
    listed = client.http.get("/reviewers", headers=bearer(token)).json_body["items"]
    assert {item["name"]: item["createdBy"] for item in listed} == {"carol": "admin", "dave": "carol"}


@pytest.mark.parametrize("token", ["wrong", "cmr_not-a-real-token", ""], ids=["wrong", "unknown-personal", "empty"])
def test_unknown_tokens_get_401_on_every_team_and_review_route(client, admin_headers, aws, token):
    create_reviewer(client, admin_headers, "alice")
    before = _reviewer_items(aws)
    headers = json_headers(Authorization=f"Bearer {token}")

    answers = [
        client.http.post("/reviewers", headers=headers, body='{"name": "mallory", "role": "admin"}'),
        client.http.get("/reviewers", headers=headers),
        client.http.delete("/reviewers/alice", headers=headers),
        client.http.get("/reviews", headers=headers),
    ]

    assert [answer.status_code for answer in answers] == [401] * 4
    assert _reviewer_items(aws) == before


def test_a_deleted_reviewer_is_refused_at_the_next_request(client, admin_headers, aws):
    token = create_reviewer(client, admin_headers, "alice")
    assert client.http.get("/reviews", headers=bearer(token)).status_code == 200

    deleted = client.http.delete("/reviewers/alice", headers=admin_headers)

    assert deleted.status_code == 204
    assert client.http.get("/reviews", headers=bearer(token)).status_code == 401
    assert client.http.get("/reviewers", headers=admin_headers).json_body["items"] == []
    assert _reviewer_items(aws) == []
    assert client.http.delete("/reviewers/alice", headers=admin_headers).status_code == 404
    assert client.http.delete("/reviewers/Not%20A%20Name", headers=admin_headers).status_code == 400


def test_a_decision_records_the_reviewer_who_made_it(client, admin_headers):
    alice = create_reviewer(client, admin_headers, "alice")
    bob = create_reviewer(client, admin_headers, "bob")
    created = submit(client, "forbidden team work")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    won = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=bearer(alice), body='{"reason": "spam"}')
    lost = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=bearer(bob))

    assert won.status_code == 200
    assert won.json_body == {"reviewId": review["reviewId"], "decision": "rejected", "decidedBy": "alice"}
    assert lost.status_code == 409
    assert "rejected by alice" in lost.json_body["error"]["message"]
    wait_for_status(client, created["submissionId"], "REJECTED")
    decided = client.http.get(f"/reviews/{review['reviewId']}", headers=bearer(bob)).json_body
    assert (decided["decidedBy"], decided["reason"]) == ("alice", "spam")


def test_the_bootstrap_token_is_the_admin_named_admin(client):
    response = client.http.get("/reviewers", headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 200
