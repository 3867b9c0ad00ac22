"""Admin review routes: authentication, the pending list, and decisions that exactly one caller wins."""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from chalicelib import service
from chalicelib.errors import ConflictError
from tests.conftest import REGION, pending_review_for, submit, wait_for, wait_for_status

UNKNOWN_ID = "8c1a3a55-8f4f-4a0d-9a55-000000000000"


def _pending_items(client, admin_headers, query: str = "") -> dict:
    response = client.http.get(f"/reviews?status=pending{query}", headers=admin_headers)
    assert response.status_code == 200, response.body
    return response.json_body


def _flag(client, admin_headers, count: int) -> list[dict]:
    created = [submit(client, f"forbidden item {index}") for index in range(count)]
    return [pending_review_for(client, admin_headers, item["submissionId"]) for item in created]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic dGVzdC1hZG1pbi10b2tlbg==", "test-admin-token", "Bearer "],
    ids=["missing", "wrong-token", "wrong-scheme", "no-scheme", "empty"],
)
def test_admin_routes_need_the_bearer_token_and_change_nothing_without_it(client, admin_headers, authorization):
    (review,) = _flag(client, admin_headers, 1)
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    responses = [
        client.http.get("/reviews", headers=headers),
        client.http.get(f"/reviews/{review['reviewId']}", headers=headers),
        client.http.post(f"/reviews/{review['reviewId']}/approve", headers=headers),
        client.http.post(f"/reviews/{review['reviewId']}/reject", headers=headers),
    ]

    assert [response.status_code for response in responses] == [401] * 4
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "PENDING"


def test_bearer_scheme_is_case_insensitive(client, admin_headers):
    response = client.http.get("/reviews", headers={"Authorization": "bearer test-admin-token"})
    assert response.status_code == 200


def test_pending_list_pages_through_every_review_oldest_first(client, admin_headers):
    reviews = _flag(client, admin_headers, 5)

    first = _pending_items(client, admin_headers, "&limit=2&order=oldest")
    second = _pending_items(client, admin_headers, f"&limit=2&order=oldest&nextToken={first['nextToken']}")
    third = _pending_items(client, admin_headers, f"&limit=2&order=oldest&nextToken={second['nextToken']}")

    listed = [item["reviewId"] for page in (first, second, third) for item in page["items"]]
    assert sorted(listed) == sorted(review["reviewId"] for review in reviews)
    created = [item["createdAt"] for page in (first, second, third) for item in page["items"]]
    assert created == sorted(created)
    assert (
        "nextToken" not in third
        or not _pending_items(client, admin_headers, f"&limit=2&nextToken={third['nextToken']}")["items"]
    )


def test_pending_list_newest_first_is_the_reverse_order(client, admin_headers):
    _flag(client, admin_headers, 3)
    newest = [item["createdAt"] for item in _pending_items(client, admin_headers, "&order=newest")["items"]]
    assert newest == sorted(newest, reverse=True)


def test_decided_reviews_leave_the_pending_list(client, admin_headers):
    first, second = _flag(client, admin_headers, 2)
    client.http.post(f"/reviews/{first['reviewId']}/approve", headers=admin_headers)

    listed = [item["reviewId"] for item in _pending_items(client, admin_headers)["items"]]

    assert listed == [second["reviewId"]]


def test_pending_list_is_a_query_on_the_sparse_index(client, admin_headers, aws):
    _flag(client, admin_headers, 1)
    description = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=aws["ReviewsTableName"])
    indexes = {index["IndexName"]: index for index in description["Table"]["GlobalSecondaryIndexes"]}
    assert [key["AttributeName"] for key in indexes["pending-by-created"]["KeySchema"]] == [
        "pendingPartition",
        "createdAt",
    ]
    calls = _record_dynamodb_calls()
    assert client.http.get("/reviews?status=pending", headers=admin_headers).status_code == 200
    assert calls == [("Query", "pending-by-created")]


@pytest.mark.parametrize(
    "query",
    [
        "&limit=0",
        "&limit=101",
        "&limit=abc",
        "&order=sideways",
        "&nextToken=%%%",
        "&nextToken=e30",
        "&status=archived",
        "&status=PENDING&nextToken=eyJyZXZpZXdJZCI6ICJ4In0",
    ],
)
def test_bad_list_parameters_get_400(client, admin_headers, query):
    response = client.http.get(
        f"/reviews?status=pending{query}".replace("status=pending&status", "status"), headers=admin_headers
    )
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "BadRequest"


