"""Every path through the real statemachine.json, executed by moto's interpreter with the app's own Lambdas."""

from __future__ import annotations

import json
import re

import boto3

from chalicelib import service
from tests.conftest import (
    REGION,
    REVIEW_TIMEOUT_SECONDS,
    pending_review_for,
    submission_status,
    submit,
    wait_for,
    wait_for_status,
)


def _history(execution_arn: str) -> list[dict]:
    client = boto3.client("stepfunctions", region_name=REGION)
    return client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def _execution_arn(client, submission_id: str) -> str:
    from chalicelib.service import use_cases

    return use_cases().submissions.get_submission(submission_id).execution_arn


def test_clean_submission_is_published_without_review(client, admin_headers, dispatcher):
    created = submit(client, "A quiet walk in the park", body="Nothing to see here.")

    done = wait_for_status(client, created["submissionId"], "APPROVED", "FAILED")

    assert done["status"] == "APPROVED"
    assert done["decision"] == "approved"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", done["decidedAt"]), done["decidedAt"]
    reviews = client.http.get("/reviews", headers=admin_headers).json_body["items"]
    assert all(review["submissionId"] != created["submissionId"] for review in reviews)
    assert not any(name.endswith("request_approval") for name in dispatcher.invocations)
    assert any(name.endswith("check_content") for name in dispatcher.invocations)


def test_flagged_submission_waits_for_review_then_approve_publishes_it(client, admin_headers):
    created = submit(client, "This is forbidden knowledge")
    submission_id = created["submissionId"]

    review = pending_review_for(client, admin_headers, submission_id)
    assert client.http.get(f"/submissions/{submission_id}").json_body["status"] == "IN_REVIEW"
    assert review["status"] == "PENDING"
    assert review["matches"][0]["word"] == "forbidden"
    assert review["matches"][0]["field"] == "title"

    response = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    assert response.status_code == 200, response.body
    assert response.json_body == {"reviewId": review["reviewId"], "decision": "approved", "decidedBy": "admin"}

    done = wait_for_status(client, submission_id, "APPROVED", "REJECTED", "FAILED")
    assert done["status"] == "APPROVED"
    final_review = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert final_review["status"] == "APPROVED"
    assert final_review["decidedBy"] == "admin"


def test_reject_with_reason_ends_rejected_and_keeps_the_reason(client, admin_headers):
    created = submit(client, "forbidden fruit")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    response = client.http.post(
        f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body=json.dumps({"reason": "off-topic"})
    )

    assert response.status_code == 200
    assert response.json_body["decision"] == "rejected"
    done = wait_for_status(client, created["submissionId"], "REJECTED", "APPROVED", "FAILED")
    assert done["status"] == "REJECTED"
    assert done["reason"] == "off-topic"


def test_review_deadline_expires_the_submission_and_a_late_approve_gets_410(client, admin_headers, interpreter_clock):
    created = submit(client, "forbidden and slow")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    interpreter_clock.wait_until_waiting(1)
    # A second short of the deadline nothing happens: the expiry comes from the clock, not from real time.
    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS - 1) == 0
    assert submission_status(client, created["submissionId"]) == "IN_REVIEW"

    assert interpreter_clock.advance(1) == 1
    done = wait_for_status(client, created["submissionId"], "EXPIRED", "APPROVED", "FAILED")

    assert done["status"] == "EXPIRED"
    assert done["decision"] == "expired"
    late = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    assert late.status_code == 410
    assert late.json_body["error"]["code"] == "Expired"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "EXPIRED"


def test_a_decision_just_before_the_deadline_wins_and_a_later_advance_changes_nothing(
    client, admin_headers, interpreter_clock
):
    created = submit(client, "forbidden but decided in time")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    interpreter_clock.wait_until_waiting(1)
    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS - 1) == 0

    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)

    assert approved.status_code == 200, approved.body
    done = wait_for_status(client, created["submissionId"], "APPROVED", "EXPIRED", "FAILED")
    assert done["status"] == "APPROVED"
    wait_for(lambda: interpreter_clock.waiting() == 0)
    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS) == 0
    assert submission_status(client, created["submissionId"]) == "APPROVED"
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"] == "APPROVED"


def test_a_decision_wakes_the_waiting_execution_without_any_advance(client, admin_headers, interpreter_clock):
    created = submit(client, "forbidden and promptly rejected")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    interpreter_clock.wait_until_waiting(1)

    rejected = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers)

    assert rejected.status_code == 200, rejected.body
    assert wait_for_status(client, created["submissionId"], "REJECTED", "EXPIRED", "FAILED")["status"] == "REJECTED"
    wait_for(lambda: interpreter_clock.waiting() == 0)  # the task's wait ended on the notify
    assert interpreter_clock.offset == 0


def test_execution_history_shows_the_wait_for_callback_and_few_transitions(client, admin_headers):
    clean = submit(client, "Sunny weather")
    flagged = submit(client, "forbidden weather")
    wait_for_status(client, clean["submissionId"], "APPROVED")
    review = pending_review_for(client, admin_headers, flagged["submissionId"])
    client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers)
    wait_for_status(client, flagged["submissionId"], "APPROVED")

    clean_entered = [
        e for e in _history(_execution_arn(client, clean["submissionId"])) if e["type"].endswith("StateEntered")
    ]
    flagged_events = _history(_execution_arn(client, flagged["submissionId"]))
    flagged_entered = [e for e in flagged_events if e["type"].endswith("StateEntered")]

    assert len(clean_entered) <= 5
    assert len(flagged_entered) <= 8
    assert any(e["type"] == "TaskSubmitted" or e["type"] == "TaskScheduled" for e in flagged_events)


def test_failing_content_check_ends_failed_and_still_notifies(
    client, admin_headers, monkeypatch, websockets_clients, tmp_path
):
    # The word list cannot be read (a file that is not there): every attempt of CheckContent fails.
    monkeypatch.setenv("MODERATION_WORDS_FILE", str(tmp_path / "missing-words.txt"))
    service.reset()
    created = submit(client, "Anything at all")
    websockets_clients.connect("watcher")
    websockets_clients.send("watcher", {"action": "subscribe", "submissionId": created["submissionId"]})

    done = wait_for_status(client, created["submissionId"], "FAILED", "APPROVED")

    assert done["status"] == "FAILED"
    assert wait_for(lambda: websockets_clients.decisions("watcher"))[0]["decision"] == "failed"


def test_an_evasive_title_goes_to_review_with_the_original_text_as_the_match(client, admin_headers):
    created = submit(client, "Totally f.0.r.b.i.d.d.3.n advice")

    review = pending_review_for(client, admin_headers, created["submissionId"])

    (match,) = review["matches"]
    assert match["word"] == "forbidden"
    assert match["text"] == "f.0.r.b.i.d.d.3.n"
    assert "Totally f.0.r.b.i.d.d.3.n advice"[match["start"] : match["end"]] == match["text"]


def test_an_evasion_in_the_body_is_caught_too(client, admin_headers):
    created = submit(client, "An innocent title", body="Read on: ＦＯＲＢＩＤＤＥＮ things inside.")

    review = pending_review_for(client, admin_headers, created["submissionId"])

    assert [match["field"] for match in review["matches"]] == ["body"]


def test_a_body_stuffed_with_banned_words_still_reaches_review_with_a_bounded_match_list(client, admin_headers):
    created = submit(client, "Spam", body="forbidden " * 5000)

    review = pending_review_for(client, admin_headers, created["submissionId"])

    assert len(review["matches"]) == 25
    assert len(json.dumps(review)) < 10_000
