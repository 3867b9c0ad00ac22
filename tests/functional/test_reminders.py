"""Reminders before the deadline (SPEC §14), from the real statemachine.json on moto's interpreter clock.

REVIEW_TIMEOUT_SECONDS is 3600 in these tests and REVIEW_REMINDER_SECONDS 600, so the first wait
ends (the reminder) 3000 clock seconds after the review was requested; nothing here really waits.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from chalicelib import service
from tests.conftest import REGION, REVIEW_TIMEOUT_SECONDS, pending_review_for, submit, wait_for, wait_for_status
from tests.functional.test_delivery import Receiver, _history, _new_secret

REMINDER_SECONDS = 600
FIRST_WAIT_SECONDS = REVIEW_TIMEOUT_SECONDS - REMINDER_SECONDS
# What a flagged review decided in its one wait costs today, as bench.cost counts it from the
# execution history (CheckContent, RouteChecked, the wait, RecordOutcome, PublishEvent, DeliverWebhooks).
TODAY_FLAGGED_TRANSITIONS = 6
# What waiting past the reminder adds without a webhook: RemindReview, ReminderDue, PublishReminderEvent,
# DeliverReminderWebhooks and AwaitDecision.
REMINDER_TRANSITIONS = 5


@pytest.fixture
def reminders(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> int:
    monkeypatch.setenv("REVIEW_REMINDER_SECONDS", str(REMINDER_SECONDS))
    service.reset()
    return REMINDER_SECONDS


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> dict[str, Any]:
    """WEBHOOK_URL and WEBHOOK_SECRET for the app (as in test_delivery); the test points the URL at its receiver."""
    secret = _new_secret()

    def configure(url: str) -> None:
        monkeypatch.setenv("WEBHOOK_URL", url)
        monkeypatch.setenv("WEBHOOK_SECRET", secret)
        service.reset()

    return {"secret": secret, "configure": configure}


@pytest.fixture
def due_soon_queue(aws: dict[str, str]) -> str:
    """An SQS queue fed by an EventBridge rule with every Review Due Soon event of the default bus."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="due-soon-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="review-due-soon",
        EventPattern=json.dumps({"source": ["content-moderation"], "detail-type": ["Review Due Soon"]}),
    )
    events.put_targets(Rule="review-due-soon", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def _drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    seen: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def _stored_token(review_id: str) -> str:
    """The task token the review item holds (never in any response: read from the table)."""
    from chalicelib.config import get_settings
    from chalicelib.integrations import aws
    from chalicelib.stores.reviews import DynamoDBReviewStore

    stored = DynamoDBReviewStore(aws.table(get_settings().reviews_table)).get(review_id)
    assert stored is not None
    return stored.task_token


def _execution_arn(submission_id: str) -> str:
    return service.use_cases().submissions.get_submission(submission_id).execution_arn


def _finished(submission_id: str) -> dict[str, Any]:
    client = boto3.client("stepfunctions", region_name=REGION)
    arn = _execution_arn(submission_id)
    return wait_for(lambda: (done := client.describe_execution(executionArn=arn))["status"] != "RUNNING" and done)


def _cost(submission_id: str) -> Any:
    from bench.cost import count, history

    return count("flagged", history(_finished(submission_id)["executionArn"]))


def _states_entered(submission_id: str) -> list[str]:
    client = boto3.client("stepfunctions", region_name=REGION)
    events = client.get_execution_history(executionArn=_execution_arn(submission_id), maxResults=1000)["events"]
    return [event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event]


def _watch(websockets_clients: Any, connection_id: str = "watcher") -> str:
    from tests.conftest import ADMIN_TOKEN

    websockets_clients.connect(connection_id)
    websockets_clients.send(connection_id, {"action": "watchReviews", "token": ADMIN_TOKEN})
    return connection_id


def _review_events(websockets_clients: Any, connection_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (message["event"], message["review"])
        for message in websockets_clients.received(connection_id)
        if message.get("type") == "review"
    ]


def _to_the_reminder(interpreter_clock: Any) -> None:
    """Advance to the reminder once the first wait has begun; the second wait has begun when this returns."""
    interpreter_clock.wait_until_waiting(1)
    assert interpreter_clock.advance(FIRST_WAIT_SECONDS - 1) == 0
    assert interpreter_clock.advance(1) == 1
    wait_for(lambda: interpreter_clock.waiting() == 1, timeout=60.0)


def _pending(client: Any, admin_headers: dict[str, str], title: str) -> tuple[str, dict[str, Any]]:
    created = submit(client, title)
    return created["submissionId"], pending_review_for(client, admin_headers, created["submissionId"])


# --- the reminder on every channel ---------------------------------------------------------------


def test_a_review_still_pending_at_the_reminder_is_announced_on_every_channel(
    client, admin_headers, interpreter_clock, websockets_clients, due_soon_queue, webhook, reminders
):
    watcher = _watch(websockets_clients)
    with Receiver(webhook["secret"], [500, 200]) as receiver:  # the reminder's webhook is retried too
        webhook["configure"](receiver.url)
        submission_id, review = _pending(client, admin_headers, "forbidden and waiting")
        _to_the_reminder(interpreter_clock)
        wait_for(lambda: len(receiver.deliveries) == 2)

    # Watchers: due_soon, the review as listed, still pending, its deadline unchanged.
    events = _review_events(websockets_clients, watcher)
    assert [name for name, _review in events] == ["created", "due_soon"]
    due_soon = events[1][1]
    assert due_soon["reviewId"] == review["reviewId"]
    assert due_soon["status"] == "PENDING"
    assert due_soon["deadline"] == review["deadline"]
    assert "taskToken" not in json.dumps(events)
    # History: one reminded event.
    history = _history(client, admin_headers, submission_id)
    (reminded,) = [item for item in history if item["event"] == "reminded"]
    assert reminded["reviewId"] == review["reviewId"]
    assert reminded["deadline"] == review["deadline"]
    # EventBridge: one Review Due Soon.
    (event,) = wait_for(lambda: _drain(due_soon_queue))
    assert event["source"] == "content-moderation"
    assert event["detail-type"] == "Review Due Soon"
    assert event["detail"] == {
        "reviewId": review["reviewId"],
        "submissionId": submission_id,
        "title": "forbidden and waiting",
        "deadline": review["deadline"],
    }
    # Webhook: review.due_soon, verified with standardwebhooks, the same id on the retry.
    first, second = receiver.deliveries
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert second["payload"]["type"] == "review.due_soon"
    assert second["payload"]["timestamp"] == reminded["at"]
    assert second["payload"]["data"] == event["detail"]
    (delivered,) = [
        item for item in _history(client, admin_headers, submission_id) if item.get("about") == "review.due_soon"
    ]
    assert (delivered["event"], delivered["channel"], delivered["attempts"]) == ("delivered", "webhook", 2)
    # The listing says when it was reminded; the review still waits.
    listed = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert listed["remindedAt"] == reminded["at"]
    assert listed["status"] == "PENDING"


# --- decisions around the reminder ---------------------------------------------------------------


def _decided_without_reminders(client: Any, admin_headers: dict[str, str], monkeypatch: Any) -> int:
    """The transitions of a review decided with REVIEW_REMINDER_SECONDS=0: today's machine."""
    monkeypatch.setenv("REVIEW_REMINDER_SECONDS", "0")
    service.reset()
    submission_id, review = _pending(client, admin_headers, "forbidden, the old way")
    assert client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers).status_code == 200
    transitions = _cost(submission_id).transitions
    monkeypatch.setenv("REVIEW_REMINDER_SECONDS", str(REMINDER_SECONDS))
    service.reset()
    return int(transitions)


