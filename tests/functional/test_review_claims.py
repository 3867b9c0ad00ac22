"""Reviewers' claims (SPEC §14): one reviewer holds a review while reading it; others are told who, and wait.

The claims run on the real stack (moto's DynamoDB and Step Functions with the real state
machine). The app's clock is a test clock (real time plus an offset) so a claim lapses without
sleeping; the review deadline is the interpreter's clock, advanced as in the expiry tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib import service
from chalicelib.config import DEFAULT_CLAIM_SECONDS
from chalicelib.domain.review import CLAIM_LEASE_SECONDS
from chalicelib.domain.team import NewReviewer
from chalicelib.errors import ClaimedError, ConflictError
from chalicelib.integrations import aws as aws_clients
from chalicelib.stores.reviews import DynamoDBReviewStore
from tests.conftest import (
    ADMIN_TOKEN,
    advance_past_review_deadlines,
    pending_review_for,
    submit,
    wait_for,
    wait_for_status,
)
from tests.fakes import FakeClock
from tests.functional.test_decision_recovery import _claim_of_a_request_that_died, _race
from tests.functional.test_reviewers_api import bearer, create_reviewer

UNKNOWN_ID = "8c1a3a55-8f4f-4a0d-9a55-000000000000"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def app_clock(client: Any, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The app's clock for claims and decisions: now, and still now until the test moves it forward."""
    clock = FakeClock(time.time())
    use_cases = service.build_use_cases(clock=clock)

    def built() -> service.UseCases:
        return use_cases

    built.cache_clear = lambda: None  # type: ignore[attr-defined]  # service.reset() clears it at teardown
    monkeypatch.setattr(service, "use_cases", built)
    return clock


@pytest.fixture
def team(client: Any, admin_headers: dict[str, str]) -> dict[str, dict[str, str]]:
    """Two reviewers and the bootstrap admin, as request headers."""
    return {
        "alice": bearer(create_reviewer(client, admin_headers, "alice")),
        "bob": bearer(create_reviewer(client, admin_headers, "bob")),
        "admin": admin_headers,
    }


def _flagged(client: Any, admin_headers: dict[str, str], title: str = "forbidden claim test") -> dict[str, Any]:
    created = submit(client, title)
    return pending_review_for(client, admin_headers, created["submissionId"])


def _claim(client: Any, review_id: str, headers: dict[str, str]) -> Any:
    return client.http.post(f"/reviews/{review_id}/claim", headers=headers)


def _release(client: Any, review_id: str, headers: dict[str, str]) -> Any:
    return client.http.delete(f"/reviews/{review_id}/claim", headers=headers)


def _decide(client: Any, review_id: str, action: str, headers: dict[str, str], reason: str | None = None) -> Any:
    body = json.dumps({"reason": reason}) if reason else None
    return client.http.post(f"/reviews/{review_id}/{action}", headers=headers, body=body)


def _listed(client: Any, review_id: str, headers: dict[str, str]) -> dict[str, Any]:
    items = client.http.get("/reviews?status=pending&limit=100", headers=headers).json_body["items"]
    return next(item for item in items if item["reviewId"] == review_id)


