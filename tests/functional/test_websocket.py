"""WebSocket handlers of SPEC §3: subscribe, ping, errors, decisions pushed, stale connections pruned."""

from __future__ import annotations

import json
import threading
import time

import boto3
from botocore.exceptions import ClientError

from chalicelib import service
from chalicelib.web.requests import parse_article_request
from tests.conftest import REGION, pending_review_for, submit, wait_for, wait_for_status


class GoneAnsweringClient:
    """A management API client that records each post and answers GoneException for ``gone`` ids."""

    def __init__(self, *, gone: set[str]) -> None:
        self.gone = gone
        self.posted: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict:
        with self._lock:
            self.posted.append((ConnectionId, Data))
        if ConnectionId in self.gone:
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")
        return {}


def _connection_items(table_name: str, connection_id: str) -> list[dict]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    return table.query(KeyConditionExpression="connectionId = :id", ExpressionAttributeValues={":id": connection_id})[
        "Items"
    ]


def test_subscriber_receives_the_approval_as_it_happens(client, admin_headers, websockets_clients):
    created = submit(client, "forbidden news")
    websockets_clients.connect("alice", submission_id=created["submissionId"])
    review = pending_review_for(client, admin_headers, created["submissionId"])

    client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    decision = wait_for(lambda: websockets_clients.decisions("alice"))[0]
    assert decision["type"] == "decision"
    assert decision["submissionId"] == created["submissionId"]
    assert decision["decision"] == "approved"
    assert "decidedAt" in decision


def test_every_subscriber_receives_a_rejection_with_its_reason(client, admin_headers, websockets_clients):
    created = submit(client, "forbidden opinions")
    websockets_clients.connect("bob", submission_id=created["submissionId"])
    websockets_clients.connect("carol")
    websockets_clients.send("carol", {"action": "subscribe", "submissionId": created["submissionId"]})
    review = pending_review_for(client, admin_headers, created["submissionId"])

    client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body='{"reason": "spam"}')

    for connection_id in ("bob", "carol"):
        decision = wait_for(lambda connection_id=connection_id: websockets_clients.decisions(connection_id))[0]
        assert decision["decision"] == "rejected"
        assert decision["reason"] == "spam"


def test_subscribe_replies_with_the_current_status_at_once(client, websockets_clients):
    created = submit(client, "forbidden, still checking")
    websockets_clients.connect("dave")

    websockets_clients.send("dave", {"action": "subscribe", "submissionId": created["submissionId"]})

    status = websockets_clients.received("dave")[0]
    assert status["type"] == "status"
    assert status["submissionId"] == created["submissionId"]
    assert status["status"] in ("CHECKING", "IN_REVIEW")


def test_late_subscriber_gets_the_decision_at_once(client, websockets_clients):
    created = submit(client, "A clean headline")
    wait_for_status(client, created["submissionId"], "APPROVED")
    websockets_clients.connect("erin")

    websockets_clients.send("erin", {"action": "subscribe", "submissionId": created["submissionId"]})

    messages = websockets_clients.received("erin")
    assert [message["type"] for message in messages] == ["status", "decision"]
    assert messages[0]["status"] == "APPROVED"
    assert messages[1]["decision"] == "approved"


def test_ping_gets_pong(websockets_clients):
    websockets_clients.connect("frank")
    websockets_clients.send("frank", {"action": "ping"})
    assert websockets_clients.received("frank") == [{"type": "pong"}]


def test_malformed_json_and_unknown_actions_get_errors_and_the_connection_stays(websockets_clients, aws):
    websockets_clients.connect("grace")

    websockets_clients.send("grace", "{not json")
    websockets_clients.send("grace", {"action": "dance"})
    websockets_clients.send("grace", ["not", "an", "object"])
    websockets_clients.send("grace", {"action": "subscribe", "submissionId": "not-a-uuid"})
    websockets_clients.send("grace", {"action": "subscribe", "submissionId": "8c1a3a55-8f4f-4a0d-9a55-111111111111"})
    websockets_clients.send("grace", {"action": "ping"})

    messages = websockets_clients.received("grace")
    assert [message["type"] for message in messages] == ["error"] * 5 + ["pong"]
    assert all(message["message"] for message in messages[:5])
    assert _connection_items(aws["ConnectionsTableName"], "grace")


def test_connect_with_a_malformed_submission_id_is_refused(websockets_clients, aws):
    response = websockets_clients.connect("heidi", submission_id="../../etc/passwd")
    assert response["statusCode"] == 400


def _subscribers(table_name: str, submission_id: str) -> set[str]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    return set(table.get_item(Key={"submissionId": submission_id})["Item"].get("subscribers", ()))


def test_disconnect_removes_the_connection_and_its_subscriptions(client, websockets_clients, aws):
    created = submit(client, "A clean headline")
    websockets_clients.connect("ivan", submission_id=created["submissionId"])
    assert len(_connection_items(aws["ConnectionsTableName"], "ivan")) == 2
    assert _subscribers(aws["SubmissionsTableName"], created["submissionId"]) == {"ivan"}

    websockets_clients.disconnect("ivan")

    assert _connection_items(aws["ConnectionsTableName"], "ivan") == []
    assert _subscribers(aws["SubmissionsTableName"], created["submissionId"]) == set()


