"""Appeals (SPEC §15) on moto with the real state machine: every rule, every refusal, the race, each outcome."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from chalicelib import service
from chalicelib.domain.appeal import APPEAL_MESSAGE_MAX_CHARACTERS
from chalicelib.errors import AppealNotAllowedError, ConflictError
from tests.conftest import (
    REGION,
    advance_past_review_deadlines,
    json_headers,
    pending_review_for,
    submit,
    wait_for,
    wait_for_status,
)
from tests.functional.test_delivery import ADDRESS, Receiver, _sent_messages
from tests.functional.test_delivery import webhook as webhook_settings  # noqa: F401  (a fixture)
from tests.functional.test_reviewers_api import bearer, create_reviewer

MESSAGE = "It is a recipe blog; 'forbidden rice' is a kind of black rice."


class ShiftedClock:
    """Real time plus an offset, so an appeal window passes without sleeping."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def _executions(aws: dict[str, str]) -> list[dict[str, Any]]:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    return stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"]


def _item(aws: dict[str, str], submission_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["SubmissionsTableName"])
    return table.get_item(Key={"submissionId": submission_id}, ConsistentRead=True)["Item"]


def _appeal(client: Any, submission_id: str, token: str | None, message: Any = MESSAGE) -> Any:
    headers = json_headers(Authorization=f"Bearer {token}") if token is not None else json_headers()
    return client.http.post(
        f"/submissions/{submission_id}/appeal", headers=headers, body=json.dumps({"message": message})
    )


def _rejected(client: Any, headers: dict[str, str], title: str = "forbidden rice") -> dict[str, Any]:
    """A submission rejected by the caller of ``headers``, with its submitter token."""
    created = submit(client, title)
    review = pending_review_for(client, headers, created["submissionId"])
    decided = client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=headers, body=json.dumps({"reason": "looks like spam"})
    )
    assert decided.status_code == 200, decided.body
    wait_for_status(client, created["submissionId"], "REJECTED")
    return created


def _pending_appeal(client: Any, headers: dict[str, str], submission_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        items = client.http.get("/reviews?status=pending&limit=100", headers=headers).json_body["items"]
        return next((i for i in items if i["submissionId"] == submission_id and i["kind"] == "appeal"), None)

    return wait_for(find)


def _history(client: Any, headers: dict[str, str], submission_id: str) -> list[dict[str, Any]]:
    """The history once the appeal's outcome is in it (the final task writes it after the status)."""

    def recorded() -> list[dict[str, Any]] | None:
        items = client.http.get(f"/submissions/{submission_id}/history", headers=headers).json_body["items"]
        return items if any(item["event"] == "appeal_decided" for item in items) else None

    return wait_for(recorded)


# --- an appeal is a new review ------------------------------------------------------------------


def test_an_appeal_of_a_rejection_is_a_new_review_of_kind_appeal_with_the_contested_decision(
    client, admin_headers, aws
):
    created = _rejected(client, admin_headers)
    first_review = client.http.get("/reviews?status=rejected", headers=admin_headers).json_body["items"][0]

    response = _appeal(client, created["submissionId"], created["submitterToken"])

    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"submissionId", "status", "appealId"}
    assert response.json_body["status"] == "IN_REVIEW"
    assert first_review["kind"] == "submission"
    review = _pending_appeal(client, admin_headers, created["submissionId"])
    assert review["reviewId"] != first_review["reviewId"]
    assert review["appeal"] == {
        "appealId": response.json_body["appealId"],
        "message": MESSAGE,
        "appealedAt": review["appeal"]["appealedAt"],
        "originalStatus": "REJECTED",
        "originalDecision": "rejected",
        "originalReason": "looks like spam",
        "originalCategory": "other",  # rejected without a category (the statement of reasons)
        "originalDecidedBy": "admin",
        "originalDecidedAt": review["appeal"]["originalDecidedAt"],
    }
    assert review["matches"] and review["matches"][0]["word"] == "forbidden"
    shown = client.http.get(f"/submissions/{created['submissionId']}").json_body
    assert shown["status"] == "IN_REVIEW" and shown["appealId"] == response.json_body["appealId"]
    names = sorted(execution["name"] for execution in _executions(aws))
    assert names == sorted([created["submissionId"], "appeal-" + created["submissionId"]])


