"""The reviewers' live queue over the WebSocket: created, decided and expired reviews pushed to watchers."""

from __future__ import annotations

from tests.conftest import (
    ADMIN_TOKEN,
    advance_past_review_deadlines,
    pending_review_for,
    submit,
    wait_for,
    wait_for_status,
)
from tests.functional.test_reviewers_api import bearer, create_reviewer


def _review_events(websockets_clients, connection_id: str) -> list[tuple[str, str]]:
    return [
        (message["event"], message["review"]["reviewId"])
        for message in websockets_clients.received(connection_id)
        if message.get("type") == "review"
    ]


def test_watching_reviewers_see_reviews_created_and_decided(client, admin_headers, websockets_clients):
    alice = create_reviewer(client, admin_headers, "alice")
    websockets_clients.connect("alice-dashboard")
    websockets_clients.connect("admin-dashboard")
    websockets_clients.send("alice-dashboard", {"action": "watchReviews", "token": alice})
    websockets_clients.send("admin-dashboard", {"action": "watchReviews", "token": ADMIN_TOKEN})
    assert websockets_clients.received("alice-dashboard")[0] == {
        "type": "watching",
        "reviewer": "alice",
        "role": "reviewer",
    }

    created = submit(client, "This is forbidden")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    wait_for(lambda: ("created", review["reviewId"]) in _review_events(websockets_clients, "alice-dashboard"))
    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=bearer(alice))
    assert approved.status_code == 200
    wait_for_status(client, created["submissionId"], "APPROVED")

    for dashboard in ("alice-dashboard", "admin-dashboard"):
        events = wait_for(
            lambda dashboard=dashboard: (
                len(_review_events(websockets_clients, dashboard)) >= 2
                and _review_events(websockets_clients, dashboard)
            )
        )
        assert events == [("created", review["reviewId"]), ("decided", review["reviewId"])]
    pushed = [
        message["review"]
        for message in websockets_clients.received("alice-dashboard")
        if message.get("type") == "review"
    ]
    assert pushed[1]["decidedBy"] == "alice" and pushed[1]["status"] == "APPROVED"
    assert all("approveUrl" not in review and "taskToken" not in review for review in pushed)


def test_a_wrong_or_revoked_token_gets_an_error_and_no_subscription(client, admin_headers, websockets_clients):
    revoked = create_reviewer(client, admin_headers, "bob")
    assert client.http.delete("/reviewers/bob", headers=admin_headers).status_code == 204
    for connection_id, token in (("wrong", "nope"), ("revoked", revoked), ("missing", None)):
        websockets_clients.connect(connection_id)
        message = {"action": "watchReviews"} | ({"token": token} if token else {})
        websockets_clients.send(connection_id, message)
        assert websockets_clients.received(connection_id)[0]["type"] == "error"

    created = submit(client, "This is forbidden")
    pending_review_for(client, admin_headers, created["submissionId"])

    for connection_id in ("wrong", "revoked", "missing"):
        assert _review_events(websockets_clients, connection_id) == []


def test_a_reviewer_removed_while_watching_gets_no_more_events(client, admin_headers, websockets_clients):
    bob = create_reviewer(client, admin_headers, "bob")
    websockets_clients.connect("bob-dashboard")
    websockets_clients.connect("admin-dashboard")
    websockets_clients.send("bob-dashboard", {"action": "watchReviews", "token": bob})
    websockets_clients.send("admin-dashboard", {"action": "watchReviews", "token": ADMIN_TOKEN})
    assert client.http.delete("/reviewers/bob", headers=admin_headers).status_code == 204

    created = submit(client, "This is forbidden")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    wait_for(lambda: ("created", review["reviewId"]) in _review_events(websockets_clients, "admin-dashboard"))
    assert _review_events(websockets_clients, "bob-dashboard") == []


def test_watching_reviewers_see_a_review_expire_at_its_deadline(
    client, admin_headers, websockets_clients, interpreter_clock
):
    websockets_clients.connect("admin-dashboard")
    websockets_clients.send("admin-dashboard", {"action": "watchReviews", "token": ADMIN_TOKEN})
    created = submit(client, "This is forbidden and nobody looks")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    advance_past_review_deadlines(interpreter_clock)

    wait_for_status(client, created["submissionId"], "EXPIRED")
    events = wait_for(
        lambda: (
            len(_review_events(websockets_clients, "admin-dashboard")) >= 2
            and _review_events(websockets_clients, "admin-dashboard")
        )
    )
    assert events == [("created", review["reviewId"]), ("expired", review["reviewId"])]
    (expired,) = [
        message["review"]
        for message in websockets_clients.received("admin-dashboard")
        if message.get("type") == "review" and message["event"] == "expired"
    ]
    assert expired["status"] == "EXPIRED" and expired["decidedBy"] == "deadline"