def test_a_decision_before_the_reminder_costs_todays_transitions_and_sends_no_reminder(
    client, admin_headers, interpreter_clock, websockets_clients, monkeypatch, reminders
):
    assert _decided_without_reminders(client, admin_headers, monkeypatch) == TODAY_FLAGGED_TRANSITIONS
    watcher = _watch(websockets_clients)
    submission_id, review = _pending(client, admin_headers, "forbidden but quick")
    interpreter_clock.wait_until_waiting(1)
    assert interpreter_clock.advance(FIRST_WAIT_SECONDS - 1) == 0

    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert approved.status_code == 200, approved.body
    assert wait_for_status(client, submission_id, "APPROVED", "EXPIRED", "FAILED")["status"] == "APPROVED"
    cost = _cost(submission_id)
    assert cost.transitions == TODAY_FLAGGED_TRANSITIONS
    assert "RemindReview" not in _states_entered(submission_id)
    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS) == 0
    assert "due_soon" not in [name for name, _review in _review_events(websockets_clients, watcher)]
    assert all(item["event"] != "reminded" for item in _history(client, admin_headers, submission_id))


def test_a_decision_after_the_reminder_resumes_the_second_wait_once(
    client, admin_headers, interpreter_clock, websockets_clients, reminders
):
    watcher = _watch(websockets_clients)
    submission_id, review = _pending(client, admin_headers, "forbidden, decided late")
    _to_the_reminder(interpreter_clock)

    rejected = client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body=json.dumps({"reason": "spam"})
    )

    assert rejected.status_code == 200, rejected.body
    done = wait_for_status(client, submission_id, "REJECTED", "APPROVED", "EXPIRED", "FAILED")
    assert (done["status"], done["reason"]) == ("REJECTED", "spam")
    states = _states_entered(submission_id)
    assert states.count("AwaitDecision") == 1
    assert states.count("RequestApprovalUntilReminder") == 1
    history = _history(client, admin_headers, submission_id)
    assert [item["event"] for item in history].count("decided") == 1
    assert [item["event"] for item in history].count("review_requested") == 1
    assert [name for name, _review in _review_events(websockets_clients, watcher)] == [
        "created",
        "due_soon",
        "decided",
    ]
    assert _cost(submission_id).transitions == TODAY_FLAGGED_TRANSITIONS + REMINDER_TRANSITIONS


