"""The outcome SMS (SPEC §15, §19) on moto with the real state machine: SNS Publish with PhoneNumber, once per outcome."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.integrations import aws as aws_clients
from tests.conftest import ACCOUNT_ID, REGION, json_headers, pending_review_for, wait_for_status
from tests.functional.test_delivery import _capture_logs, _history, _submit_with, _wait_until_finished

PHONE = "+14155550123"


def _texts() -> list[tuple[str, str]]:
    """What moto's SNS sent as SMS: (number, text), oldest first."""
    from moto.sns.models import sns_backends

    return list(sns_backends[ACCOUNT_ID][REGION].sms_messages.values())


def _reject_and_finish(client: Any, headers: dict[str, str], submission_id: str, body: dict[str, Any]) -> None:
    review = pending_review_for(client, headers, submission_id)
    response = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=headers, body=json.dumps(body))
    assert response.status_code == 200, response.body
    wait_for_status(client, submission_id, "REJECTED")
    assert _wait_until_finished(submission_id)["status"] == "SUCCEEDED"


def _sms_events(client: Any, headers: dict[str, str], submission_id: str) -> list[dict[str, Any]]:
    return [item for item in _history(client, headers, submission_id) if item.get("channel") == "sms"]


def test_an_outcome_is_texted_once_to_the_number_given_and_never_shown_logged_or_recorded(
    client, admin_headers, caplog
):
    _capture_logs(caplog)
    created = _submit_with(client, "forbidden bargains", notifyPhone=PHONE)
    assert PHONE not in json.dumps(created)

    _reject_and_finish(client, admin_headers, created["submissionId"], {"reason": "buy now!", "category": "spam"})

    ((number, text),) = _texts()
    assert number == PHONE
    assert "rejected" in text and "category: spam" in text and "buy now!" in text and "by a moderator" in text
    (delivered,) = _sms_events(client, admin_headers, created["submissionId"])
    assert delivered["event"] == "delivered" and delivered["messageId"]
    review = client.http.get("/reviews?status=rejected", headers=admin_headers).json_body
    shown = json.dumps(
        [
            client.http.get(f"/submissions/{created['submissionId']}").json_body,
            _history(client, admin_headers, created["submissionId"]),
            review,
        ]
    )
    assert PHONE not in shown and PHONE.removeprefix("+") not in shown
    assert PHONE.removeprefix("+") not in caplog.text


def test_a_clean_approval_is_texted_and_nothing_is_sent_without_a_number(client):
    with_number = _submit_with(client, "A quiet walk in the park", notifyPhone=PHONE)
    without = _submit_with(client, "Another quiet walk")
    for created in (with_number, without):
        wait_for_status(client, created["submissionId"], "APPROVED")
        _wait_until_finished(created["submissionId"])

    ((number, text),) = _texts()
    assert number == PHONE and "approved" in text and "automatically" in text


def test_a_final_task_run_twice_texts_once_and_records_one_delivery(client, admin_headers):
    """SPEC §19: Lambda retries and redelivered tasks run RecordOutcome again with the same input."""
    import app
    from chalicelib import service

    created = _submit_with(client, "forbidden twice", notifyPhone=PHONE)
    _reject_and_finish(client, admin_headers, created["submissionId"], {"reason": "no"})
    submission = service.use_cases().submissions.get_submission(created["submissionId"])
    task_input = {
        "submissionId": submission.submission_id,
        "executionArn": submission.execution_arn,
        "outcome": {
            "decision": "rejected",
            "reason": "no",
            "category": "other",
            "decidedBy": submission.decided_by,
            "decidedAt": submission.decided_at,
        },
    }

    app.record_outcome(task_input, None)
    app.record_outcome(task_input, None)

    assert len(_texts()) == 1
    assert [item["event"] for item in _sms_events(client, admin_headers, created["submissionId"])] == ["delivered"]


