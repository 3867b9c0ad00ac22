"""SPEC §15's statement of reasons on moto with the real state machine: a rejection's category, and who decided.

Every outcome the submitter sees (GET /submissions/{id}, the WebSocket decision, the e-mail, the
webhook's data and the EventBridge detail) carries ``decidedBy`` and ``automated``, and a
rejection its ``category``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import service
from tests.conftest import (
    advance_past_review_deadlines,
    pending_review_for,
    submit,
    wait_for,
    wait_for_status,
)
from tests.functional.test_delivery import (  # the EventBridge queue and webhook receiver of the delivery tests
    ADDRESS,
    Receiver,
    _assert_exactly_one_event,
    _history,
    _sent_messages,
    _submit_with,
    _wait_until_finished,
    event_queue,  # noqa: F401 - a fixture
    webhook,  # noqa: F401 - a fixture
)


def _reject(client: Any, headers: dict[str, str], review_id: str, body: dict[str, Any] | None) -> Any:
    return client.http.post(
        f"/reviews/{review_id}/reject", headers=headers, body=json.dumps(body) if body is not None else None
    )


def _decided_listing(client: Any, headers: dict[str, str], review_id: str) -> dict[str, Any]:
    items = client.http.get("/reviews?status=rejected&limit=100", headers=headers).json_body["items"]
    return next(item for item in items if item["reviewId"] == review_id)


def test_the_categories_are_listed_in_their_configured_order_with_the_default(client):
    response = client.http.get("/rejection-categories")

    assert response.status_code == 200
    assert response.json_body == {
        "items": ["spam", "hate", "harassment", "violence", "sexual", "illegal", "off-topic", "other"],
        "default": "other",
    }


def test_a_rejection_with_a_category_carries_it_on_every_channel_with_who_decided(
    client,
    admin_headers,
    websockets_clients,
    event_queue,  # noqa: F811
    webhook,  # noqa: F811
):
    with Receiver(webhook["secret"], [200]) as receiver:
        webhook["configure"](receiver.url)
        created = _submit_with(client, "forbidden bargains", notifyEmail=ADDRESS)
        submission_id = created["submissionId"]
        websockets_clients.connect("author", submission_id=submission_id)
        review = pending_review_for(client, admin_headers, submission_id)

        response = _reject(client, admin_headers, review["reviewId"], {"reason": "buy now!", "category": "spam"})
        assert response.status_code == 200, response.body
        detail = _assert_exactly_one_event(event_queue, submission_id, decision="rejected")

    expected = {
        "decision": "rejected",
        "reason": "buy now!",
        "category": "spam",
        "decidedBy": "admin",
        "automated": False,
    }
    shown = client.http.get(f"/submissions/{submission_id}").json_body
    assert {key: shown.get(key) for key in expected} == expected
    message = wait_for(lambda: websockets_clients.decisions("author"))[0]
    assert {key: message.get(key) for key in expected} == expected
    assert {key: detail.get(key) for key in expected} == expected
    (delivery,) = receiver.deliveries
    assert {key: delivery["payload"]["data"].get(key) for key in expected} == expected
    (mail,) = _sent_messages()
    assert "Category: spam" in mail.body and "Decided by: admin (a person)" in mail.body
    listed = _decided_listing(client, admin_headers, review["reviewId"])
    assert (listed["category"], listed["reason"]) == ("spam", "buy now!")
    (decided,) = [item for item in _history(client, admin_headers, submission_id) if item["event"] == "decided"]
    assert (decided["category"], decided["actor"]) == ("spam", "admin")


def test_a_rejection_without_a_category_is_other(client, admin_headers, event_queue):  # noqa: F811
    created = submit(client, "forbidden vagueness")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    assert _reject(client, admin_headers, review["reviewId"], None).status_code == 200

    detail = _assert_exactly_one_event(event_queue, created["submissionId"], decision="rejected")
    assert (detail["category"], detail["automated"]) == ("other", False)
    shown = wait_for_status(client, created["submissionId"], "REJECTED")
    assert shown["category"] == "other"
    assert _decided_listing(client, admin_headers, review["reviewId"])["category"] == "other"


@pytest.mark.parametrize(
    "body",
    [
        {"category": "rudeness"},
        {"category": "SPAM"},
        {"category": ""},
        {"category": 7},
        {"category": ["spam"]},
        {"reason": "fine", "category": "spam", "extra": 1},
    ],
)
def test_an_unknown_or_malformed_category_is_a_400_and_changes_nothing(client, admin_headers, body):
    created = submit(client, "forbidden mystery")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    response = _reject(client, admin_headers, review["reviewId"], body)

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "BadRequest"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "PENDING"
    assert client.http.get(f"/submissions/{created['submissionId']}").json_body["status"] == "IN_REVIEW"
    assert "decided" not in [item["event"] for item in _history(client, admin_headers, created["submissionId"])]
    # The review can still be decided, with a category it knows.
    assert _reject(client, admin_headers, review["reviewId"], {"category": "hate"}).status_code == 200


def test_an_approval_with_a_category_is_a_400_and_changes_nothing(client, admin_headers):
    created = submit(client, "forbidden but fine")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    response = client.http.post(
        f"/reviews/{review['reviewId']}/approve", headers=admin_headers, body=json.dumps({"category": "spam"})
    )

    assert response.status_code == 400
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "PENDING"


def test_configured_categories_replace_the_defaults(client, admin_headers, monkeypatch):
    monkeypatch.setenv("REJECTION_CATEGORIES", "scam, other")
    service.reset()
    created = submit(client, "forbidden offers")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    assert client.http.get("/rejection-categories").json_body["items"] == ["scam", "other"]
    assert _reject(client, admin_headers, review["reviewId"], {"category": "spam"}).status_code == 400
    assert _reject(client, admin_headers, review["reviewId"], {"category": "scam"}).status_code == 200
    assert wait_for_status(client, created["submissionId"], "REJECTED")["category"] == "scam"


def test_an_approval_says_who_approved_and_no_category(client, admin_headers, event_queue):  # noqa: F811
    created = submit(client, "forbidden delight")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    detail = _assert_exactly_one_event(event_queue, created["submissionId"], decision="approved", decidedBy="admin")
    assert detail["automated"] is False and "category" not in detail
    shown = wait_for_status(client, created["submissionId"], "APPROVED")
    assert (shown["decidedBy"], shown["automated"]) == ("admin", False) and "category" not in shown


def test_a_clean_publication_is_automated_by_the_content_check(client, event_queue):  # noqa: F811
    created = submit(client, "A quiet walk in the park")

    detail = _assert_exactly_one_event(event_queue, created["submissionId"], decision="approved")

    assert (detail["decidedBy"], detail["automated"]) == ("content-check", True)
    shown = wait_for_status(client, created["submissionId"], "APPROVED")
    assert (shown["decidedBy"], shown["automated"]) == ("content-check", True)


def test_an_expiry_is_automated_and_decided_by_the_deadline(
    client,
    admin_headers,
    websockets_clients,
    interpreter_clock,
    event_queue,  # noqa: F811
):
    created = _submit_with(client, "forbidden and slow", notifyEmail=ADDRESS)
    websockets_clients.connect("author", submission_id=created["submissionId"])
    pending_review_for(client, admin_headers, created["submissionId"])

    advance_past_review_deadlines(interpreter_clock)

    detail = _assert_exactly_one_event(event_queue, created["submissionId"], decision="expired")
    expected = {"decidedBy": "deadline", "automated": True, "category": None}
    assert {key: detail.get(key) for key in expected} == expected
    shown = wait_for_status(client, created["submissionId"], "EXPIRED")
    assert {key: shown.get(key) for key in expected} == expected
    message = wait_for(lambda: websockets_clients.decisions("author"))[0]
    assert {key: message.get(key) for key in expected} == expected
    (mail,) = _sent_messages()
    assert "Decided by: deadline (automated)" in mail.body


def test_a_refusal_by_the_risk_check_is_automated_with_the_category_of_its_labels(
    client,
    admin_headers,
    monkeypatch,
    event_queue,  # noqa: F811
):
    monkeypatch.setenv("RISK_REJECT_THRESHOLD", "0.9")
    service.reset()
    created = submit(client, "you are a worthless idiot and I hate you")

    detail = _assert_exactly_one_event(event_queue, created["submissionId"], decision="rejected")

    # The local model scores INSULT (harassment) and PROFANITY (no category) alike; INSULT sorts first.
    expected = {"decidedBy": "content-check", "automated": True, "category": "harassment"}
    assert {key: detail.get(key) for key in expected} == expected
    shown = wait_for_status(client, created["submissionId"], "REJECTED")
    assert {key: shown.get(key) for key in expected} == expected
    (decided,) = [
        item for item in _history(client, admin_headers, created["submissionId"]) if item["event"] == "decided"
    ]
    assert (decided["actor"], decided["category"]) == ("content-check", "harassment")


def test_a_signed_link_rejection_is_other_by_a_person(client, admin_headers, event_queue):  # noqa: F811
    created = submit(client, "forbidden by mail")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    path = review["rejectUrl"].removeprefix("http://testserver")

    response = client.http.post(path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")

    assert response.status_code == 200, response.body
    detail = _assert_exactly_one_event(event_queue, created["submissionId"], decision="rejected")
    expected = {"decidedBy": "signed-link", "automated": False, "category": "other"}
    assert {key: detail.get(key) for key in expected} == expected


def test_an_execution_started_before_categories_gets_other(client, admin_headers):
    """A final task whose outcome names no category (an execution in flight over the deploy) records ``other``."""
    import app

    created = submit(client, "forbidden of old")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    _reject(client, admin_headers, review["reviewId"], {"category": "spam"})
    wait_for_status(client, created["submissionId"], "REJECTED")
    _wait_until_finished(created["submissionId"])
    submission = service.use_cases().submissions.get_submission(created["submissionId"])

    app.record_outcome(
        {
            "submissionId": submission.submission_id,
            "executionArn": submission.execution_arn,
            "outcome": {"decision": "rejected", "decidedBy": "admin", "decidedAt": submission.decided_at},
        },
        None,
    )

    assert client.http.get(f"/submissions/{created['submissionId']}").json_body["category"] == "other"
