"""Platform clients (SPEC §18): tokens shown once and stored as hashes, submittedBy, revocation, SUBMIT_REQUIRES_CLIENT."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import ADMIN_TOKEN, REGION, json_headers, submit
from tests.functional.test_reviewers_api import bearer, create_reviewer

ARTICLE = json.dumps({"title": "Hello", "body": "A clean article"})


def create_client(client: Any, admin_headers: dict[str, str], name: str = "cms-backend") -> str:
    response = client.http.post("/clients", headers=admin_headers, body=json.dumps({"name": name}))
    assert response.status_code == 201, response.body
    return str(response.json_body["token"])


def _table_items(aws: dict[str, str], output: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=aws[output])["Items"]


def _executions(aws: dict[str, str]) -> list[dict[str, Any]]:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    return stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"]


def _submitted_event(client: Any, admin_headers: dict[str, str], submission_id: str) -> dict[str, Any]:
    history = client.http.get(f"/submissions/{submission_id}/history", headers=admin_headers).json_body["items"]
    (event,) = [event for event in history if event["event"] == "submitted"]
    return event


def test_an_admin_creates_a_client_whose_token_is_shown_once_and_stored_only_as_a_hash(client, admin_headers, aws):
    response = client.http.post("/clients", headers=admin_headers, body='{"name": "cms-backend"}')

    assert response.status_code == 201
    created = response.json_body
    assert set(created) == {"name", "token", "createdAt"}
    assert created["name"] == "cms-backend"
    assert created["token"].startswith("cmc_") and len(created["token"]) > 40
    listed = client.http.get("/clients", headers=admin_headers).json_body["items"]
    assert listed == [{"name": "cms-backend", "createdAt": created["createdAt"], "createdBy": "admin"}]
    assert created["token"] not in json.dumps(_table_items(aws, "ReviewersTableName"))
    # Clients are not reviewers: they do not show in the team, and their token opens no reviewer route.
    assert client.http.get("/reviewers", headers=admin_headers).json_body["items"] == []
    assert client.http.get("/reviews", headers=bearer(created["token"])).status_code == 401


def test_a_client_token_records_submitted_by_in_the_submitted_event(client, admin_headers):
    token = create_client(client, admin_headers)

    accepted = submit(client, "Hello", "A clean article", Authorization=f"Bearer {token}")

    assert _submitted_event(client, admin_headers, accepted["submissionId"])["submittedBy"] == "cms-backend"


def test_an_anonymous_submission_has_no_submitted_by(client, admin_headers):
    accepted = submit(client, "Hello", "A clean article")

    assert "submittedBy" not in _submitted_event(client, admin_headers, accepted["submissionId"])


@pytest.mark.parametrize(
    "authorization",
    ["Bearer cmc_not-a-real-token", "Bearer " + ADMIN_TOKEN, "Basic dXNlcjpwYXNz", "Bearer ", "cmc_x"],
    ids=["unknown-client-token", "admin-token", "other-scheme", "empty-bearer", "no-scheme"],
)
def test_a_credential_that_is_not_a_current_client_is_401_and_never_anonymous(client, aws, authorization):
    response = client.http.post("/submissions", headers=json_headers(Authorization=authorization), body=ARTICLE)

    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "Unauthorized"
    assert _table_items(aws, "SubmissionsTableName") == []
    assert _executions(aws) == []


def test_a_reviewers_token_is_not_a_client_token(client, admin_headers, aws):
    reviewer_token = create_reviewer(client, admin_headers, "alice")

    response = client.http.post("/submissions", headers=bearer(reviewer_token), body=ARTICLE)

    assert response.status_code == 401
    assert _executions(aws) == []


def test_a_deleted_client_is_refused_from_the_next_request(client, admin_headers, aws):
    token = create_client(client, admin_headers)
    submit(client, "Before", "A clean article", Authorization=f"Bearer {token}")

    deleted = client.http.delete("/clients/cms-backend", headers=admin_headers)

    assert deleted.status_code == 204
    refused = client.http.post("/submissions", headers=bearer(token), body=ARTICLE)
    assert refused.status_code == 401
    assert len(_executions(aws)) == 1
    assert client.http.get("/clients", headers=admin_headers).json_body["items"] == []
    assert client.http.delete("/clients/cms-backend", headers=admin_headers).status_code == 404


def test_a_taken_client_name_is_409_and_keeps_the_first_token(client, admin_headers):
    token = create_client(client, admin_headers)

    again = client.http.post("/clients", headers=admin_headers, body='{"name": "cms-backend"}')

    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "AlreadyExists"
    submit(client, "Hello", "A clean article", Authorization=f"Bearer {token}")


@pytest.mark.parametrize("body", ['{"name": "Bad Name"}', '{"name": "admin"}', '{"name": "x", "role": "admin"}', "[]"])
def test_a_bad_client_body_is_400(client, admin_headers, body):
    response = client.http.post("/clients", headers=admin_headers, body=body)

    assert response.status_code == 400
    assert client.http.get("/clients", headers=admin_headers).json_body["items"] == []


def test_only_admins_manage_clients(client, admin_headers):
    reviewer = bearer(create_reviewer(client, admin_headers, "alice"))

    assert client.http.post("/clients", headers=reviewer, body='{"name": "cms"}').status_code == 403
    assert client.http.get("/clients", headers=reviewer).status_code == 403
    assert client.http.delete("/clients/cms", headers=reviewer).status_code == 403
    assert client.http.get("/clients", headers=json_headers()).status_code == 401


def test_submit_requires_client_refuses_anonymous_submissions_and_admits_clients(
    client, admin_headers, aws, monkeypatch
):
    from chalicelib import service

    token = create_client(client, admin_headers)
    monkeypatch.setenv("SUBMIT_REQUIRES_CLIENT", "true")
    service.reset()

    anonymous = client.http.post("/submissions", headers=json_headers(), body=ARTICLE)

    assert anonymous.status_code == 401
    assert _executions(aws) == []
    submit(client, "Hello", "A clean article", Authorization=f"Bearer {token}")