@pytest.mark.parametrize("code", ["ThrottlingException", "InvalidParameter", "KMSDisabled"])
def test_a_refused_sms_is_delivery_failed_the_decision_stands_and_a_retry_sends_it(client, admin_headers, code):
    import app
    from chalicelib import service

    created = _submit_with(client, "forbidden but unreachable", notifyPhone=PHONE)
    with Stubber(aws_clients.client("sns")) as stubber:  # the very client the final task sends with
        stubber.add_client_error("publish", service_error_code=code, http_status_code=400)
        _reject_and_finish(client, admin_headers, created["submissionId"], {"category": "hate"})
        stubber.assert_no_pending_responses()

    shown = client.http.get(f"/submissions/{created['submissionId']}").json_body
    assert (shown["status"], shown["category"]) == ("REJECTED", "hate")
    (failed,) = _sms_events(client, admin_headers, created["submissionId"])
    assert (failed["event"], failed["error"]) == ("delivery_failed", code)
    assert _texts() == []
    # The marker was given back: a retried final task sends the message (once).
    submission = service.use_cases().submissions.get_submission(created["submissionId"])
    task_input = {
        "submissionId": submission.submission_id,
        "executionArn": submission.execution_arn,
        "outcome": {
            "decision": "rejected",
            "category": "hate",
            "decidedBy": submission.decided_by,
            "decidedAt": submission.decided_at,
        },
    }
    app.record_outcome(task_input, None)
    app.record_outcome(task_input, None)
    assert [number for number, _text in _texts()] == [PHONE]
    assert [item["event"] for item in _sms_events(client, admin_headers, created["submissionId"])] == [
        "delivery_failed",
        "delivered",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "14155550123",
        "+04155550123",
        "+1415555",  # 7 digits
        "+1234567890123456",  # 16 digits
        "+1 415 555 0123",
        "+1-415-555-0123",
        " +14155550123",
        "+14155550123\n",
        "+1415555012a",
        14155550123,
        ["+14155550123"],
        None,
    ],
)
def test_a_bad_notify_phone_is_a_400_and_starts_nothing(client, aws, value):
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    before = stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"]

    response = client.http.post(
        "/submissions", headers=json_headers(), body=json.dumps({"title": "Fine title", "notifyPhone": value})
    )

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "BadRequest"
    assert "notifyPhone" in response.json_body["error"]["message"]
    if isinstance(value, str) and value.strip():
        assert value.strip() not in response.json_body["error"]["message"]
    assert stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"] == before


@pytest.mark.parametrize("number", ["+12345678", "+123456789012345", "+447700900123"])
def test_numbers_of_8_to_15_digits_are_accepted(client, number):
    created = _submit_with(client, "A quiet walk in the park", notifyPhone=number)

    wait_for_status(client, created["submissionId"], "APPROVED")
    _wait_until_finished(created["submissionId"])
    assert [sent for sent, _text in _texts()] == [number]


@pytest.fixture
def sms_guard_rails(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> None:
    from chalicelib import service

    monkeypatch.setenv("SMS_ALLOWED_PREFIXES", "+1,+44")
    monkeypatch.setenv("NOTIFY_MAX_PER_RECIPIENT_PER_DAY", "2")
    monkeypatch.setenv("SMS_MAX_PER_DAY", "3")
    service.reset()


def _approved_with_phone(client: Any, title: str, number: str) -> str:
    created = _submit_with(client, title, notifyPhone=number)
    wait_for_status(client, created["submissionId"], "APPROVED")
    assert _wait_until_finished(created["submissionId"])["status"] == "SUCCEEDED"
    return str(created["submissionId"])


def test_a_number_outside_sms_allowed_prefixes_is_refused_at_submit_naming_the_prefixes_not_the_number(
    client, aws, sms_guard_rails
):
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)

    response = client.http.post(
        "/submissions", headers=json_headers(), body=json.dumps({"title": "A walk", "notifyPhone": "+33612345678"})
    )

    assert response.status_code == 400, response.body
    message = response.json_body["error"]["message"]
    assert "+1, +44" in message and "612345678" not in message
    assert stepfunctions.list_executions(stateMachineArn=aws["StateMachineArn"])["executions"] == []
    _approved_with_phone(client, "A walk in London", "+447700900123")
    assert [number for number, _ in _texts()] == ["+447700900123"]


def test_past_a_numbers_daily_cap_the_text_is_skipped_and_the_submission_goes_on(
    client, admin_headers, sms_guard_rails
):
    sent = [_approved_with_phone(client, f"A quiet walk {number}", PHONE) for number in range(2)]
    skipped = _approved_with_phone(client, "A third quiet walk", PHONE)

    assert [number for number, _ in _texts()] == [PHONE, PHONE]
    for submission_id in sent:
        assert [event["event"] for event in _sms_events(client, admin_headers, submission_id)] == ["delivered"]
    (event,) = _sms_events(client, admin_headers, skipped)
    assert (event["event"], event["reason"]) == ("delivery_skipped", "recipient-cap")
    assert PHONE not in json.dumps(event) and PHONE.removeprefix("+") not in json.dumps(event)
    assert client.http.get(f"/submissions/{skipped}").json_body["status"] == "APPROVED"
    assert client.http.get("/stats", headers=admin_headers).json_body["last24h"]["notificationsSkipped"] == 1


def test_past_sms_max_per_day_no_number_gets_a_text_from_the_stage(client, admin_headers, sms_guard_rails):
    numbers = ["+14155550101", "+14155550102", "+14155550103", "+14155550104"]
    submitted = [_approved_with_phone(client, f"A walk number {index}", number) for index, number in enumerate(numbers)]

    assert sorted(number for number, _ in _texts()) == numbers[:3]
    (event,) = _sms_events(client, admin_headers, submitted[3])
    assert (event["event"], event["reason"]) == ("delivery_skipped", "stage-cap")