def test_review_shows_matches_deadline_and_signed_links(client, admin_headers):
    (review,) = _flag(client, admin_headers, 1)

    assert review["title"] == "forbidden item 0"
    assert review["deadline"] > review["createdAt"]
    assert review["approveUrl"].startswith(f"http://testserver/reviews/{review['reviewId']}/decide?action=approve")
    assert "signature=" in review["rejectUrl"] and "action=reject" in review["rejectUrl"]


def test_unknown_review_is_404_for_get_and_decisions(client, admin_headers):
    for response in (
        client.http.get(f"/reviews/{UNKNOWN_ID}", headers=admin_headers),
        client.http.post(f"/reviews/{UNKNOWN_ID}/approve", headers=admin_headers),
        client.http.post(f"/reviews/{UNKNOWN_ID}/reject", headers=admin_headers),
    ):
        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "NotFound"


def test_decision_body_must_be_an_optional_reason(client, admin_headers):
    (review,) = _flag(client, admin_headers, 1)
    url = f"/reviews/{review['reviewId']}/reject"

    bad = [
        client.http.post(url, headers=admin_headers, body="{oops"),
        client.http.post(url, headers=admin_headers, body=json.dumps({"reason": 5})),
        client.http.post(url, headers=admin_headers, body=json.dumps({"reason": "x" * 1001})),
        client.http.post(url, headers=admin_headers, body=json.dumps({"verdict": "no"})),
        client.http.post(url, headers=admin_headers, body='{"reason": "lone \\ud800 surrogate"}'),
    ]

    assert [response.status_code for response in bad] == [400] * 5
    assert "surrogate" in bad[-1].json_body["error"]["message"]
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "PENDING"


def test_approve_returns_409_when_already_decided(client, admin_headers):
    (review,) = _flag(client, admin_headers, 1)

    first = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    again = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    other = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers)

    assert first.status_code == 200
    assert again.status_code == 409
    assert other.status_code == 409
    assert again.json_body["error"]["code"] == "AlreadyDecided"


def test_approve_and_reject_racing_from_threads_apply_exactly_one_decision(client, admin_headers):
    reviews = _flag(client, admin_headers, 3)
    moderation = service.use_cases()

    for review in reviews:
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def decide(action: str, review_id: str, barrier: threading.Barrier, outcomes: dict[str, str]) -> None:
            barrier.wait()
            try:
                outcomes[action] = moderation.decisions.decide(review_id, action=action, decided_by="admin").decision
            except ConflictError:
                outcomes[action] = "conflict"

        threads = [
            threading.Thread(target=decide, args=(action, review["reviewId"], barrier, outcomes))
            for action in ("approve", "reject")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes.values()).count("conflict") == 1, outcomes
        winner = next(value for value in outcomes.values() if value != "conflict")
        expected_status = "APPROVED" if winner == "approved" else "REJECTED"
        done = wait_for_status(client, review["submissionId"], "APPROVED", "REJECTED")
        assert done["status"] == expected_status


def test_task_token_appears_in_no_response_message_or_log(client, admin_headers, aws, websockets_clients, caplog):
    caplog.set_level("DEBUG", logger="chalicelib")
    created = submit(client, "forbidden secrets")
    websockets_clients.connect("watcher", submission_id=created["submissionId"])
    review = pending_review_for(client, admin_headers, created["submissionId"])
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["ReviewsTableName"])
    token = table.get_item(Key={"reviewId": review["reviewId"]})["Item"]["taskToken"]
    assert token

    bodies = [
        client.http.get("/reviews", headers=admin_headers).body,
        client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).body,
        client.http.get(f"/submissions/{created['submissionId']}").body,
        client.http.get(review["approveUrl"].removeprefix("http://testserver")).body,
        client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers).body,
    ]
    wait_for(lambda: websockets_clients.decisions("watcher"))
    bodies.append(json.dumps(websockets_clients.received("watcher")).encode())

    assert all(token.encode() not in body for body in bodies)
    our_lines = [record.getMessage() for record in caplog.records if record.name.startswith("chalicelib")]
    assert our_lines
    assert all(token not in line for line in our_lines)