def _history(client: Any, submission_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    return client.http.get(f"/submissions/{submission_id}/history", headers=headers).json_body["items"]


def test_a_claim_names_its_holder_and_expiry_and_shows_in_listings(client, team, app_clock):
    review = _flagged(client, team["admin"])

    response = _claim(client, review["reviewId"], team["alice"])

    assert response.status_code == 200, response.body
    body = response.json_body
    assert set(body) == {"reviewId", "claimedBy", "claimExpiresAt"}
    assert body["reviewId"] == review["reviewId"] and body["claimedBy"] == "alice"
    listed = _listed(client, review["reviewId"], team["bob"])
    assert (listed["claimedBy"], listed["claimExpiresAt"]) == ("alice", body["claimExpiresAt"])
    one = client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body
    assert (one["claimedBy"], one["claimExpiresAt"]) == ("alice", body["claimExpiresAt"])
    assert "heldBy" not in one and "holdExpiresAt" not in one


def test_the_holder_claiming_again_renews_it_and_the_history_keeps_one_claimed_event(client, team, app_clock):
    review = _flagged(client, team["admin"])
    first = _claim(client, review["reviewId"], team["alice"]).json_body
    app_clock.advance(DEFAULT_CLAIM_SECONDS - 10)

    renewed = _claim(client, review["reviewId"], team["alice"])

    assert renewed.status_code == 200
    assert renewed.json_body["claimExpiresAt"] > first["claimExpiresAt"]
    app_clock.advance(20)  # past the first claim's expiry, within the renewal
    assert _listed(client, review["reviewId"], team["bob"])["claimedBy"] == "alice"
    claimed = [event for event in _history(client, review["submissionId"], team["bob"]) if event["event"] == "claimed"]
    assert len(claimed) == 1 and claimed[0]["actor"] == "alice" and claimed[0]["reviewId"] == review["reviewId"]


def test_anyone_else_gets_409_naming_the_holder_and_the_claim_stays(client, team, app_clock):
    review = _flagged(client, team["admin"])
    held = _claim(client, review["reviewId"], team["alice"]).json_body

    for name in ("bob", "admin"):
        response = _claim(client, review["reviewId"], team[name])
        assert response.status_code == 409
        assert response.json_body["error"]["code"] == "Claimed"
        assert "alice" in response.json_body["error"]["message"]

    listed = _listed(client, review["reviewId"], team["alice"])
    assert (listed["claimedBy"], listed["claimExpiresAt"]) == ("alice", held["claimExpiresAt"])


def test_a_decision_by_anyone_but_the_holder_gets_409_naming_the_holder_and_changes_nothing(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _claim(client, review["reviewId"], team["alice"])

    for name in ("bob", "admin"):
        for action in ("approve", "reject"):
            response = _decide(client, review["reviewId"], action, team[name], reason="spam")
            assert response.status_code == 409, response.body
            assert response.json_body["error"] == {
                "code": "Claimed",
                "message": "alice is reviewing this review (it is claimed by alice)",
            }

    after = client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body
    assert after["status"] == "PENDING" and after["claimedBy"] == "alice" and "decision" not in after
    assert client.http.get(f"/submissions/{review['submissionId']}").json_body["status"] == "IN_REVIEW"


def test_the_holder_decides_and_the_claim_goes_with_the_decision(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _claim(client, review["reviewId"], team["alice"])

    response = _decide(client, review["reviewId"], "reject", team["alice"], reason="spam")

    assert response.status_code == 200
    assert response.json_body == {"reviewId": review["reviewId"], "decision": "rejected", "decidedBy": "alice"}
    assert wait_for_status(client, review["submissionId"], "REJECTED")["reason"] == "spam"
    decided = client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body
    assert "claimedBy" not in decided and "claimExpiresAt" not in decided
    # The dashboard releases on close, after deciding: nothing is held any more, and that is fine.
    assert _release(client, review["reviewId"], team["alice"]).status_code == 204


def test_a_signed_link_is_not_the_holder_and_gets_409_while_the_claim_is_live(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _claim(client, review["reviewId"], team["alice"])

    page = client.http.post(review["approveUrl"].removeprefix("http://testserver"), headers=FORM, body=b"")

    assert page.status_code == 409
    assert b"alice is reviewing" in page.body
    assert client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body["status"] == "PENDING"


def test_the_holder_or_an_admin_releases_and_then_others_may_decide(client, team, app_clock):
    first, second = _flagged(client, team["admin"], "forbidden one"), _flagged(client, team["admin"], "forbidden two")
    for review in (first, second):
        _claim(client, review["reviewId"], team["alice"])

    refused = _release(client, first["reviewId"], team["bob"])
    assert refused.status_code == 409 and "alice" in refused.json_body["error"]["message"]
    assert _listed(client, first["reviewId"], team["bob"])["claimedBy"] == "alice"

    assert _release(client, first["reviewId"], team["alice"]).status_code == 204
    assert _release(client, second["reviewId"], team["admin"]).status_code == 204

    for review in (first, second):
        assert "claimedBy" not in _listed(client, review["reviewId"], team["bob"])
        assert _decide(client, review["reviewId"], "approve", team["bob"]).status_code == 200
    released = [
        event for event in _history(client, second["submissionId"], team["bob"]) if event["event"] == "released"
    ]
    assert [(event["actor"], event["claimedBy"]) for event in released] == [("admin", "alice")]
    assert _release(client, first["reviewId"], team["bob"]).status_code == 204  # nothing held: nothing to do


def test_a_claim_lapses_claim_seconds_after_the_last_claim(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _claim(client, review["reviewId"], team["alice"])
    app_clock.advance(DEFAULT_CLAIM_SECONDS - 1)
    assert _claim(client, review["reviewId"], team["bob"]).status_code == 409

    app_clock.advance(2)

    assert "claimedBy" not in _listed(client, review["reviewId"], team["bob"])
    assert "claimedBy" not in client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body
    taken = _claim(client, review["reviewId"], team["bob"])
    assert taken.status_code == 200 and taken.json_body["claimedBy"] == "bob"
    assert _decide(client, review["reviewId"], "approve", team["alice"]).status_code == 409  # now bob's
    assert _decide(client, review["reviewId"], "approve", team["bob"]).status_code == 200


def test_a_lapsed_claim_no_longer_blocks_a_decision(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _claim(client, review["reviewId"], team["alice"])
    app_clock.advance(DEFAULT_CLAIM_SECONDS + 1)

    assert _decide(client, review["reviewId"], "approve", team["bob"]).status_code == 200
    assert wait_for_status(client, review["submissionId"], "APPROVED")["status"] == "APPROVED"


def test_unknown_malformed_decided_and_expired_reviews_get_clear_errors(client, team, app_clock, interpreter_clock):
    assert _claim(client, UNKNOWN_ID, team["alice"]).status_code == 404
    assert _release(client, UNKNOWN_ID, team["alice"]).status_code == 404
    assert _claim(client, "not-a-uuid", team["alice"]).status_code == 400
    assert _release(client, "not-a-uuid", team["alice"]).status_code == 400

    decided = _flagged(client, team["admin"], "forbidden decided")
    assert _decide(client, decided["reviewId"], "approve", team["bob"]).status_code == 200
    response = _claim(client, decided["reviewId"], team["alice"])
    assert response.status_code == 409 and response.json_body["error"]["code"] == "AlreadyDecided"
    assert "approved by bob" in response.json_body["error"]["message"]

    expiring = _flagged(client, team["admin"], "forbidden expiring")
    advance_past_review_deadlines(interpreter_clock)
    wait_for_status(client, expiring["submissionId"], "EXPIRED")
    expired = _claim(client, expiring["reviewId"], team["alice"])
    assert expired.status_code == 410 and expired.json_body["error"]["code"] == "Expired"
    for review in (decided, expiring):
        stored = client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body
        assert "claimedBy" not in stored
        assert not [
            event for event in _history(client, review["submissionId"], team["bob"]) if event["event"] == "claimed"
        ]


def test_without_a_valid_token_or_with_a_revoked_one_a_claim_is_401_and_changes_nothing(client, team, app_clock):
    review = _flagged(client, team["admin"])
    carol = bearer(create_reviewer(client, team["admin"], "carol"))
    assert client.http.delete("/reviewers/carol", headers=team["admin"]).status_code == 204

    for headers in (carol, bearer("wrong"), {"Content-Type": "application/json"}):
        assert _claim(client, review["reviewId"], headers).status_code == 401
        assert _release(client, review["reviewId"], headers).status_code == 401
        assert client.http.post("/reviews/decisions", headers=headers, body="{}").status_code == 401

    assert "claimedBy" not in _listed(client, review["reviewId"], team["alice"])
    assert not [
        event for event in _history(client, review["submissionId"], team["alice"]) if event["event"] == "claimed"
    ]


def test_the_claim_of_a_reviewer_removed_meanwhile_stops_counting(client, team, app_clock):
    first, second = _flagged(client, team["admin"], "forbidden one"), _flagged(client, team["admin"], "forbidden two")
    carol = bearer(create_reviewer(client, team["admin"], "carol"))
    for review in (first, second):
        assert _claim(client, review["reviewId"], carol).status_code == 200
    assert client.http.delete("/reviewers/carol", headers=team["admin"]).status_code == 204

    assert _claim(client, first["reviewId"], team["bob"]).status_code == 200
    assert _decide(client, second["reviewId"], "approve", team["alice"]).status_code == 200
    assert _decide(client, first["reviewId"], "approve", carol).status_code == 401


def _reviewers(count: int) -> None:
    """``reviewer-0`` … as current reviewers (a claim by a name that is no reviewer does not stand)."""
    for index in range(count):
        service.reviewers().create(NewReviewer(name=f"reviewer-{index}", role="reviewer"), created_by="admin")


def test_fifty_racing_claims_have_exactly_one_winner(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _reviewers(50)
    claims = service.use_cases().claims

    results = _race(lambda index: claims.claim(review["reviewId"], reviewer=f"reviewer-{index}"), 50)

    winners = [result for result in results if not isinstance(result, Exception)]
    assert len(winners) == 1, results
    losers = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, ClaimedError) and error.holder == winners[0].held_by for error in losers), losers
    assert _listed(client, review["reviewId"], team["alice"])["claimedBy"] == winners[0].held_by
    claimed = [
        event for event in _history(client, review["submissionId"], team["alice"]) if event["event"] == "claimed"
    ]
    assert len(claimed) == 1


def test_racing_claims_and_decisions_never_let_a_non_holder_decide(client, team, app_clock):
    review = _flagged(client, team["admin"])
    _reviewers(20)
    moderation = service.use_cases()

    def act(index: int) -> Any:
        if index % 2:
            return moderation.claims.claim(review["reviewId"], reviewer=f"reviewer-{index}")
        return moderation.decisions.decide(review["reviewId"], action="approve", decided_by=f"reviewer-{index}")

    results = _race(act, 20)

    decided = [result for result in results if not isinstance(result, Exception) and result.decision]
    assert len(decided) <= 1
    stored = DynamoDBReviewStore(aws_clients.table(service.get_settings().reviews_table)).get(review["reviewId"])
    assert stored is not None
    if decided:
        # The decider held the review or nobody did at that moment; no claim outlives the decision.
        assert stored.decided_by == decided[0].decided_by and stored.held_by is None
    assert all(isinstance(r, ClaimedError | ConflictError) for r in results if isinstance(r, Exception)), results


def test_a_claimed_review_still_expires_at_its_deadline(client, team, app_clock, interpreter_clock):
    review = _flagged(client, team["admin"])
    _claim(client, review["reviewId"], team["alice"])

    advance_past_review_deadlines(interpreter_clock)

    assert wait_for_status(client, review["submissionId"], "EXPIRED")["status"] == "EXPIRED"
    expired = client.http.get(f"/reviews/{review['reviewId']}", headers=team["bob"]).json_body
    assert expired["status"] == "EXPIRED" and "claimedBy" not in expired
    assert _decide(client, review["reviewId"], "approve", team["alice"]).status_code == 410


def test_the_lease_recovery_finishes_a_died_decision_even_with_a_claim_by_someone_else(client, team, app_clock):
    """A decision whose request died after its write is finished by a later one, whoever holds a claim."""
    review = _flagged(client, team["admin"])
    reviews = DynamoDBReviewStore(aws_clients.table(service.get_settings().reviews_table))
    _claim_of_a_request_that_died(
        reviews, review["reviewId"], decision="rejected", reason="spam", claim_id="died", now=app_clock()
    )
    app_clock.advance(CLAIM_LEASE_SECONDS + 1)

    response = _decide(client, review["reviewId"], "approve", team["bob"])

    assert response.status_code == 409 and "rejected by admin" in response.json_body["error"]["message"]
    assert wait_for_status(client, review["submissionId"], "REJECTED")["reason"] == "spam"


def test_watchers_see_claimed_and_released_events(client, team, app_clock, websockets_clients):
    websockets_clients.connect("bob-dashboard")
    websockets_clients.send("bob-dashboard", {"action": "watchReviews", "token": ADMIN_TOKEN})
    review = _flagged(client, team["admin"])

    held = _claim(client, review["reviewId"], team["alice"]).json_body
    _claim(client, review["reviewId"], team["alice"])  # a renewal is pushed too (the expiry moved)
    assert _release(client, review["reviewId"], team["alice"]).status_code == 204

    def claim_events() -> list[dict[str, Any]] | None:
        messages = [
            message
            for message in websockets_clients.received("bob-dashboard")
            if message.get("type") == "review" and message["event"] in ("claimed", "released")
        ]
        return messages if len(messages) >= 3 else None

    claimed, renewed, released = wait_for(claim_events)
    assert claimed["event"] == renewed["event"] == "claimed" and released["event"] == "released"
    assert claimed["review"]["reviewId"] == review["reviewId"]
    assert (claimed["review"]["claimedBy"], claimed["review"]["claimExpiresAt"]) == ("alice", held["claimExpiresAt"])
    assert renewed["review"]["claimExpiresAt"] >= held["claimExpiresAt"]
    assert "claimedBy" not in released["review"] and released["review"]["status"] == "PENDING"
    assert all("taskToken" not in message["review"] for message in (claimed, renewed, released))
