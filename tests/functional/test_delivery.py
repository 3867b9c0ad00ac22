"""Outcomes reach the platform (SPEC §12): EventBridge events, signed webhooks with retries, SES e-mail, on moto."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib import service
from tests.conftest import (
    ACCOUNT_ID,
    REGION,
    SENDER_EMAIL,
    advance_past_review_deadlines,
    json_headers,
    pending_review_for,
    submit,
    wait_for,
    wait_for_status,
)

ADDRESS = "submitter@example.org"


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def event_queue(aws: dict[str, str]) -> str:
    """An SQS queue that an EventBridge rule on the default bus feeds with every Submission Decided event."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="decided-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="submission-decided",
        EventPattern=json.dumps({"source": ["content-moderation"], "detail-type": ["Submission Decided"]}),
    )
    events.put_targets(Rule="submission-decided", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def _events_for(queue_url: str, submission_id: str, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drain the queue into ``seen``; return the events about ``submission_id``."""
    sqs = boto3.client("sqs", region_name=REGION)
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [event for event in seen if event["detail"]["submissionId"] == submission_id]


def _execution(submission_id: str) -> dict[str, Any]:
    arn = service.use_cases().submissions.get_submission(submission_id).execution_arn
    return boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)


def _wait_until_finished(submission_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    return wait_for(
        lambda: (execution := _execution(submission_id))["status"] != "RUNNING" and execution, timeout=timeout
    )


def _assert_exactly_one_event(queue_url: str, submission_id: str, **expected: Any) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    wait_for(lambda: _events_for(queue_url, submission_id, seen))
    assert _wait_until_finished(submission_id)["status"] == "SUCCEEDED"
    (event,) = _events_for(queue_url, submission_id, seen)
    assert event["source"] == "content-moderation"
    assert event["detail-type"] == "Submission Decided"
    detail = event["detail"]
    assert set(detail) <= {
        "submissionId",
        "title",
        "decision",
        "reason",
        "category",
        "decidedBy",
        "automated",
        "decidedAt",
    }
    assert {key: detail.get(key) for key in expected} == expected
    assert detail["decidedAt"].endswith("Z")
    return detail


def _history(client: Any, admin_headers: dict[str, str], submission_id: str) -> list[dict[str, Any]]:
    response = client.http.get(f"/submissions/{submission_id}/history", headers=admin_headers)
    assert response.status_code == 200
    return response.json_body["items"]


def _submit_with(client: Any, title: str, **fields: Any) -> dict[str, Any]:
    response = client.http.post("/submissions", headers=json_headers(), body=json.dumps({"title": title, **fields}))
    assert response.status_code == 202, response.body
    return response.json_body


def _capture_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Every line the app logs, and what libraries log at INFO (botocore's DEBUG wire dumps are off in production)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="chalicelib")


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Receiver:
    """A real HTTP receiver on 127.0.0.1: answers from a script of status codes, verifying every delivery."""

    def __init__(self, secret: str, statuses: list[int], *, hold: threading.Event | None = None) -> None:
        self.verifier = Webhook(secret)
        self.statuses = list(statuses)
        self.hold = hold
        self.deliveries: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                payload = receiver.verifier.verify(body, headers)  # raises on a bad signature or timestamp
                receiver.deliveries.append({"headers": headers, "payload": payload, "at": time.monotonic()})
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> Iterator[dict[str, str]]:
    """WEBHOOK_URL and WEBHOOK_SECRET for the app; the test points the URL at its receiver."""
    secret = _new_secret()

    def configure(url: str) -> None:
        monkeypatch.setenv("WEBHOOK_URL", url)
        monkeypatch.setenv("WEBHOOK_SECRET", secret)
        service.reset()

    yield {"secret": secret, "configure": configure}  # type: ignore[misc]


# --- EventBridge ---------------------------------------------------------------------------


def test_a_clean_approval_puts_exactly_one_submission_decided_event(client, event_queue):
    created = submit(client, "A quiet walk in the park")

    detail = _assert_exactly_one_event(
        event_queue,
        created["submissionId"],
        decision="approved",
        decidedBy="content-check",
        title="A quiet walk in the park",
    )

    assert "reason" not in detail


def test_a_reviewer_decision_puts_exactly_one_event_with_the_reason(client, admin_headers, event_queue):
    created = submit(client, "forbidden fruit")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body=json.dumps({"reason": "off-topic"})
    )

    _assert_exactly_one_event(
        event_queue, created["submissionId"], decision="rejected", decidedBy="admin", reason="off-topic"
    )


def test_an_expired_review_puts_exactly_one_expired_event(client, admin_headers, event_queue, interpreter_clock):
    created = submit(client, "forbidden and slow")
    advance_past_review_deadlines(interpreter_clock)

    _assert_exactly_one_event(event_queue, created["submissionId"], decision="expired", decidedBy="deadline")


def test_a_failed_workflow_puts_exactly_one_failed_event(client, event_queue, monkeypatch, tmp_path):
    # A word list that cannot be read fails the check task for good (configuration, not a patch).
    monkeypatch.setenv("MODERATION_WORDS_FILE", str(tmp_path / "missing-words.txt"))
    service.reset()
    created = submit(client, "Anything at all")

    _assert_exactly_one_event(event_queue, created["submissionId"], decision="failed", decidedBy="workflow")


def test_without_a_webhook_the_clean_path_is_five_states_and_two_lambda_calls(client, dispatcher):
    from bench.cost import count, history

    created = submit(client, "Sunny weather")
    wait_for_status(client, created["submissionId"], "APPROVED")
    execution = _wait_until_finished(created["submissionId"])

    cost = count("clean", history(execution["executionArn"]))
    assert (cost.transitions, cost.invocations) == (5, 2)


# --- webhooks ------------------------------------------------------------------------------


def test_a_webhook_is_signed_retried_with_the_same_id_and_recorded_once_delivered(
    client, admin_headers, webhook, caplog
):
    _capture_logs(caplog)
    with Receiver(webhook["secret"], [500, 500, 200]) as receiver:
        webhook["configure"](receiver.url)
        created = submit(client, "forbidden fruit")
        review = pending_review_for(client, admin_headers, created["submissionId"])
        client.http.post(
            f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body=json.dumps({"reason": "off-topic"})
        )

        assert _wait_until_finished(created["submissionId"])["status"] == "SUCCEEDED"

    assert len(receiver.deliveries) == 3
    ids = {delivery["headers"]["webhook-id"] for delivery in receiver.deliveries}
    assert len(ids) == 1
    payload = receiver.deliveries[-1]["payload"]
    assert payload["type"] == "submission.decided"
    assert payload["data"]["submissionId"] == created["submissionId"]
    assert payload["data"]["decision"] == "rejected"
    assert payload["data"]["reason"] == "off-topic"
    assert payload["timestamp"] == payload["data"]["decidedAt"]
    assert receiver.deliveries[1]["at"] - receiver.deliveries[0]["at"] < 5  # the first retry comes quickly
    items = _history(client, admin_headers, created["submissionId"])
    (delivered,) = [item for item in items if item.get("channel") == "webhook"]
    assert delivered["event"] == "delivered"
    assert delivered["attempts"] == 3
    assert delivered["webhookId"] == ids.pop()
    assert webhook["secret"] not in json.dumps(items)
    assert webhook["secret"] not in caplog.text
    assert webhook["secret"].removeprefix("whsec_") not in caplog.text
    assert not any("webhook-signature" in record.getMessage() for record in caplog.records)


def test_a_receiver_that_never_answers_delays_neither_the_socket_push_nor_the_decision(
    client, admin_headers, webhook, websockets_clients
):
    hold = threading.Event()
    with Receiver(webhook["secret"], [200], hold=hold) as receiver:
        webhook["configure"](receiver.url)
        created = submit(client, "forbidden weather")
        submission_id = created["submissionId"]
        websockets_clients.connect("watcher")
        websockets_clients.send("watcher", {"action": "subscribe", "submissionId": submission_id})
        review = pending_review_for(client, admin_headers, submission_id)

        started = time.monotonic()
        client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
        (decision,) = wait_for(lambda: websockets_clients.decisions("watcher"), timeout=5)
        pushed_after = time.monotonic() - started
        wait_for(lambda: receiver.deliveries)  # the webhook is now stuck on the receiver

        assert decision["decision"] == "approved"
        assert pushed_after < 3, pushed_after
        assert client.http.get(f"/submissions/{submission_id}").json_body["status"] == "APPROVED"
        assert _execution(submission_id)["status"] == "RUNNING"
        hold.set()


def test_a_receiver_that_always_fails_ends_the_execution_with_delivery_failed_and_the_decision_standing(
    client, admin_headers, webhook
):
    with Receiver(webhook["secret"], [503, 503, 503, 503]) as receiver:
        webhook["configure"](receiver.url)
        created = submit(client, "A quiet walk in the park")

        assert _wait_until_finished(created["submissionId"])["status"] == "SUCCEEDED"

    assert len(receiver.deliveries) == 3  # the first attempt and two retries (the tests' schedule)
    assert client.http.get(f"/submissions/{created['submissionId']}").json_body["status"] == "APPROVED"
    items = _history(client, admin_headers, created["submissionId"])
    (failed,) = [item for item in items if item.get("channel") == "webhook"]
    assert failed["event"] == "delivery_failed"
    assert failed["error"] == "WebhookDeliveryFailed"
    assert "503" in failed["cause"]


def test_a_redirect_is_a_failed_attempt_and_is_never_followed(client, admin_headers, webhook):
    with Receiver(webhook["secret"], [200]) as target, Receiver(webhook["secret"], [307, 307, 307]) as redirecting:
        original_post = redirecting.server.RequestHandlerClass.do_POST

        def redirect(handler: Any) -> None:
            handler.rfile.read(int(handler.headers["Content-Length"]))
            handler.send_response(307)
            handler.send_header("Location", target.url)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            redirecting.deliveries.append({})

        redirecting.server.RequestHandlerClass.do_POST = redirect
        webhook["configure"](redirecting.url)
        created = submit(client, "A quiet walk in the park")
        assert _wait_until_finished(created["submissionId"])["status"] == "SUCCEEDED"
        redirecting.server.RequestHandlerClass.do_POST = original_post

    assert len(redirecting.deliveries) == 3
    assert target.deliveries == []
    items = _history(client, admin_headers, created["submissionId"])
    assert [item["event"] for item in items if item.get("channel") == "webhook"] == ["delivery_failed"]


# --- e-mail --------------------------------------------------------------------------------


def _sent_messages() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends[ACCOUNT_ID][REGION].sent_messages)


def test_an_outcome_is_emailed_once_to_the_address_given_and_never_shown_or_recorded(client, admin_headers, caplog):
    _capture_logs(caplog)
    created = _submit_with(client, "forbidden fruit", notifyEmail=ADDRESS)
    assert ADDRESS not in json.dumps(created)
    review = pending_review_for(client, admin_headers, created["submissionId"])
    client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body=json.dumps({"reason": "off-topic"})
    )
    wait_for_status(client, created["submissionId"], "REJECTED")
    _wait_until_finished(created["submissionId"])

    (message,) = _sent_messages()
    assert message.destinations["ToAddresses"] == [ADDRESS]
    assert message.source == SENDER_EMAIL
    assert "rejected" in message.body and "off-topic" in message.body
    items = _history(client, admin_headers, created["submissionId"])
    assert [item["event"] for item in items if item.get("channel") == "email"] == ["delivered"]
    shown = json.dumps(
        [
            client.http.get(f"/submissions/{created['submissionId']}").json_body,
            items,
            client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body,
        ]
    )
    assert ADDRESS not in shown
    assert ADDRESS not in caplog.text


def test_a_clean_approval_is_emailed_once_and_nothing_is_sent_without_an_address(client):
    with_address = _submit_with(client, "A quiet walk in the park", notifyEmail=ADDRESS)
    without = _submit_with(client, "Another quiet walk")
    for created in (with_address, without):
        wait_for_status(client, created["submissionId"], "APPROVED")
        _wait_until_finished(created["submissionId"])

    (message,) = _sent_messages()
    assert message.destinations["ToAddresses"] == [ADDRESS]
    assert "approved" in message.body


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not-an-address",
        "a@b",
        "two@@example.org",
        "spaces in@example.org",
        "x@example.org\nBcc: y@example.org",
        "a" * 250 + "@example.org",
        42,
        ["a@example.org"],
        {"to": "a@example.org"},
    ],
)
def test_a_bad_notify_email_is_a_400_and_starts_nothing(client, aws, value):
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    before = stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"]

    response = client.http.post(
        "/submissions", headers=json_headers(), body=json.dumps({"title": "Fine title", "notifyEmail": value})
    )

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "BadRequest"
    assert "notifyEmail" in response.json_body["error"]["message"]
    if isinstance(value, str) and value.strip():
        assert value.strip() not in response.json_body["error"]["message"]
    assert stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"] == before
    assert _sent_messages() == []


def test_a_final_task_run_twice_emails_once_and_records_one_delivery(client, admin_headers):
    """SPEC §19: Lambda retries and redelivered tasks run RecordOutcome again with the same input."""
    import app

    created = _submit_with(client, "forbidden twice", notifyEmail=ADDRESS)
    review = pending_review_for(client, admin_headers, created["submissionId"])
    client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body=json.dumps({"reason": "no"}))
    wait_for_status(client, created["submissionId"], "REJECTED")
    _wait_until_finished(created["submissionId"])
    submission = service.use_cases().submissions.get_submission(created["submissionId"])
    task_input = {
        "submissionId": submission.submission_id,
        "executionArn": submission.execution_arn,
        "outcome": {
            "decision": "rejected",
            "reason": "no",
            "decidedBy": submission.decided_by,
            "decidedAt": submission.decided_at,
        },
    }

    app.record_outcome(task_input, None)
    app.record_outcome(task_input, None)

    assert len(_sent_messages()) == 1
    items = _history(client, admin_headers, created["submissionId"])
    assert [item["event"] for item in items if item.get("channel") == "email"] == ["delivered"]