def test_a_decision_that_meets_the_first_token_after_the_reminder_is_finished_on_the_new_one(
    client, admin_headers, interpreter_clock, reminders
):
    """The claim reads the first wait's token; by the time it is sent the execution waits on the second."""
    submission_id, review = _pending(client, admin_headers, "forbidden, racing the reminder")
    interpreter_clock.wait_until_waiting(1)
    first_token = _stored_token(review["reviewId"])
    workflow = service.use_cases().decisions._resumer._workflow  # type: ignore[attr-defined]
    original_send = workflow.send_decision
    sent: list[str] = []
    request_thread = threading.current_thread()

    def send_after_the_reminder(task_token: str, output: dict[str, Any]) -> None:
        if threading.current_thread() is not request_thread:  # the second wait replaying the claim
            original_send(task_token, output)
            return
        if not sent:  # the reminder fires between the claim and its callback
            assert interpreter_clock.advance(FIRST_WAIT_SECONDS) == 1
            wait_for(lambda: _stored_token(review["reviewId"]) != first_token)
        sent.append(task_token)
        original_send(task_token, output)

    workflow.send_decision = send_after_the_reminder
    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert approved.status_code == 200, approved.body
    assert sent[0] == first_token and len(sent) == 2 and sent[1] != first_token
    done = wait_for_status(client, submission_id, "APPROVED", "EXPIRED", "FAILED")
    assert done["status"] == "APPROVED"
    assert _finished(submission_id)["status"] == "SUCCEEDED"
    history = _history(client, admin_headers, submission_id)
    assert [item["event"] for item in history].count("decided") == 1
    listed = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert (listed["status"], listed["decidedBy"]) == ("APPROVED", "admin")


def test_a_decision_claimed_before_the_second_wait_begins_is_replayed_onto_it(
    client, admin_headers, interpreter_clock, reminders
):
    """The claim's callback met the ended first wait before the second had a token: the second wait replays it."""
    submission_id, review = _pending(client, admin_headers, "forbidden, claimed in the gap")
    interpreter_clock.wait_until_waiting(1)
    approval = service.use_cases().renewal
    original_renew = approval.renew
    decided = {}

    def renew_after_a_claim(event: dict[str, Any]) -> dict[str, Any]:
        # A reviewer decides while the reminder runs: the claim holds the first (ended) token.
        decided["response"] = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
        return original_renew(event)

    approval.renew = renew_after_a_claim  # type: ignore[method-assign]
    interpreter_clock.advance(FIRST_WAIT_SECONDS)

    done = wait_for_status(client, submission_id, "APPROVED", "EXPIRED", "FAILED")
    assert done["status"] == "APPROVED"
    assert decided["response"].status_code == 200, decided["response"].body
    assert _finished(submission_id)["status"] == "SUCCEEDED"
    history = _history(client, admin_headers, submission_id)
    assert [item["event"] for item in history].count("decided") == 1
    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS) == 0