def test_the_original_decider_gets_403_and_a_second_reviewer_overturns_the_refusal(
    client, admin_headers, websockets_clients
):
    created = _rejected(client, admin_headers)
    second = bearer(create_reviewer(client, admin_headers, "second"))
    assert _appeal(client, created["submissionId"], created["submitterToken"]).status_code == 202
    review = _pending_appeal(client, admin_headers, created["submissionId"])
    websockets_clients.connect("author")
    websockets_clients.send("author", {"action": "subscribe", "submissionId": created["submissionId"]})

    refused = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers, body="{}")

    assert refused.status_code == 403, refused.body
    assert refused.json_body["error"]["code"] == "Forbidden"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "PENDING"
    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=second, body="{}")
    assert approved.status_code == 200, approved.body
    assert approved.json_body["decidedBy"] == "second"
    done = wait_for_status(client, created["submissionId"], "APPROVED")
    assert done["appeal"] == "overturned" and done["decision"] == "approved"
    (decision,) = wait_for(lambda: websockets_clients.decisions("author"))
    assert decision["decision"] == "approved" and decision["appeal"] == "overturned"
    events = _history(client, admin_headers, created["submissionId"])
    kinds = [event["event"] for event in events]
    assert "appealed" in kinds and "appeal_decided" in kinds
    (appeal_decided,) = [event for event in events if event["event"] == "appeal_decided"]
    assert appeal_decided["appeal"] == "overturned" and appeal_decided["actor"] == "second"
    assert created["submitterToken"] not in json.dumps(events)


def test_the_original_decider_cannot_claim_the_appeal_so_cannot_keep_others_from_it(client, admin_headers):
    created = _rejected(client, admin_headers)
    second = bearer(create_reviewer(client, admin_headers, "second"))
    assert _appeal(client, created["submissionId"], created["submitterToken"]).status_code == 202
    review = _pending_appeal(client, admin_headers, created["submissionId"])

    refused = client.http.post(f"/reviews/{review['reviewId']}/claim", headers=admin_headers)

    assert refused.status_code == 403, refused.body
    assert refused.json_body["error"]["code"] == "Forbidden"
    shown = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert "claimedBy" not in shown
    claimed = client.http.post(f"/reviews/{review['reviewId']}/claim", headers=second)
    assert claimed.status_code == 200 and claimed.json_body["claimedBy"] == "second", claimed.body


def test_rejecting_an_appeal_upholds_the_refusal_with_the_new_reason(client, admin_headers):
    created = _rejected(client, admin_headers)
    second = bearer(create_reviewer(client, admin_headers, "second"))
    _appeal(client, created["submissionId"], created["submitterToken"])
    review = _pending_appeal(client, admin_headers, created["submissionId"])

    rejected = client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=second, body=json.dumps({"reason": "still spam"})
    )

    assert rejected.status_code == 200, rejected.body
    done = wait_for(
        lambda: (body := client.http.get(f"/submissions/{created['submissionId']}").json_body).get("appeal") and body
    )
    assert (done["status"], done["appeal"], done["reason"]) == ("REJECTED", "upheld", "still spam")


def test_an_appeal_nobody_decides_is_upheld_at_its_deadline(client, admin_headers, interpreter_clock):
    created = _rejected(client, admin_headers)
    _appeal(client, created["submissionId"], created["submitterToken"])
    review = _pending_appeal(client, admin_headers, created["submissionId"])

    advance_past_review_deadlines(interpreter_clock)

    done = wait_for(
        lambda: (body := client.http.get(f"/submissions/{created['submissionId']}").json_body).get("appeal") and body
    )
    assert (done["status"], done["decision"], done["appeal"]) == ("REJECTED", "rejected", "upheld")
    assert done["reason"] == "looks like spam"  # the contested decision stands
    closed = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert (closed["status"], closed["decidedBy"]) == ("EXPIRED", "deadline")


def test_anyone_may_decide_the_appeal_of_an_expired_submission(client, admin_headers, interpreter_clock):
    created = submit(client, "forbidden and nobody looked")
    pending_review_for(client, admin_headers, created["submissionId"])
    advance_past_review_deadlines(interpreter_clock)
    wait_for_status(client, created["submissionId"], "EXPIRED")
    assert _appeal(client, created["submissionId"], created["submitterToken"]).status_code == 202
    review = _pending_appeal(client, admin_headers, created["submissionId"])
    assert review["appeal"]["originalDecidedBy"] == "deadline"

    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers, body="{}")

    assert approved.status_code == 200, approved.body
    assert wait_for_status(client, created["submissionId"], "APPROVED")["appeal"] == "overturned"