def test_connect_with_an_unknown_submission_is_refused_and_stores_nothing(websockets_clients, aws):
    response = websockets_clients.connect("walter", submission_id="8c1a3a55-8f4f-4a0d-9a55-000000000000")

    assert response["statusCode"] == 400
    assert _connection_items(aws["ConnectionsTableName"], "walter") == []


def test_a_subscription_racing_the_decision_is_never_missed(client, admin_headers, websockets_clients):
    created = [submit(client, f"forbidden race {index}") for index in range(3)]
    reviews = [pending_review_for(client, admin_headers, item["submissionId"]) for item in created]

    for index, (item, review) in enumerate(zip(created, reviews, strict=True)):
        connection_id = f"racer-{index}"
        websockets_clients.connect(connection_id)
        thread = threading.Thread(
            target=websockets_clients.send,
            args=(connection_id, {"action": "subscribe", "submissionId": item["submissionId"]}),
        )
        thread.start()
        client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
        thread.join()
        wait_for_status(client, item["submissionId"], "APPROVED")
        # Either the subscribe saw the decision, or the decision saw the subscriber: one message at least.
        assert wait_for(lambda connection_id=connection_id: websockets_clients.decisions(connection_id))


def test_connections_are_stored_with_a_ttl(websockets_clients, aws):
    websockets_clients.connect("judy")
    (item,) = _connection_items(aws["ConnectionsTableName"], "judy")
    assert int(item["expiresAt"]) > 0
    assert item["apiId"] == "abc123" and item["stage"] == "ws"


def test_a_gone_connection_is_pruned_while_the_others_still_get_the_decision(client, websockets_clients, aws):
    from chalicelib.clock import iso
    from tests.fakes import RecordingWorkflow

    # moto never answers GoneException: a fake answers like API Gateway. The posts run concurrently,
    # so it answers by connection id rather than in call order (as botocore's Stubber would).
    management = GoneAnsweringClient(gone={"b-gone"})
    # Submitted without an execution; the decision is then recorded as the RecordOutcome task
    # records it, by a service that posts through the fake.
    workflow = RecordingWorkflow()
    moderation = service.build_use_cases(workflow=workflow, management_clients=lambda endpoint: management)
    created = moderation.intake.submit(parse_article_request({"title": "forbidden to all"}), idempotency_key=None)
    # Subscribed before the decision, so the fake sees only the decision's posts.
    for connection_id in ("a-live", "b-gone", "c-live"):
        websockets_clients.connect(connection_id, submission_id=created.submission_id)

    recorded = moderation.outcomes.record(
        {
            "submissionId": created.submission_id,
            "executionArn": workflow.execution_arn_for(created.submission_id),
            "outcome": {"decision": "approved", "decidedBy": "admin", "decidedAt": iso(time.time())},
        }
    )

    assert recorded["delivered"] == 2
    wait_for_status(client, created.submission_id, "APPROVED")
    wait_for(lambda: not _connection_items(aws["ConnectionsTableName"], "b-gone"))
    wait_for(lambda: len(management.posted) == 3)
    assert sorted(connection_id for connection_id, _ in management.posted) == ["a-live", "b-gone", "c-live"]
    assert all(json.loads(data)["decision"] == "approved" for _, data in management.posted)
    assert _connection_items(aws["ConnectionsTableName"], "a-live")
    assert _connection_items(aws["ConnectionsTableName"], "c-live")


def test_subscribers_hear_when_the_submission_goes_to_review(client, admin_headers, websockets_clients, chalice_app):
    import app
    from chalicelib.clock import iso
    from tests.fakes import RecordingWorkflow

    # Submitted without an execution, so the subscription surely comes first; then the app's
    # RequestApproval Lambda runs as Step Functions would call it.
    workflow = RecordingWorkflow()
    flagged = service.build_use_cases(workflow=workflow).intake.submit(
        parse_article_request({"title": "forbidden, wait"}), idempotency_key=None
    )
    websockets_clients.connect("kate", submission_id=flagged.submission_id)

    app.request_approval(
        {
            "submissionId": flagged.submission_id,
            "executionArn": workflow.execution_arn_for(flagged.submission_id),
            "taskToken": "token",
            "enteredTime": iso(time.time()),
            "timeoutSeconds": 3600,
            "matches": [],
        },
        None,
    )

    (pushed,) = websockets_clients.received("kate")
    assert pushed["type"] == "status"
    assert pushed["status"] == "IN_REVIEW"
    assert pushed["submissionId"] == flagged.submission_id
    assert pending_review_for(client, admin_headers, flagged.submission_id)["title"] == "forbidden, wait"


def test_deeply_nested_json_gets_an_error_and_the_connection_stays(websockets_clients, aws):
    websockets_clients.connect("nesting")
    nested = "[" * 2000 + "]" * 2000  # within the 4,096-byte limit, far past the parser's recursion limit

    websockets_clients.send("nesting", nested)
    websockets_clients.send("nesting", '{"action": "ping", "x": ' + "[" * 1900 + "]" * 1900 + "}")
    websockets_clients.send("nesting", {"action": "ping"})

    messages = websockets_clients.received("nesting")
    assert [message["type"] for message in messages] == ["error", "error", "pong"]
    assert all(message["message"] for message in messages[:2])
    assert _connection_items(aws["ConnectionsTableName"], "nesting")
