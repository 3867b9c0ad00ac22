"""POST /submissions and GET /submissions/{id}: validation, idempotency, and nothing stored on bad input."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from tests.conftest import REGION, json_headers, submit, wait_for_status


def _item_count(table_name: str) -> int:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=table_name, Select="COUNT")["Count"]


def _execution_count(state_machine_arn: str) -> int:
    client = boto3.client("stepfunctions", region_name=REGION)
    return len(client.list_executions(stateMachineArn=state_machine_arn)["executions"])


def test_submit_returns_202_with_id_status_websocket_url_and_submitter_token(client):
    response = client.http.post("/submissions", headers=json_headers(), body=json.dumps({"title": "Hello"}))

    assert response.status_code == 202
    assert set(response.json_body) == {"submissionId", "status", "websocketUrl", "submitterToken"}
    assert response.json_body["submitterToken"].startswith("cms_")
    assert response.json_body["status"] == "CHECKING"
    assert response.json_body["websocketUrl"] == "ws://testserver/ws"


def test_get_submission_shows_title_status_and_created_at(client):
    created = submit(client, "Hello there", body="A body")
    done = wait_for_status(client, created["submissionId"], "APPROVED")

    assert done["title"] == "Hello there"
    assert done["createdAt"].endswith("Z")
    assert "body" not in done


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("{not json", 400, id="invalid-json"),
        pytest.param("[]", 400, id="not-an-object"),
        pytest.param(json.dumps({}), 400, id="missing-title"),
        pytest.param(json.dumps({"title": 42}), 400, id="title-not-a-string"),
        pytest.param(json.dumps({"title": ""}), 400, id="empty-title"),
        pytest.param(json.dumps({"title": "   "}), 400, id="blank-title"),
        pytest.param(json.dumps({"title": "x" * 301}), 400, id="title-over-300"),
        pytest.param(json.dumps({"title": "ok", "body": 7}), 400, id="body-not-a-string"),
        pytest.param(json.dumps({"title": "ok", "body": "x" * (100 * 1024 + 1)}), 413, id="body-over-100kb"),
        pytest.param(json.dumps({"title": "ok", "author": "me"}), 400, id="unknown-field"),
        pytest.param("", 400, id="empty-body"),
        pytest.param("[" * 100_000 + "]" * 100_000, 400, id="absurdly-deep-nesting"),
        pytest.param('{"title": "a\\ud800b"}', 400, id="lone-surrogate-in-title"),
        pytest.param('{"title": "ok", "body": "x\\udfff"}', 400, id="lone-surrogate-in-body"),
        pytest.param('{"title": "ok", "\\ud800": "x"}', 400, id="lone-surrogate-in-a-key"),
        pytest.param(b'{"title": "\xff"}', 400, id="invalid-utf8"),
        pytest.param(json.dumps({"title": "ok"}) + " " * 400 * 1024, 413, id="request-over-the-size-limit"),
    ],
)
def test_bad_submission_is_refused_and_nothing_is_stored(client, aws, body, status):
    response = client.http.post("/submissions", headers=json_headers(), body=body)

    assert response.status_code == status
    assert set(response.json_body["error"]) == {"code", "message"}
    assert response.json_body["error"]["message"]
    assert _item_count(aws["SubmissionsTableName"]) == 0
    assert _execution_count(aws["StateMachineArn"]) == 0


def test_a_surrogate_pair_is_an_ordinary_character(client):
    created = submit(client, "emoji \U0001f600")
    assert client.http.get(f"/submissions/{created['submissionId']}").json_body["title"] == "emoji \U0001f600"
    raw = client.http.post("/submissions", headers=json_headers(), body='{"title": "pair \\ud83d\\ude00"}')
    assert raw.status_code == 202


def test_title_of_exactly_300_characters_is_accepted(client):
    assert submit(client, "x" * 300)["status"] == "CHECKING"


def test_same_idempotency_key_returns_the_same_submission_and_one_execution(client, aws):
    first = submit(client, "Once only", **{"Idempotency-Key": "key-123"})
    second = submit(client, "Once only", **{"Idempotency-Key": "key-123"})

    assert first["submissionId"] == second["submissionId"]
    assert _execution_count(aws["StateMachineArn"]) == 1
    assert _item_count(aws["SubmissionsTableName"]) == 1


def test_the_submitter_token_is_stored_only_as_its_hash(client, aws):
    created = submit(client, "Token keeper")

    item = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(aws["SubmissionsTableName"])
        .get_item(Key={"submissionId": created["submissionId"]})["Item"]
    )
    assert created["submitterToken"] not in json.dumps(item, default=str)
    assert item["submitterTokenHash"] == hashlib.sha256(created["submitterToken"].encode()).hexdigest()
    assert "submitterToken" not in client.http.get(f"/submissions/{created['submissionId']}").json_body


def test_a_replayed_idempotency_key_gets_no_submitter_token(client):
    first = submit(client, "Once only", **{"Idempotency-Key": "token-key"})
    again = submit(client, "Once only", **{"Idempotency-Key": "token-key"})

    assert first["submitterToken"].startswith("cms_")
    # Only a hash is stored: a replay can neither show the first token again nor mint a second valid one.
    assert "submitterToken" not in again
    assert again["submissionId"] == first["submissionId"]


def test_idempotency_key_reused_for_another_article_gets_422(client, aws):
    submit(client, "First article", **{"Idempotency-Key": "key-456"})

    response = client.http.post(
        "/submissions", headers=json_headers(**{"Idempotency-Key": "key-456"}), body=json.dumps({"title": "Other"})
    )

    assert response.status_code == 422
    assert response.json_body["error"]["code"] == "IdempotencyKeyReused"
    assert _execution_count(aws["StateMachineArn"]) == 1


def test_overlong_idempotency_key_is_refused(client, aws):
    response = client.http.post(
        "/submissions", headers=json_headers(**{"Idempotency-Key": "k" * 200}), body=json.dumps({"title": "x"})
    )
    assert response.status_code == 400
    assert _item_count(aws["SubmissionsTableName"]) == 0


def test_unknown_submission_is_404_and_malformed_id_is_400(client):
    unknown = client.http.get("/submissions/8c1a3a55-8f4f-4a0d-9a55-000000000000")
    malformed = client.http.get("/submissions/not-a-uuid")

    assert unknown.status_code == 404
    assert unknown.json_body["error"]["code"] == "NotFound"
    assert malformed.status_code == 400


def test_health_answers_ok(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
def test_a_json_body_sent_as_another_content_type_gets_415_in_the_error_shape(client, aws, content_type):
    """curl -d sends a form: the answer must say what to send, in the SPEC's shape, not chalice's."""
    response = client.http.post("/submissions", headers={"Content-Type": content_type}, body='{"title": "hello"}')

    assert response.status_code == 415
    error = response.json_body["error"]
    assert error["code"] == "UnsupportedMediaType"
    assert "send Content-Type: application/json" in error["message"]
    assert set(response.json_body) == {"error"}
    assert _item_count(aws["SubmissionsTableName"]) == 0
    assert _execution_count(aws["StateMachineArn"]) == 0


def test_json_with_a_charset_is_accepted(client):
    response = client.http.post(
        "/submissions", headers={"Content-Type": "application/json; charset=utf-8"}, body='{"title": "hello"}'
    )

    assert response.status_code == 202, response.body


def test_every_non_ascii_body_of_100kb_fits_within_the_request_limit(client):
    """Escaped by json.dumps (\\uXXXX), a 100 KB body of 2-byte letters takes 300 KB: still accepted."""
    body = "й" * (100 * 1024 // 2)
    payload = json.dumps({"title": "escaped", "body": body})
    assert len(payload) > 300 * 1000

    response = client.http.post("/submissions", headers=json_headers(), body=payload)

    assert response.status_code == 202, response.body