# --- refusals: the specified 4xx, nothing stored, nothing started ------------------------------


def _assert_unchanged(aws: dict[str, str], submission_id: str, before: dict[str, Any], executions: int) -> None:
    assert _item(aws, submission_id) == before
    assert len(_executions(aws)) == executions


@pytest.mark.parametrize(
    ("token", "message", "status", "code"),
    [
        ("cms_wrong", MESSAGE, 401, "Unauthorized"),
        (None, MESSAGE, 401, "Unauthorized"),
        ("", MESSAGE, 401, "Unauthorized"),
        ("own", "", 400, "BadRequest"),
        ("own", "   ", 400, "BadRequest"),
        ("own", "x" * (APPEAL_MESSAGE_MAX_CHARACTERS + 1), 400, "BadRequest"),
        ("own", 42, 400, "BadRequest"),
    ],
)
def test_a_bad_token_or_message_is_refused_and_changes_nothing(
    client, admin_headers, aws, token, message, status, code
):
    created = _rejected(client, admin_headers)
    before, executions = _item(aws, created["submissionId"]), len(_executions(aws))

    response = _appeal(client, created["submissionId"], created["submitterToken"] if token == "own" else token, message)

    assert response.status_code == status, response.body
    assert response.json_body["error"]["code"] == code
    _assert_unchanged(aws, created["submissionId"], before, executions)


def test_a_message_of_exactly_2000_characters_is_accepted(client, admin_headers):
    created = _rejected(client, admin_headers)

    response = _appeal(client, created["submissionId"], created["submitterToken"], "x" * APPEAL_MESSAGE_MAX_CHARACTERS)

    assert response.status_code == 202, response.body


def test_another_submissions_token_gets_401(client, admin_headers, aws):
    created = _rejected(client, admin_headers)
    other = submit(client, "A lovely day")
    before, executions = _item(aws, created["submissionId"]), len(_executions(aws))

    response = _appeal(client, created["submissionId"], other["submitterToken"])

    assert response.status_code == 401
    _assert_unchanged(aws, created["submissionId"], before, executions)


def test_a_reviewer_token_is_not_a_submitter_token(client, admin_headers, aws):
    created = _rejected(client, admin_headers)
    before, executions = _item(aws, created["submissionId"]), len(_executions(aws))

    response = _appeal(client, created["submissionId"], admin_headers["Authorization"].removeprefix("Bearer "))

    assert response.status_code == 401
    _assert_unchanged(aws, created["submissionId"], before, executions)


def test_an_appeal_on_a_pending_or_approved_submission_gets_409(client, admin_headers, aws):
    pending = submit(client, "forbidden and waiting")
    pending_review_for(client, admin_headers, pending["submissionId"])
    approved = submit(client, "A lovely day")
    wait_for_status(client, approved["submissionId"], "APPROVED")

    for created in (pending, approved):
        before, executions = _item(aws, created["submissionId"]), len(_executions(aws))
        response = _appeal(client, created["submissionId"], created["submitterToken"])
        assert response.status_code == 409, response.body
        assert response.json_body["error"]["code"] == "AppealNotAllowed"
        _assert_unchanged(aws, created["submissionId"], before, executions)


def test_a_second_appeal_gets_409_also_after_the_appeal_was_decided(client, admin_headers, aws):
    created = _rejected(client, admin_headers)
    second = bearer(create_reviewer(client, admin_headers, "second"))
    assert _appeal(client, created["submissionId"], created["submitterToken"]).status_code == 202
    before, executions = _item(aws, created["submissionId"]), len(_executions(aws))

    again = _appeal(client, created["submissionId"], created["submitterToken"])

    assert again.status_code == 409
    _assert_unchanged(aws, created["submissionId"], before, executions)
    review = _pending_appeal(client, admin_headers, created["submissionId"])
    client.http.post(f"/reviews/{review['reviewId']}/reject", headers=second, body="{}")
    wait_for(lambda: client.http.get(f"/submissions/{created['submissionId']}").json_body.get("appeal"))
    assert _appeal(client, created["submissionId"], created["submitterToken"]).status_code == 409