def _record_dynamodb_calls() -> list[tuple[str, str | None]]:
    """Every DynamoDB operation the app's reviews table makes from now on: (operation, index)."""
    from chalicelib.config import get_settings
    from chalicelib.integrations import aws as aws_clients

    calls: list[tuple[str, str | None]] = []
    events = aws_clients.table(get_settings().reviews_table).meta.client.meta.events
    events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: calls.append((model.name, params.get("IndexName"))),
    )
    return calls


def _decide(client, headers, review: dict, action: str, reason: str | None = None) -> None:
    body = json.dumps({"reason": reason}) if reason else "{}"
    response = client.http.post(f"/reviews/{review['reviewId']}/{action}", headers=headers, body=body)
    assert response.status_code == 200, response.body
    wait_for_status(client, review["submissionId"], "APPROVED", "REJECTED")


def test_decided_reviews_are_listed_newest_first_by_status_each_page_one_query(client, admin_headers):
    reviews = _flag(client, admin_headers, 4)
    for review, action in zip(reviews, ("approve", "reject", "approve", "reject"), strict=True):
        _decide(client, admin_headers, review, action, reason=f"because {action}")

    def listed(status: str, query: str = "") -> dict:
        response = client.http.get(f"/reviews?status={status}{query}", headers=admin_headers)
        assert response.status_code == 200, response.body
        return response.json_body

    ids = [review["reviewId"] for review in reviews]
    assert [item["reviewId"] for item in listed("decided")["items"]] == ids[::-1]
    assert [item["reviewId"] for item in listed("approved")["items"]] == [ids[2], ids[0]]
    assert [item["reviewId"] for item in listed("rejected")["items"]] == [ids[3], ids[1]]
    assert [item["reviewId"] for item in listed("decided", "&order=oldest")["items"]] == ids
    assert listed("expired")["items"] == []
    assert listed("pending")["items"] == []
    first = listed("approved")["items"][0]
    assert (first["decision"], first["reason"], first["decidedBy"]) == ("approved", "because approve", "admin")
    assert "taskToken" not in json.dumps(listed("decided"))

    page = listed("decided", "&limit=3")
    rest = listed("decided", f"&limit=3&nextToken={page['nextToken']}")
    assert [item["reviewId"] for item in page["items"] + rest["items"]] == ids[::-1]
    assert "nextToken" not in rest

    calls = _record_dynamodb_calls()
    listed("decided")
    listed("rejected")
    assert calls == [("Query", "decided-by-time"), ("Query", "status-by-decided")]


def test_a_page_token_of_one_list_is_refused_by_another(client, admin_headers):
    reviews = _flag(client, admin_headers, 2)
    for review in reviews:
        _decide(client, admin_headers, review, "approve")
    token = client.http.get("/reviews?status=decided&limit=1", headers=admin_headers).json_body["nextToken"]

    response = client.http.get(f"/reviews?status=pending&nextToken={token}", headers=admin_headers)

    assert response.status_code == 400


def test_a_review_opened_in_full_shows_the_body_and_where_each_match_is(client, admin_headers):
    created = submit(client, "A clean title", body="Some text, then f0rbidden words, then more.")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    full = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body

    assert full["body"] == "Some text, then f0rbidden words, then more."
    (match,) = full["matches"]
    assert match["field"] == "body"
    assert full["body"][match["start"] : match["end"]] == match["text"] == "f0rbidden"
    assert "body" not in client.http.get("/reviews", headers=admin_headers).json_body["items"][0]


def test_a_reason_sent_as_a_form_gets_415_in_the_error_shape_and_decides_nothing(client, admin_headers):
    """The README's reject example once sent curl -d without the header: a form, refused."""
    review = _flag(client, admin_headers, 1)[0]
    headers = {**admin_headers, "Content-Type": "application/x-www-form-urlencoded"}

    response = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=headers, body='{"reason": "spam"}')

    assert response.status_code == 415
    assert response.json_body["error"]["code"] == "UnsupportedMediaType"
    assert "send Content-Type: application/json" in response.json_body["error"]["message"]
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "PENDING"
