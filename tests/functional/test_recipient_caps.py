"""Per-recipient caps (SPEC §18): past NOTIFY_MAX_PER_RECIPIENT_PER_DAY the submission goes on and the e-mail is
skipped (``delivery_skipped``); recipients are counted by a keyed hash, never kept or logged in clear."""

from __future__ import annotations

import json
import logging

import boto3
import pytest

from tests.conftest import REGION, wait_for_status
from tests.functional.test_delivery import ADDRESS, _history, _sent_messages, _submit_with, _wait_until_finished


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> None:
    from chalicelib import service

    monkeypatch.setenv("NOTIFY_MAX_PER_RECIPIENT_PER_DAY", "2")
    service.reset()


def _approved_with_email(client, title: str, address: str) -> str:
    created = _submit_with(client, title, notifyEmail=address)
    wait_for_status(client, created["submissionId"], "APPROVED")
    assert _wait_until_finished(created["submissionId"])["status"] == "SUCCEEDED"
    return str(created["submissionId"])


def test_past_the_cap_the_submission_is_accepted_and_the_email_skipped_with_a_history_event(
    client, admin_headers, aws, capped, caplog
):
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    sent = [_approved_with_email(client, f"A quiet walk {number}", ADDRESS) for number in range(2)]
    # The same address in another case is the same recipient.
    skipped = _approved_with_email(client, "A third quiet walk", "Submitter@Example.ORG")

    assert [message.destinations["ToAddresses"] for message in _sent_messages()] == [[ADDRESS], [ADDRESS]]
    for submission_id in sent:
        email = [item for item in _history(client, admin_headers, submission_id) if item.get("channel") == "email"]
        assert [item["event"] for item in email] == ["delivered"]
    (event,) = [item for item in _history(client, admin_headers, skipped) if item.get("channel") == "email"]
    assert (event["event"], event["reason"]) == ("delivery_skipped", "recipient-cap")
    assert client.http.get(f"/submissions/{skipped}").json_body["status"] == "APPROVED"
    counters = boto3.client("dynamodb", region_name=REGION).scan(TableName=aws["LimitsTableName"])["Items"]
    stored = json.dumps(counters).lower()
    assert len(counters) == 1 and "submitter" not in stored and "example.org" not in stored
    assert "submitter" not in caplog.text.lower()
    assert client.http.get("/stats", headers=admin_headers).json_body["last24h"]["notificationsSkipped"] == 1


def test_another_address_has_a_cap_of_its_own(client, capped):
    for number in range(2):
        _approved_with_email(client, f"A quiet walk {number}", ADDRESS)

    _approved_with_email(client, "A walk for someone else", "other@example.org")

    assert [message.destinations["ToAddresses"] for message in _sent_messages()][-1] == ["other@example.org"]