def test_an_appeal_after_the_window_gets_410(client, admin_headers, aws, monkeypatch):
    created = _rejected(client, admin_headers)
    before, executions = _item(aws, created["submissionId"]), len(_executions(aws))
    window = service.get_settings().appeal_window_seconds
    late = service.build_use_cases(clock=ShiftedClock(window + 60))
    service.use_cases.cache_clear()
    monkeypatch.setattr(service, "build_use_cases", lambda: late)  # the app's use cases, the window later

    response = _appeal(client, created["submissionId"], created["submitterToken"])

    assert response.status_code == 410, response.body
    assert response.json_body["error"]["code"] == "AppealWindowClosed"
    _assert_unchanged(aws, created["submissionId"], before, executions)


def test_an_unknown_submission_gets_404_and_a_malformed_id_400(client):
    assert _appeal(client, "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10", "cms_x").status_code == 404
    assert _appeal(client, "not-an-id", "cms_x").status_code == 400


def test_fifty_racing_appeals_store_one_and_start_one_execution(client, admin_headers, aws):
    created = _rejected(client, admin_headers)
    appeals = service.use_cases().appeals
    barrier = threading.Barrier(50)
    results: list[Any] = [None] * 50

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = appeals.appeal(created["submissionId"], token=created["submitterToken"], message=MESSAGE)
        except Exception as error:  # the test inspects every outcome
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [result for result in results if not isinstance(result, Exception)]
    assert len(won) == 1, results
    assert all(isinstance(result, AppealNotAllowedError) for result in results if result not in won), results
    assert [e["name"] for e in _executions(aws)].count("appeal-" + created["submissionId"]) == 1
    assert len(_executions(aws)) == 2
    assert _item(aws, created["submissionId"])["appeal"]["appealId"] == won[0][1].appeal_id


# --- the outcome on every channel ----------------------------------------------------------------


