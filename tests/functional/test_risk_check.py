"""The risk check end to end (SPEC §13): the real state machine, the app's Lambdas and moto's Comprehend,
answered by the local classifier (`local_runtime/comprehend.py`). Its scores are not Comprehend's, so these
tests assert through the thresholds, never exact numbers; AWS errors moto cannot produce come from Stubber.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib import service
from chalicelib.integrations import aws as aws_clients
from tests.conftest import pending_review_for, submit, wait_for, wait_for_status

ABUSIVE = [
    "you are a worthless idiot and I hate you",
    "shut up you stupid moron",
    "what a pathetic loser you are, go to hell",
]
ORDINARY = [
    "How to kill a process in Linux",
    "Breast cancer screening saves lives",
    "New hate speech laws debated in parliament",
    "The weather is nice today",
]


def _history(client: Any, admin_headers: dict[str, str], submission_id: str) -> list[dict[str, Any]]:
    return client.http.get(f"/submissions/{submission_id}/history", headers=admin_headers).json_body["items"]


@pytest.mark.parametrize("title", ABUSIVE)
def test_an_abusive_title_without_a_listed_word_goes_to_a_human_with_its_risk(client, admin_headers, title):
    created = submit(client, title)

    assert wait_for_status(client, created["submissionId"], "IN_REVIEW", "APPROVED")["status"] == "IN_REVIEW"
    review = pending_review_for(client, admin_headers, created["submissionId"])
    assert review["matches"] == []  # no listed word: the model alone sent it here
    assert review["risk"]["score"] >= 0.5
    assert set(review["risk"]["labels"]) == {
        "PROFANITY",
        "HATE_SPEECH",
        "INSULT",
        "GRAPHIC",
        "HARASSMENT_OR_ABUSE",
        "SEXUAL",
        "VIOLENCE_OR_THREAT",
    }
    assert review["risk"]["model"] == "alt-profanity-check 1.7.2 (local)"
    in_full = client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body
    assert in_full["risk"] == review["risk"]
    (checked,) = [
        event for event in _history(client, admin_headers, created["submissionId"]) if event["event"] == "checked"
    ]
    assert checked["flagged"] is False and checked["route"] == "review" and checked["risk"] == review["risk"]


@pytest.mark.parametrize("title", ORDINARY)
def test_an_ordinary_title_with_alarming_words_is_published(client, admin_headers, title):
    created = submit(client, title)

    assert wait_for_status(client, created["submissionId"], "APPROVED", "IN_REVIEW")["status"] == "APPROVED"
    (checked,) = [
        event for event in _history(client, admin_headers, created["submissionId"]) if event["event"] == "checked"
    ]
    assert checked["risk"]["score"] < 0.5 and checked["route"] == "publish"


def test_a_listed_word_is_reviewed_even_when_the_model_finds_nothing(client, admin_headers):
    created = submit(client, "forbidden fruit salad recipe")

    review = pending_review_for(client, admin_headers, created["submissionId"])
    assert review["matches"][0]["word"] == "forbidden"
    assert review["risk"]["score"] < 0.5


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<p><br/></p><!-- nothing --><div></div>",
        "🙂🎉🔥 " * 200,
        "Ελληνικά κείμενα και русский текст, 日本語のテキスト、עברית",
        "A calm sentence about gardening. " * 3000,  # ~100 KB: eleven Comprehend calls
    ],
    ids=["empty", "markup-only", "emoji", "other-scripts", "100-KB"],
)
def test_unusual_bodies_are_scored_without_an_error(client, admin_headers, body):
    created = submit(client, "Notes from the weekend", body=body)

    done = wait_for_status(client, created["submissionId"], "APPROVED", "IN_REVIEW", "FAILED")
    assert done["status"] == "APPROVED"
    (checked,) = [
        event for event in _history(client, admin_headers, created["submissionId"]) if event["event"] == "checked"
    ]
    assert 0.0 <= checked["risk"]["score"] < 0.5


def test_with_a_reject_threshold_extreme_abuse_is_refused_and_the_submitter_told(
    client, admin_headers, websockets_clients, monkeypatch
):
    monkeypatch.setenv("RISK_REJECT_THRESHOLD", "0.9")
    service.reset()  # the app reads its settings afresh, as a new deploy would
    created = submit(client, "you are a worthless idiot and I hate you")
    websockets_clients.connect("author", submission_id=created["submissionId"])

    done = wait_for_status(client, created["submissionId"], "REJECTED", "IN_REVIEW", "APPROVED")

    assert done["status"] == "REJECTED" and done["decision"] == "rejected"
    assert done["reason"].startswith("Refused automatically") and "INSULT" in done["reason"]
    events = wait_for(
        lambda: (
            (found := _history(client, admin_headers, created["submissionId"]))
            and any(event["event"] == "delivered" for event in found)
            and found
        )
    )
    (decided,) = [event for event in events if event["event"] == "decided"]
    assert decided["actor"] == "content-check" and decided["reason"] == done["reason"]
    assert "review_requested" not in [event["event"] for event in events]  # no human was asked
    websockets_clients.send("author", {"action": "subscribe", "submissionId": created["submissionId"]})
    decision = wait_for(lambda: websockets_clients.decisions("author"))[0]
    assert decision["decision"] == "rejected" and decision["reason"] == done["reason"]


def test_the_pending_queue_orders_by_risk_highest_first_across_pages(client, admin_headers):
    low = submit(client, "forbidden fruit salad recipe")
    high = submit(client, "you are a worthless idiot and I hate you")
    middle = submit(client, "forbidden words, you stupid people")
    for created in (low, high, middle):
        pending_review_for(client, admin_headers, created["submissionId"])

    scores: list[float] = []
    token = None
    while True:
        query = "/reviews?status=pending&order=risk&limit=2" + (f"&nextToken={token}" if token else "")
        page = client.http.get(query, headers=admin_headers).json_body
        scores += [item["risk"]["score"] for item in page["items"]]
        token = page.get("nextToken")
        if not token:
            break
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    refused = client.http.get("/reviews?status=decided&order=risk", headers=admin_headers)
    assert refused.status_code == 400


@pytest.mark.parametrize("code", ["TextSizeLimitExceededException", "UnsupportedLanguageException"])
def test_a_segment_comprehend_refuses_sends_the_submission_to_a_human_with_the_error(client, admin_headers, code):
    comprehend = aws_clients.client("comprehend")  # the very client the check function uses
    with Stubber(comprehend) as stubber:
        stubber.add_client_error("detect_toxic_content", service_error_code=code, http_status_code=400)
        created = submit(client, "The weather is nice today")

        assert wait_for_status(client, created["submissionId"], "IN_REVIEW", "APPROVED")["status"] == "IN_REVIEW"
        stubber.assert_no_pending_responses()
    review = pending_review_for(client, admin_headers, created["submissionId"])
    assert review["risk"] == {"error": code} and review["matches"] == []


def test_the_risk_check_switched_off_publishes_by_the_word_list_alone(client, admin_headers, monkeypatch):
    monkeypatch.setenv("RISK_CHECK", "off")
    service.reset()
    created = submit(client, "you are a worthless idiot and I hate you")

    assert wait_for_status(client, created["submissionId"], "APPROVED", "IN_REVIEW")["status"] == "APPROVED"
    (checked,) = [
        event for event in _history(client, admin_headers, created["submissionId"]) if event["event"] == "checked"
    ]
    assert "risk" not in checked and checked["route"] == "publish"


def test_a_malformed_order_is_refused(client, admin_headers):
    response = client.http.get("/reviews?status=pending&order=loudest", headers=admin_headers)
    assert response.status_code == 400
    assert "risk" in json.loads(response.body)["error"]["message"]