def test_a_review_never_decided_expires_at_its_original_deadline_after_the_reminder(
    client, admin_headers, interpreter_clock, reminders
):
    submission_id, review = _pending(client, admin_headers, "forbidden and forgotten")
    _to_the_reminder(interpreter_clock)
    assert interpreter_clock.advance(REMINDER_SECONDS - 1) == 0
    assert client.http.get(f"/submissions/{submission_id}").json_body["status"] == "IN_REVIEW"

    assert interpreter_clock.advance(1) == 1

    done = wait_for_status(client, submission_id, "EXPIRED", "APPROVED", "FAILED")
    assert done["status"] == "EXPIRED"
    listed = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert (listed["status"], listed["deadline"]) == ("EXPIRED", review["deadline"])
    kinds = [item["event"] for item in _history(client, admin_headers, submission_id)]
    assert kinds.index("reminded") < kinds.index("expired")


def test_one_advance_by_the_review_timeout_expires_a_review_that_waits_past_its_reminder(
    client, admin_headers, interpreter_clock, reminders
):
    submission_id, _review = _pending(client, admin_headers, "forbidden, a week at once")
    interpreter_clock.wait_until_waiting(1)

    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS) == 1

    assert wait_for_status(client, submission_id, "EXPIRED", "APPROVED", "FAILED")["status"] == "EXPIRED"
    kinds = [item["event"] for item in _history(client, admin_headers, submission_id)]
    assert "reminded" in kinds and "expired" in kinds


@pytest.mark.parametrize("reminder", ["0", str(REVIEW_TIMEOUT_SECONDS), str(REVIEW_TIMEOUT_SECONDS * 2)])
def test_without_a_reminder_before_the_deadline_the_review_waits_once_as_before(
    client, admin_headers, interpreter_clock, websockets_clients, monkeypatch, reminder
):
    monkeypatch.setenv("REVIEW_REMINDER_SECONDS", reminder)
    service.reset()
    watcher = _watch(websockets_clients)
    submission_id, _review = _pending(client, admin_headers, "forbidden, no reminder")
    interpreter_clock.wait_until_waiting(1)

    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS) == 1

    assert wait_for_status(client, submission_id, "EXPIRED", "APPROVED", "FAILED")["status"] == "EXPIRED"
    states = _states_entered(submission_id)
    assert "RequestApproval" in states
    assert not {"RequestApprovalUntilReminder", "RemindReview", "AwaitDecision"} & set(states)
    assert "due_soon" not in [name for name, _review in _review_events(websockets_clients, watcher)]
    assert all(item["event"] != "reminded" for item in _history(client, admin_headers, submission_id))


def test_a_reminder_webhook_that_always_fails_is_recorded_and_the_review_still_waits_and_decides(
    client, admin_headers, interpreter_clock, webhook, reminders
):
    with Receiver(webhook["secret"], [500, 500, 500, 500, 500, 500]) as receiver:
        webhook["configure"](receiver.url)
        submission_id, review = _pending(client, admin_headers, "forbidden, unreachable platform")
        _to_the_reminder(interpreter_clock)
        reminder_attempts = len(receiver.deliveries)
        assert reminder_attempts == 3  # the reminder's short schedule: the wait resumes soon after
        assert {delivery["payload"]["type"] for delivery in receiver.deliveries} == {"review.due_soon"}

        approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

        assert approved.status_code == 200, approved.body
        assert wait_for_status(client, submission_id, "APPROVED", "EXPIRED", "FAILED")["status"] == "APPROVED"
    failed = [item for item in _history(client, admin_headers, submission_id) if item["event"] == "delivery_failed"]
    assert [(item["channel"], item.get("about")) for item in failed if item.get("about")] == [
        ("webhook", "review.due_soon")
    ]