@pytest.fixture
def appeal_events(aws: dict[str, str]) -> str:
    """An SQS queue fed by an EventBridge rule with both outcomes' DetailTypes."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="appeal-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["content-moderation"], "detail-type": ["Submission Decided", "Submission Appeal Decided"]}
    events.put_rule(Name="appeal-outcomes", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="appeal-outcomes", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def _bus_events(queue_url: str, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def _appeal_execution_finished(aws: dict[str, str], submission_id: str) -> bool:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    arn = next(e["executionArn"] for e in _executions(aws) if e["name"] == "appeal-" + submission_id)
    return stepfunctions.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_an_overturned_appeal_goes_out_on_every_channel(
    client,
    admin_headers,
    aws,
    appeal_events,
    webhook_settings,  # noqa: F811  (the imported fixture)
    websockets_clients,
):
    with Receiver(webhook_settings["secret"], []) as receiver:
        webhook_settings["configure"](receiver.url)
        response = client.http.post(
            "/submissions", headers=json_headers(), body=json.dumps({"title": "forbidden rice", "notifyEmail": ADDRESS})
        )
        created = response.json_body
        review = pending_review_for(client, admin_headers, created["submissionId"])
        client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body="{}")
        wait_for_status(client, created["submissionId"], "REJECTED")
        wait_for(lambda: len(receiver.deliveries) == 1)
        second = bearer(create_reviewer(client, admin_headers, "second"))
        _appeal(client, created["submissionId"], created["submitterToken"])
        websockets_clients.connect("author")
        websockets_clients.send("author", {"action": "subscribe", "submissionId": created["submissionId"]})
        appeal_review = _pending_appeal(client, admin_headers, created["submissionId"])
        client.http.post(f"/reviews/{appeal_review['reviewId']}/approve", headers=second, body="{}")
        wait_for(lambda: _appeal_execution_finished(aws, created["submissionId"]))

    first, appealed = receiver.deliveries
    assert first["payload"]["type"] == "submission.decided" and "appeal" not in first["payload"]["data"]
    assert appealed["payload"]["type"] == "submission.appeal_decided"
    assert appealed["payload"]["data"]["appeal"] == "overturned"
    assert appealed["payload"]["data"]["decision"] == "approved"
    assert first["headers"]["webhook-id"] != appealed["headers"]["webhook-id"]  # receivers keep both
    seen: list[dict[str, Any]] = []
    wait_for(lambda: len(_bus_events(appeal_events, seen)) >= 2)
    by_type = {event["detail-type"]: event["detail"] for event in seen}
    assert by_type["Submission Appeal Decided"]["appeal"] == "overturned"
    assert by_type["Submission Appeal Decided"]["decidedBy"] == "second"
    assert "appeal" not in by_type["Submission Decided"]
    refusal, overturned = _sent_messages()
    assert "Appeal: overturned" in overturned.body and "approved" in overturned.subject
    assert "Appeal" not in refusal.body
    (decision,) = websockets_clients.decisions("author")
    assert (decision["decision"], decision["appeal"]) == ("approved", "overturned")
    statuses = [m for m in websockets_clients.received("author") if m["type"] == "status"]
    assert statuses[0]["status"] == "IN_REVIEW"


def test_an_appeal_upheld_by_the_deadline_is_announced_as_upheld(
    client, admin_headers, aws, appeal_events, interpreter_clock, websockets_clients
):
    created = _rejected(client, admin_headers)
    _appeal(client, created["submissionId"], created["submitterToken"])
    _pending_appeal(client, admin_headers, created["submissionId"])
    websockets_clients.connect("author", submission_id=created["submissionId"])

    advance_past_review_deadlines(interpreter_clock)

    (decision,) = wait_for(lambda: websockets_clients.decisions("author"))
    assert (decision["decision"], decision["appeal"], decision["reason"]) == ("rejected", "upheld", "looks like spam")
    seen: list[dict[str, Any]] = []
    wait_for(lambda: any(e["detail-type"] == "Submission Appeal Decided" for e in _bus_events(appeal_events, seen)))
    (upheld,) = [e["detail"] for e in seen if e["detail-type"] == "Submission Appeal Decided"]
    assert (upheld["appeal"], upheld["decidedBy"]) == ("upheld", "deadline")
    events = _history(client, admin_headers, created["submissionId"])
    (appeal_decided,) = [event for event in events if event["event"] == "appeal_decided"]
    assert (appeal_decided["appeal"], appeal_decided["decision"], appeal_decided["actor"]) == (
        "upheld",
        "expired",
        "deadline",
    )
    assert "expired" not in [event["event"] for event in events]  # the submission itself did not expire


def test_an_appeal_is_counted_in_stats_and_as_an_appeals_metric(client, admin_headers, capfd):
    created = _rejected(client, admin_headers)

    _appeal(client, created["submissionId"], created["submitterToken"])

    _pending_appeal(client, admin_headers, created["submissionId"])
    figures = client.http.get("/stats", headers=admin_headers).json_body
    assert figures["last24h"]["appealed"] == 1
    assert figures["pending"] == 1  # the appeal's review waits in the queue
    metrics = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [metric["Appeals"] for metric in metrics if "Appeals" in metric] == [1]


# --- an appeal has every guarantee of a decision ------------------------------------------------


def test_racing_decisions_on_an_appeal_have_exactly_one_winner(client, admin_headers):
    created = _rejected(client, admin_headers)
    for name in ("bea", "cy"):
        create_reviewer(client, admin_headers, name)
    _appeal(client, created["submissionId"], created["submitterToken"])
    review = _pending_appeal(client, admin_headers, created["submissionId"])
    decisions = service.use_cases().decisions
    barrier = threading.Barrier(10)
    results: list[Any] = [None] * 10

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = decisions.decide(
                review["reviewId"], action="approve" if index % 2 else "reject", decided_by=("bea", "cy")[index % 2]
            )
        except Exception as error:  # the test inspects every outcome
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [result for result in results if not isinstance(result, Exception)]
    assert len(won) == 1, results
    assert all(isinstance(result, ConflictError) for result in results if result not in won), results
    done = wait_for(
        lambda: (body := client.http.get(f"/submissions/{created['submissionId']}").json_body).get("appeal") and body
    )
    assert done["decision"] == won[0].decision


def test_a_signed_link_decides_an_appeal(client, admin_headers):
    created = _rejected(client, admin_headers)
    _appeal(client, created["submissionId"], created["submitterToken"])
    review = _pending_appeal(client, admin_headers, created["submissionId"])

    page = client.http.post(
        review["approveUrl"].removeprefix("http://testserver"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert page.status_code == 200, page.body
    done = wait_for_status(client, created["submissionId"], "APPROVED")
    assert (done["appeal"], done.get("reason")) == ("overturned", None)
