"""``POST /reviews/decisions`` and ``order=deadline``: the queue at scale (SPEC §14), on the real stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import service
from chalicelib.domain.bulk_decisions import BULK_MAX_ITEMS, DecisionItem
from chalicelib.domain.review import REASON_MAX_CHARACTERS
from tests.conftest import (
    advance_past_review_deadlines,
    pending_review_for,
    submit,
    wait_for_status,
)
from tests.functional.test_decision_recovery import _race
from tests.functional.test_reviewers_api import bearer, create_reviewer
from tests.functional.test_reviews_api import _record_dynamodb_calls

UNKNOWN_ID = "8c1a3a55-8f4f-4a0d-9a55-000000000000"


def _flag(client: Any, admin_headers: dict[str, str], *titles: str) -> list[dict[str, Any]]:
    created = [submit(client, title) for title in titles]
    return [pending_review_for(client, admin_headers, item["submissionId"]) for item in created]


def _bulk(client: Any, headers: dict[str, str], body: Any, **extra: str) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.http.post("/reviews/decisions", headers={**headers, **extra}, body=raw)


def _status(client: Any, headers: dict[str, str], review: dict[str, Any]) -> str:
    return client.http.get(f"/reviews/{review['reviewId']}", headers=headers).json_body["status"]


def test_a_batch_decides_each_item_in_order_and_reports_each_outcome(client, admin_headers, interpreter_clock):
    expiring = _flag(client, admin_headers, "forbidden expiring")[0]
    advance_past_review_deadlines(interpreter_clock)
    wait_for_status(client, expiring["submissionId"], "EXPIRED")
    spam, fine, decided, held = _flag(
        client, admin_headers, "forbidden spam", "forbidden fine", "forbidden decided", "forbidden held"
    )
    alice = bearer(create_reviewer(client, admin_headers, "alice"))
    bob = bearer(create_reviewer(client, admin_headers, "bob"))
    assert client.http.post(f"/reviews/{decided['reviewId']}/approve", headers=bob).status_code == 200
    assert client.http.post(f"/reviews/{held['reviewId']}/claim", headers=bob).status_code == 200

    response = _bulk(
        client,
        alice,
        {
            "items": [
                {"reviewId": spam["reviewId"], "decision": "reject", "reason": "spam", "category": "spam"},
                {"reviewId": fine["reviewId"], "decision": "approve"},
                {"reviewId": decided["reviewId"], "decision": "reject", "reason": "late"},
                {"reviewId": UNKNOWN_ID, "decision": "reject"},
                {"reviewId": expiring["reviewId"], "decision": "approve"},
                {"reviewId": held["reviewId"], "decision": "reject", "reason": "spam"},
            ]
        },
    )

    assert response.status_code == 200, response.body
    results = response.json_body["results"]
    assert [(result["reviewId"], result["status"]) for result in results] == [
        (spam["reviewId"], 200),
        (fine["reviewId"], 200),
        (decided["reviewId"], 409),
        (UNKNOWN_ID, 404),
        (expiring["reviewId"], 410),
        (held["reviewId"], 409),
    ]
    assert results[0]["decision"] == "rejected" and results[0]["decidedBy"] == "alice"
    assert results[1]["decision"] == "approved" and "error" not in results[1]
    assert results[2]["error"]["code"] == "AlreadyDecided" and "approved by bob" in results[2]["error"]["message"]
    assert results[3]["error"]["code"] == "NotFound" and "decision" not in results[3]
    assert results[4]["error"]["code"] == "Expired"
    assert results[5]["error"] == {"code": "Claimed", "message": "bob is reviewing this review (it is claimed by bob)"}
    assert wait_for_status(client, spam["submissionId"], "REJECTED")["reason"] == "spam"
    assert wait_for_status(client, fine["submissionId"], "APPROVED")["status"] == "APPROVED"
    assert client.http.get(f"/submissions/{decided['submissionId']}").json_body.get("reason") is None
    assert _status(client, admin_headers, held) == "PENDING"
    history = client.http.get(f"/submissions/{spam['submissionId']}/history", headers=alice).json_body["items"]
    assert [event["actor"] for event in history if event["event"] == "decided"] == ["alice"]


def _items(count: int) -> list[dict[str, str]]:
    return [{"reviewId": f"8c1a3a55-8f4f-4a0d-9a55-{number:012d}", "decision": "approve"} for number in range(count)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "JSON"),
        ([], "items"),
        ({}, "items"),
        ({"items": {}}, "items"),
        ({"items": [], "extra": 1}, "items"),
        ({"items": []}, "1 to 50"),
        ({"items": _items(BULK_MAX_ITEMS + 1)}, "1 to 50"),
        ({"items": ["x"]}, "items[1] must be an object"),
        ({"items": [{"decision": "approve"}]}, "reviewId"),
        ({"items": [{"reviewId": 7, "decision": "approve"}]}, "reviewId"),
        ({"items": [{"reviewId": "nope", "decision": "approve"}]}, "UUID"),
        ({"items": [{"reviewId": UNKNOWN_ID, "decision": "approved"}]}, "approve' or 'reject"),
        ({"items": [{"reviewId": UNKNOWN_ID}]}, "decision"),
        ({"items": [{"reviewId": UNKNOWN_ID, "decision": "approve", "reason": 5}]}, "reason"),
        ({"items": [{"reviewId": UNKNOWN_ID, "decision": "approve", "reason": "x" * 1001}]}, "reason"),
        ({"items": [{"reviewId": UNKNOWN_ID, "decision": "approve", "category": 5}]}, "category"),
        ({"items": [{"reviewId": UNKNOWN_ID, "decision": "approve", "why": "x"}]}, "unknown field"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_malformed_batch_is_400_and_decides_nothing(client, admin_headers, body, message):
    (review,) = _flag(client, admin_headers, "forbidden untouched")
    if isinstance(body, dict) and isinstance(body.get("items"), list) and body["items"]:
        # The first item is a real review: a malformed batch must not decide it either.
        body = {**body, "items": [{"reviewId": review["reviewId"], "decision": "approve"}, *body["items"]]}
        if len(body["items"]) > BULK_MAX_ITEMS + 1:
            body["items"] = body["items"][: BULK_MAX_ITEMS + 1]

    response = _bulk(client, admin_headers, body)

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "BadRequest"
    assert message in response.json_body["error"]["message"]
    assert _status(client, admin_headers, review) == "PENDING"


def test_a_review_twice_in_one_batch_is_400_and_decides_nothing(client, admin_headers):
    (review,) = _flag(client, admin_headers, "forbidden twice")
    item = {"reviewId": review["reviewId"], "decision": "reject"}

    response = _bulk(client, admin_headers, {"items": [item, {**item, "decision": "approve"}]})

    assert response.status_code == 400 and "more than once" in response.json_body["error"]["message"]
    assert _status(client, admin_headers, review) == "PENDING"


def test_fifty_items_are_accepted(client, admin_headers):
    (review,) = _flag(client, admin_headers, "forbidden fiftieth")
    items = [*_items(BULK_MAX_ITEMS - 1), {"reviewId": review["reviewId"], "decision": "reject", "reason": "x" * 1000}]

    response = _bulk(client, admin_headers, {"items": items})

    assert response.status_code == 200
    assert [result["status"] for result in response.json_body["results"]] == [404] * 49 + [200]
    assert len(items[-1]["reason"]) == REASON_MAX_CHARACTERS


def test_a_retried_batch_with_the_same_idempotency_key_gets_the_same_answers(client, admin_headers):
    first, second = _flag(client, admin_headers, "forbidden one", "forbidden two")
    body = {
        "items": [
            {"reviewId": first["reviewId"], "decision": "reject", "reason": "spam"},
            {"reviewId": second["reviewId"], "decision": "approve"},
        ]
    }

    answers = [_bulk(client, admin_headers, body, **{"Idempotency-Key": "batch-1"}) for _ in range(2)]
    other_key = _bulk(client, admin_headers, body, **{"Idempotency-Key": "batch-2"})

    assert answers[0].json_body == answers[1].json_body
    assert [result["status"] for result in answers[0].json_body["results"]] == [200, 200]
    assert [result["status"] for result in other_key.json_body["results"]] == [409, 409]


def test_racing_batches_decide_each_review_exactly_once(client, admin_headers):
    reviews = _flag(client, admin_headers, *(f"forbidden race {number}" for number in range(5)))
    bulk = service.use_cases().bulk_decisions

    def decide(index: int) -> Any:
        action = "approve" if index % 2 else "reject"
        items = [DecisionItem(review_id=review["reviewId"], action=action, reason=f"by {index}") for review in reviews]
        return bulk.decide_all(items, decided_by="admin")

    batches = _race(decide, 6)

    for position, review in enumerate(reviews):
        statuses = [batch[position].status for batch in batches]
        assert statuses.count(200) == 1 and statuses.count(409) == 5, statuses
        winner = next(batch[position] for batch in batches if batch[position].status == 200)
        final = wait_for_status(client, review["submissionId"], "APPROVED", "REJECTED")
        assert final["decision"] == winner.decision


def test_the_pending_list_by_deadline_is_soonest_first_one_query_on_its_index(client, admin_headers, monkeypatch):
    (later,) = _flag(client, admin_headers, "forbidden due in an hour")
    monkeypatch.setenv("REVIEW_TIMEOUT_SECONDS", "600")  # read per execution: a shorter deadline from now on
    service.reset()
    sooner, soonest = _flag(client, admin_headers, "forbidden due in ten minutes", "forbidden also ten minutes")

    calls = _record_dynamodb_calls()
    first = client.http.get("/reviews?status=pending&order=deadline&limit=2", headers=admin_headers).json_body
    assert calls == [("Query", "pending-by-deadline")]
    second = client.http.get(
        f"/reviews?status=pending&order=deadline&limit=2&nextToken={first['nextToken']}", headers=admin_headers
    ).json_body

    listed = [item["reviewId"] for item in first["items"] + second["items"]]
    assert listed[-1] == later["reviewId"] and set(listed) == {
        later["reviewId"],
        sooner["reviewId"],
        soonest["reviewId"],
    }
    deadlines = [item["deadline"] for item in first["items"] + second["items"]]
    assert deadlines == sorted(deadlines)
    created = client.http.get("/reviews?status=pending&order=oldest", headers=admin_headers).json_body["items"]
    assert created[0]["reviewId"] == later["reviewId"]  # oldest first is a different order


def test_a_page_token_of_another_order_is_refused_by_the_deadline_order(client, admin_headers):
    _flag(client, admin_headers, "forbidden a", "forbidden b")
    oldest = client.http.get("/reviews?status=pending&order=oldest&limit=1", headers=admin_headers).json_body

    response = client.http.get(
        f"/reviews?status=pending&order=deadline&nextToken={oldest['nextToken']}", headers=admin_headers
    )

    assert response.status_code == 400 and response.json_body["error"]["code"] == "BadRequest"
    decided = client.http.get("/reviews?status=decided&order=deadline", headers=admin_headers)
    assert decided.status_code == 400
