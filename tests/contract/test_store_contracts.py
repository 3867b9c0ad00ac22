"""One contract, two implementations: every case runs on the in-memory fake and on the DynamoDB store.

The unit tests trust the fakes to keep the real stores' rules (conditional writes, ordering,
idempotency); these cases are what makes that trust checked rather than assumed.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.clock import iso
from chalicelib.domain.appeal import Appeal
from chalicelib.domain.connection import Connection
from chalicelib.domain.review import CLAIM_LEASE_SECONDS, Review, ReviewStatus
from chalicelib.domain.submission import Submission, SubmissionStatus
from tests.contract.conftest import Stores

NOW = 1_800_000_000


def _submission(submission_id: str = "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10", **changes: object) -> Submission:
    submission = Submission(
        submission_id=submission_id,
        title="A title",
        body="A body",
        status=SubmissionStatus.CHECKING,
        created_at=iso(NOW),
        request_fingerprint="fingerprint",
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:moderation:{submission_id}",
    )
    return replace(submission, **changes)  # type: ignore[arg-type]


def _review(number: int = 1, *, created: int = NOW, deadline: int = NOW + 3600) -> Review:
    review_id = f"00000000-0000-4000-8000-{number:012d}"
    return Review(
        review_id=review_id,
        submission_id=f"10000000-0000-4000-8000-{number:012d}",
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:moderation:{number}",
        title=f"Review {number}",
        matches=[{"field": "title", "word": "forbidden", "text": "forbidden", "start": 0, "end": 9}],
        status=ReviewStatus.PENDING,
        created_at=iso(created),
        deadline=deadline,
        deadline_at=iso(deadline),
        approve_path=f"/reviews/{review_id}/decide?action=approve",
        reject_path=f"/reviews/{review_id}/decide?action=reject",
        task_token=f"token-{number}",
    )


def _claim(stores: Stores, review: Review, *, claim_id: str = "claim-1", now: int = NOW, decision: str = "rejected"):
    return stores.reviews.claim_decision(
        review.review_id,
        decision=decision,
        reason="spam",
        decided_by="alice",
        decided_at=iso(now),
        claim_id=claim_id,
        now=now,
    )


# --- submissions -------------------------------------------------------------------------


def test_a_submission_is_created_once_and_read_back_as_written(stores: Stores) -> None:
    submission = _submission()
    assert stores.submissions.create(submission) is True
    assert stores.submissions.create(replace(submission, title="Another")) is False
    assert stores.submissions.get(submission.submission_id) == submission
    assert stores.submissions.get("00000000-0000-4000-8000-999999999999") is None


def test_a_submission_moves_to_in_review_only_from_checking(stores: Stores) -> None:
    submission = _submission()
    stores.submissions.create(submission)
    moved = stores.submissions.mark_in_review(submission.submission_id)
    assert moved is not None and moved.status == SubmissionStatus.IN_REVIEW
    assert stores.submissions.mark_in_review(submission.submission_id) is None  # a retried task reports once


def test_recording_an_outcome_is_idempotent_and_returns_the_subscribers(stores: Stores) -> None:
    submission = _submission()
    stores.submissions.create(submission)
    followed = stores.submissions.add_subscriber(submission.submission_id, "connection-1")
    assert followed is not None and followed.subscribers == frozenset({"connection-1"})
    outcome = {
        "status": SubmissionStatus.REJECTED,
        "decision": "rejected",
        "reason": "spam",
        "decided_by": "alice",
        "decided_at": iso(NOW + 5),
    }
    first = stores.submissions.record_outcome(submission.submission_id, **outcome)
    again = stores.submissions.record_outcome(submission.submission_id, **outcome)
    assert first == again
    assert first is not None and first.status == SubmissionStatus.REJECTED and first.reason == "spam"
    assert first.subscribers == frozenset({"connection-1"})
    assert stores.submissions.record_outcome("00000000-0000-4000-8000-999999999999", **outcome) is None


def test_a_missing_reason_clears_a_stale_one_on_the_submission(stores: Stores) -> None:
    submission = _submission()
    stores.submissions.create(submission)
    base = {"status": SubmissionStatus.REJECTED, "decided_by": "alice", "decided_at": iso(NOW)}
    stores.submissions.record_outcome(submission.submission_id, decision="rejected", reason="spam", **base)
    cleared = stores.submissions.record_outcome(submission.submission_id, decision="rejected", reason=None, **base)
    assert cleared is not None and cleared.reason is None


def _appeal(**changes: object) -> Appeal:
    appeal = Appeal(
        appeal_id="appeal-1",
        message="please look again",
        appealed_at=iso(NOW + 60),
        original_status=SubmissionStatus.REJECTED,
        original_decision="rejected",
        original_reason="spam",
        original_decided_by="alice",
        original_decided_at=iso(NOW),
    )
    return replace(appeal, **changes)  # type: ignore[arg-type]


def _rejected_submission(stores: Stores) -> Submission:
    submission = _submission(
        status=SubmissionStatus.REJECTED,
        decision="rejected",
        reason="spam",
        decided_by="alice",
        decided_at=iso(NOW),
        submitter_token_hash="hash-of-the-token",
    )
    stores.submissions.create(submission)
    return submission


def test_an_appeal_is_stored_once_only_with_the_token_and_the_contested_decision(stores: Stores) -> None:
    submission = _rejected_submission(stores)
    sid = submission.submission_id
    assert stores.submissions.start_appeal(sid, appeal=_appeal(), token_hash="another-hash") is None
    stale = _appeal(original_decided_at=iso(NOW - 1))
    assert stores.submissions.start_appeal(sid, appeal=stale, token_hash="hash-of-the-token") is None
    assert stores.submissions.get(sid) == submission  # refusals change nothing
    appealed = stores.submissions.start_appeal(sid, appeal=_appeal(), token_hash="hash-of-the-token")
    assert appealed is not None and appealed.status == SubmissionStatus.IN_REVIEW and appealed.appeal == _appeal()
    again = _appeal(appeal_id="appeal-2")
    assert stores.submissions.start_appeal(sid, appeal=again, token_hash="hash-of-the-token") is None
    assert stores.submissions.get(sid) == appealed


def test_an_appeal_is_cancelled_only_by_its_own_id_and_its_outcome_is_recorded(stores: Stores) -> None:
    submission = _rejected_submission(stores)
    sid = submission.submission_id
    stores.submissions.start_appeal(sid, appeal=_appeal(), token_hash="hash-of-the-token")
    stores.submissions.cancel_appeal(sid, appeal=_appeal(appeal_id="another"))
    assert stores.submissions.get(sid).status == SubmissionStatus.IN_REVIEW  # type: ignore[union-attr]
    stores.submissions.cancel_appeal(sid, appeal=_appeal())
    assert stores.submissions.get(sid) == submission
    stores.submissions.start_appeal(sid, appeal=_appeal(), token_hash="hash-of-the-token")
    decided = stores.submissions.record_outcome(
        sid,
        status=SubmissionStatus.APPROVED,
        decision="approved",
        reason=None,
        decided_by="bob",
        decided_at=iso(NOW + 120),
        appeal_outcome="overturned",
    )
    assert decided is not None and decided.appeal == _appeal(outcome="overturned")
    assert (decided.status, decided.decided_by, decided.reason) == (SubmissionStatus.APPROVED, "bob", None)
    assert stores.submissions.get(sid) == decided


def test_an_appeal_outcome_needs_an_appeal(stores: Stores) -> None:
    submission = _rejected_submission(stores)
    outcome = stores.submissions.record_outcome(
        submission.submission_id,
        status="APPROVED",
        decision="approved",
        reason=None,
        decided_by="bob",
        decided_at=iso(NOW),
        appeal_outcome="overturned",
    )
    assert outcome is None
    assert stores.submissions.get(submission.submission_id) == submission


def test_an_unknown_submission_cannot_be_followed_and_a_follower_can_leave(stores: Stores) -> None:
    assert stores.submissions.add_subscriber("00000000-0000-4000-8000-999999999999", "connection-1") is None
    submission = _submission()
    stores.submissions.create(submission)
    stores.submissions.add_subscriber(submission.submission_id, "connection-1")
    stores.submissions.remove_subscriber(submission.submission_id, "connection-1")
    stored = stores.submissions.get(submission.submission_id)
    assert stored is not None and stored.subscribers == frozenset()
    stores.submissions.delete(submission.submission_id)
    assert stores.submissions.get(submission.submission_id) is None


# --- reviews: the decision's conditional writes ------------------------------------------


def test_a_pending_review_can_be_rewritten_until_it_is_decided(stores: Stores) -> None:
    review = _review()
    assert stores.reviews.put_pending(review) is True
    retried = replace(review, task_token="token-retry")
    assert stores.reviews.put_pending(retried) is True  # a retried task's new token
    assert stores.reviews.get(review.review_id) == retried
    assert _claim(stores, review) is not None
    assert stores.reviews.put_pending(review) is False


def test_a_rejections_category_is_recorded_and_a_later_outcome_without_one_clears_it(stores: Stores) -> None:
    submission = _submission(notify_email="a@example.com", notify_phone="+14155550123")
    stores.submissions.create(submission)
    assert stores.submissions.get(submission.submission_id) == submission  # the number survives the item
    base = {"decided_by": "alice", "decided_at": iso(NOW)}
    rejected = stores.submissions.record_outcome(
        submission.submission_id,
        status=SubmissionStatus.REJECTED,
        decision="rejected",
        reason="spam",
        category="spam",
        **base,
    )
    assert rejected is not None and rejected.category == "spam" and rejected.notify_phone == "+14155550123"
    approved = stores.submissions.record_outcome(
        submission.submission_id, status=SubmissionStatus.APPROVED, decision="approved", reason=None, **base
    )
    assert approved is not None and approved.category is None


def test_a_claimed_rejection_carries_its_category_and_a_release_removes_it(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    won = stores.reviews.claim_decision(
        review.review_id,
        decision="rejected",
        reason="spam",
        decided_by="alice",
        decided_at=iso(NOW),
        claim_id="claim-1",
        now=NOW,
        category="spam",
    )
    assert won is not None and won.category == "spam"
    assert won.callback_output()["category"] == "spam"
    assert stores.reviews.get(review.review_id) == won
    stores.reviews.release_decision(review.review_id, claim_id="claim-1", task_token=review.task_token)
    assert stores.reviews.get(review.review_id) == review


def test_exactly_one_claim_wins_and_it_carries_the_current_token(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    won = _claim(stores, review, claim_id="claim-1")
    assert won is not None
    assert (won.status, won.decision, won.reason, won.decided_by) == (
        ReviewStatus.REJECTED,
        "rejected",
        "spam",
        "alice",
    )
    assert won.callback_pending and won.claim_id == "claim-1" and won.claim_expires_at == NOW + CLAIM_LEASE_SECONDS
    assert won.task_token == review.task_token
    assert _claim(stores, review, claim_id="claim-2", decision="approved") is None
    assert stores.reviews.get(review.review_id) == won


def test_an_appeal_review_is_never_claimed_by_the_decider_it_contests(stores: Stores) -> None:
    review = replace(_review(), kind="appeal", appeal=_appeal(original_decided_by="alice"))
    stores.reviews.put_pending(review)
    assert stores.reviews.get(review.review_id) == review
    assert _claim(stores, review) is None  # _claim decides as alice
    assert stores.reviews.get(review.review_id) == review
    won = stores.reviews.claim_decision(
        review.review_id,
        decision="approved",
        reason=None,
        decided_by="bob",
        decided_at=iso(NOW),
        claim_id="claim-bob",
        now=NOW,
    )
    assert won is not None and won.decided_by == "bob" and won.appeal == review.appeal


def test_no_claim_is_taken_at_or_after_the_deadline(stores: Stores) -> None:
    review = _review(deadline=NOW + 10)
    stores.reviews.put_pending(review)
    assert _claim(stores, review, now=NOW + 10) is None
    assert _claim(stores, _review(number=2)) is None  # no such review
    assert _claim(stores, review, now=NOW + 9) is not None


def test_an_abandoned_claim_is_renewed_by_one_request_only_after_its_lease(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    claimed = _claim(stores, review)
    assert claimed is not None
    assert stores.reviews.renew_abandoned_claim(claimed, now=NOW + CLAIM_LEASE_SECONDS - 1) is None
    later = NOW + CLAIM_LEASE_SECONDS + 1
    renewed = stores.reviews.renew_abandoned_claim(claimed, now=later)
    assert renewed is not None and renewed.claim_expires_at == later + CLAIM_LEASE_SECONDS
    assert renewed.claim_id == claimed.claim_id  # the owner's retry still owns it
    assert stores.reviews.renew_abandoned_claim(claimed, now=later) is None  # the second racer loses


def test_a_finished_decision_keeps_its_fields_and_is_no_longer_renewable(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    claimed = _claim(stores, review)
    assert claimed is not None
    stores.reviews.finish_decision(review.review_id)
    stores.reviews.finish_decision(review.review_id)  # the final task may finish it again
    finished = stores.reviews.get(review.review_id)
    assert finished == claimed.without_pending_callback()
    assert stores.reviews.renew_abandoned_claim(claimed, now=NOW + 10 * CLAIM_LEASE_SECONDS) is None
    stores.reviews.finish_decision(_review(number=2).review_id)  # never creates an item
    assert stores.reviews.get(_review(number=2).review_id) is None


def test_a_claim_is_released_only_by_its_owner(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    _claim(stores, review, claim_id="claim-1")
    stores.reviews.release_decision(review.review_id, claim_id="claim-2", task_token=review.task_token)
    still = stores.reviews.get(review.review_id)
    assert still is not None and still.status == ReviewStatus.REJECTED
    stores.reviews.release_decision(review.review_id, claim_id="claim-1", task_token=review.task_token)
    released = stores.reviews.get(review.review_id)
    assert released == review
    assert _claim(stores, review, claim_id="claim-2", decision="approved") is not None


def test_a_claim_is_not_released_once_the_next_wait_holds_a_new_token(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    _claim(stores, review, claim_id="claim-1")
    renewed = stores.reviews.renew_task_token(review.review_id, task_token="token-after-reminder")
    assert renewed is not None and renewed.callback_pending and renewed.task_token == "token-after-reminder"
    stores.reviews.release_decision(review.review_id, claim_id="claim-1", task_token=review.task_token)
    kept = stores.reviews.get(review.review_id)
    assert kept is not None and kept.status == ReviewStatus.REJECTED  # the new wait was handed this claim


def test_a_pending_review_is_marked_reminded_once_per_reminder_time(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    reminded = stores.reviews.mark_reminded(review.review_id, at=iso(NOW + 3000))
    assert reminded == replace(review, reminded_at=iso(NOW + 3000))
    assert stores.reviews.get(review.review_id) == reminded
    assert stores.reviews.mark_reminded(review.review_id, at=iso(NOW + 3000)) == reminded  # a retried task
    assert stores.reviews.mark_reminded(review.review_id, at=iso(NOW + 3001)) is None
    assert stores.reviews.mark_reminded(_review(number=2).review_id, at=iso(NOW)) is None  # never creates one
    assert stores.reviews.get(_review(number=2).review_id) is None


def test_a_decided_review_is_not_reminded(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    _claim(stores, review)
    assert stores.reviews.mark_reminded(review.review_id, at=iso(NOW + 3000)) is None
    decided = stores.reviews.get(review.review_id)
    assert decided is not None and decided.reminded_at is None


def test_the_next_waits_token_is_written_while_pending_or_while_a_claim_is_undelivered(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    renewed = stores.reviews.renew_task_token(review.review_id, task_token="token-2")
    assert renewed == replace(review, task_token="token-2")
    assert stores.reviews.get(review.review_id) == renewed
    _claim(stores, review)
    claimed = stores.reviews.renew_task_token(review.review_id, task_token="token-3")
    assert claimed is not None and claimed.callback_pending and claimed.task_token == "token-3"
    stores.reviews.finish_decision(review.review_id)
    assert stores.reviews.renew_task_token(review.review_id, task_token="token-4") is None  # delivered: stays
    finished = stores.reviews.get(review.review_id)
    assert finished is not None and finished.task_token == "token-3"
    assert stores.reviews.renew_task_token(_review(number=2).review_id, task_token="token-5") is None
    assert stores.reviews.get(_review(number=2).review_id) is None


def test_an_expiry_is_written_onto_the_review_and_wins_over_an_unfinished_claim(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    _claim(stores, review)
    expired = stores.reviews.record_final(
        review.review_id, decision="expired", reason="deadline", decided_by="deadline", decided_at=iso(NOW + 3600)
    )
    assert expired is not None
    assert (expired.status, expired.decision, expired.decided_by) == (ReviewStatus.EXPIRED, "expired", "deadline")
    assert not expired.callback_pending
    assert stores.reviews.get(review.review_id) == expired
    assert (
        stores.reviews.record_final(
            _review(number=2).review_id, decision="failed", reason=None, decided_by="workflow", decided_at=iso(NOW)
        )
        is None
    )


# --- reviews: paging order ----------------------------------------------------------------


def _page_through(stores: Stores, *, order: str, limit: int) -> list[str]:
    titles: list[str] = []
    token: str | None = None
    while True:
        page, token = stores.reviews.list_pending(limit=limit, page_token=token, order=order)
        assert len(page) <= limit
        titles += [review.title for review in page]
        if token is None:
            return titles


def test_pending_reviews_page_in_creation_order_either_way(stores: Stores) -> None:
    for number, created in ((1, NOW + 20), (2, NOW), (3, NOW + 10)):
        stores.reviews.put_pending(_review(number, created=created))
    assert _page_through(stores, order="oldest", limit=2) == ["Review 2", "Review 3", "Review 1"]
    assert _page_through(stores, order="newest", limit=2) == ["Review 1", "Review 3", "Review 2"]


def test_pending_reviews_page_by_risk_highest_first_with_unscored_errors_on_top(stores: Stores) -> None:
    risks = {1: {"score": 0.2, "labels": {}}, 2: {"error": "ThrottlingException"}, 3: {"score": 0.9, "labels": {}}}
    for number, risk in risks.items():
        stores.reviews.put_pending(replace(_review(number), risk=risk))
    stores.reviews.put_pending(_review(4))  # never scored (the risk check was off)
    assert _page_through(stores, order="risk", limit=3) == ["Review 2", "Review 3", "Review 1", "Review 4"]
    claimed = _claim(stores, _review(3))
    assert claimed is not None and claimed.risk == {"score": 0.9, "labels": {}}
    assert _page_through(stores, order="risk", limit=10) == ["Review 2", "Review 1", "Review 4"]


def test_pending_reviews_page_by_deadline_soonest_first_whatever_their_creation(stores: Stores) -> None:
    for number, created, deadline in ((1, NOW, NOW + 7200), (2, NOW + 10, NOW + 600), (3, NOW + 20, NOW + 3600)):
        stores.reviews.put_pending(_review(number, created=created, deadline=deadline))
    assert _page_through(stores, order="deadline", limit=2) == ["Review 2", "Review 3", "Review 1"]
    assert _claim(stores, _review(2)) is not None
    assert _page_through(stores, order="deadline", limit=10) == ["Review 3", "Review 1"]


# --- reviewers' claims on reviews (holds) ------------------------------------------------


def test_a_hold_is_taken_by_one_reviewer_renewed_by_them_and_refused_to_others(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    before = stores.holds.hold(review.review_id, reviewer="alice", now=NOW, until=NOW + 900)
    assert before is not None and before.held_by is None  # the review as it was
    assert stores.holds.hold(review.review_id, reviewer="bob", now=NOW + 1, until=NOW + 901) is None
    renewed = stores.holds.hold(review.review_id, reviewer="alice", now=NOW + 2, until=NOW + 902)
    assert renewed is not None and (renewed.held_by, renewed.hold_expires_at) == ("alice", NOW + 900)
    stored = stores.reviews.get(review.review_id)
    assert stored is not None and (stored.held_by, stored.hold_expires_at) == ("alice", NOW + 902)
    assert stored.holder(NOW + 901) == "alice" and stored.holder(NOW + 902) is None
    # Lapsed: anyone may take it.
    assert stores.holds.hold(review.review_id, reviewer="bob", now=NOW + 902, until=NOW + 1802) is not None


def test_no_hold_on_an_unknown_decided_or_expired_review(stores: Stores) -> None:
    expiring, decided = _review(1, deadline=NOW + 10), _review(2)
    for review in (expiring, decided):
        stores.reviews.put_pending(review)
    assert _claim(stores, decided) is not None
    assert stores.holds.hold(_review(3).review_id, reviewer="alice", now=NOW, until=NOW + 900) is None
    assert stores.holds.hold(decided.review_id, reviewer="alice", now=NOW, until=NOW + 900) is None
    assert stores.holds.hold(expiring.review_id, reviewer="alice", now=NOW + 10, until=NOW + 910) is None
    assert stores.reviews.get(_review(3).review_id) is None  # a refused hold creates nothing


def test_only_the_holder_decides_while_a_hold_is_live_and_the_decision_clears_it(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    stores.holds.hold(review.review_id, reviewer="bob", now=NOW, until=NOW + 900)
    assert _claim(stores, review) is None  # alice decides: bob holds it
    assert stores.reviews.get(review.review_id).status == ReviewStatus.PENDING  # type: ignore[union-attr]
    assert _claim(stores, review, now=NOW + 900) is not None  # lapsed: alice may
    decided = stores.reviews.get(review.review_id)
    assert decided is not None and decided.held_by is None and decided.hold_expires_at is None


def test_the_holders_decision_passes_its_own_hold(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    stores.holds.hold(review.review_id, reviewer="alice", now=NOW, until=NOW + 900)
    won = _claim(stores, review)
    assert won is not None and won.decided_by == "alice" and won.held_by is None


def test_a_hold_is_released_by_its_holder_or_by_anyone_when_no_holder_is_named(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    stores.holds.hold(review.review_id, reviewer="alice", now=NOW, until=NOW + 900)
    assert stores.holds.release_hold(review.review_id, holder="bob", now=NOW) is None
    released = stores.holds.release_hold(review.review_id, holder="alice", now=NOW)
    assert released is not None and released.held_by == "alice"  # as it was
    assert stores.reviews.get(review.review_id).held_by is None  # type: ignore[union-attr]
    assert stores.holds.release_hold(review.review_id, holder="alice", now=NOW) is None  # nothing left
    stores.holds.hold(review.review_id, reviewer="bob", now=NOW, until=NOW + 900)
    assert stores.holds.release_hold(review.review_id, holder=None, now=NOW + 899) is not None  # an admin
    stores.holds.hold(review.review_id, reviewer="bob", now=NOW, until=NOW + 900)
    assert stores.holds.release_hold(review.review_id, holder=None, now=NOW + 900) is None  # lapsed already


def test_an_expiry_clears_a_hold(stores: Stores) -> None:
    review = _review()
    stores.reviews.put_pending(review)
    stores.holds.hold(review.review_id, reviewer="alice", now=NOW, until=NOW + 900)
    expired = stores.reviews.record_final(
        review.review_id, decision="expired", reason=None, decided_by="deadline", decided_at=iso(NOW + 1)
    )
    assert expired is not None and expired.held_by is None and expired.status == ReviewStatus.EXPIRED


def test_decided_reviews_page_by_decision_time_and_status(stores: Stores) -> None:
    for number in (1, 2, 3):
        stores.reviews.put_pending(_review(number))
    _claim(stores, _review(1), now=NOW + 30, decision="approved")
    _claim(stores, _review(2), now=NOW + 10, decision="rejected")
    _claim(stores, _review(3), now=NOW + 20, decision="approved")
    page, _token = stores.reviews.list_decided(status="decided", limit=10, page_token=None, newest_first=True)
    assert [review.title for review in page] == ["Review 1", "Review 3", "Review 2"]
    page, _token = stores.reviews.list_decided(status="approved", limit=10, page_token=None, newest_first=False)
    assert [review.title for review in page] == ["Review 3", "Review 1"]
    pending, _token = stores.reviews.list_pending(limit=10, page_token=None, order="oldest")
    assert pending == []


def test_the_oldest_pending_review_and_the_pending_count_leave_out_decided_ones(stores: Stores) -> None:
    assert stores.reviews.oldest_pending() is None
    assert stores.reviews.count_pending() == 0
    for number, created in ((1, NOW + 20), (2, NOW), (3, NOW + 10)):
        stores.reviews.put_pending(_review(number, created=created))
    oldest = stores.reviews.oldest_pending()
    assert oldest is not None and oldest.title == "Review 2"
    assert stores.reviews.count_pending() == 3
    _claim(stores, _review(2), decision="approved")
    oldest = stores.reviews.oldest_pending()
    assert oldest is not None and oldest.title == "Review 3"
    assert stores.reviews.count_pending() == 2


# --- history -----------------------------------------------------------------------------


def test_history_append_says_whether_it_wrote_the_event(stores: Stores) -> None:
    submission_id = "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10"
    assert stores.history.append(submission_id, "submitted", at=iso(NOW)) is True
    assert stores.history.append(submission_id, "submitted", at=iso(NOW)) is False  # a retried step
    assert stores.history.append(submission_id, "delivered", at=iso(NOW), key="email", channel="email") is True
    assert stores.history.append(submission_id, "delivered", at=iso(NOW), key="webhook", channel="webhook") is True
    assert len(stores.history.events(submission_id)) == 3


def test_history_keeps_each_event_once_in_the_order_it_happened(stores: Stores) -> None:
    submission_id = "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10"
    risk = {"score": 0.25, "labels": {"INSULT": 0.25}, "model": "m"}
    stores.history.append(submission_id, "checked", at=iso(NOW + 1), flagged=True, risk=risk)
    stores.history.append(submission_id, "submitted", at=iso(NOW))
    stores.history.append(submission_id, "checked", at=iso(NOW + 1), flagged=True, risk=risk)  # a retried step
    stores.history.append(submission_id, "delivered", at=iso(NOW + 2), key="email", channel="email")
    stores.history.append(submission_id, "delivered", at=iso(NOW + 2), key="websocket", channel="websocket")
    events = stores.history.events(submission_id)
    assert [(event.event, event.fields.get("channel")) for event in events] == [
        ("submitted", None),
        ("checked", None),
        ("delivered", "email"),
        ("delivered", "websocket"),
    ]
    assert events[1].fields == {"flagged": True, "risk": risk}  # a float reads back as the number it was


def test_history_never_keeps_a_token_an_address_or_an_empty_field(stores: Stores) -> None:
    submission_id = "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10"
    stores.history.append(
        submission_id,
        "review_requested",
        at=iso(NOW),
        reviewId="r-1",
        taskToken="t0k3n",
        notifyEmail="someone@example.com",
        notifyPhone="+14155550123",
        phoneNumber="+14155550123",
        signature="s1g",
        reason=None,
    )
    (event,) = stores.history.events(submission_id)
    assert event.fields == {"reviewId": "r-1"}


# --- connections -------------------------------------------------------------------------


def test_connections_follow_submissions_and_watch_reviews_until_removed(stores: Stores) -> None:
    first = Connection(connection_id="c-1", api_id="api", stage="dev", domain_name="example.com")
    second = Connection(connection_id="c-2", api_id="api", stage="dev", domain_name="example.com")
    stores.connections.add(first, now=NOW)
    stores.connections.add(second, now=NOW)
    stores.connections.record_subscription(first, "submission-a", now=NOW)
    stores.connections.record_subscription(first, "submission-b", now=NOW)
    stores.connections.watch_reviews(second, reviewer="alice", now=NOW)
    assert stores.connections.get_many(["c-2", "c-1", "c-unknown"]) == [first, second]
    assert stores.connections.review_watchers() == [(second, "alice")]
    assert sorted(stores.connections.remove("c-1")) == ["submission-a", "submission-b"]
    assert stores.connections.remove("c-2") == []  # a watch is not a submission
    assert stores.connections.get_many(["c-1", "c-2"]) == []
    assert stores.connections.review_watchers() == []


def test_a_message_is_marked_sent_once_per_outcome_and_channel(stores: Stores) -> None:
    submission = _submission()
    stores.submissions.create(submission)
    mark = stores.submissions.mark_sent
    assert mark(submission.submission_id, channel="email", outcome="rejected#t1") is True
    assert mark(submission.submission_id, channel="email", outcome="rejected#t1") is False  # a retried task
    assert mark(submission.submission_id, channel="sms", outcome="rejected#t1") is True  # another channel
    assert mark(submission.submission_id, channel="email", outcome="approved#t2") is True  # another outcome
    stores.submissions.unmark_sent(submission.submission_id, channel="email", outcome="rejected#t1")  # not its own
    assert mark(submission.submission_id, channel="email", outcome="approved#t2") is False
    stores.submissions.unmark_sent(submission.submission_id, channel="email", outcome="approved#t2")
    assert mark(submission.submission_id, channel="email", outcome="approved#t2") is True  # given back: sent again
    assert mark("00000000-0000-4000-8000-999999999999", channel="email", outcome="x") is False


# --- stats -------------------------------------------------------------------------------


def test_stats_counters_add_up_per_period_and_unknown_periods_are_absent(stores: Stores) -> None:
    stores.stats.add("hour#2027-01-15T08", {"submitted": 1, "flagged": 1})
    stores.stats.add("hour#2027-01-15T08", {"submitted": 2, "ttd#03": 1})
    stores.stats.add("day#2027-01-15", {"reviewer#ana lima": 1})
    stores.stats.add("day#2027-01-15", {"reviewer#ana lima": 1, "reviewer#bo": 1})
    assert stores.stats.read(["hour#2027-01-15T08", "hour#2027-01-15T07", "day#2027-01-15"]) == {
        "hour#2027-01-15T08": {"submitted": 3, "flagged": 1, "ttd#03": 1},
        "day#2027-01-15": {"reviewer#ana lima": 2, "reviewer#bo": 1},
    }
    assert stores.stats.read([]) == {}


def test_a_client_token_names_its_client_until_the_client_is_deleted(stores: Stores) -> None:
    import pytest

    from chalicelib.errors import AlreadyExistsError, NotFoundError

    client, token = stores.clients.create("cms", created_by="admin")
    other, other_token = stores.clients.create("app", created_by="admin")

    assert token.startswith("cmc_") and token != other_token
    assert (client.name, client.created_by) == ("cms", "admin")
    assert [listed.name for listed in stores.clients.list()] == ["app", "cms"]
    assert stores.clients.identify(token) == "cms"
    assert stores.clients.identify("cmc_unknown") is None
    with pytest.raises(AlreadyExistsError):
        stores.clients.create("cms", created_by="admin")
    assert stores.clients.identify(token) == "cms"  # the refused create changed nothing

    stores.clients.delete("cms")

    assert stores.clients.identify(token) is None
    assert stores.clients.identify(other_token) == "app"
    assert [listed.name for listed in stores.clients.list()] == ["app"]
    with pytest.raises(NotFoundError):
        stores.clients.delete("cms")


def test_a_limit_counter_lets_through_exactly_its_limit_per_key(stores: Stores) -> None:
    taken = [
        stores.limits.take("submissions#ip#192.0.2.1#1800000000", limit=3, expires_at=NOW + 3660) for _ in range(5)
    ]
    other = stores.limits.take("submissions#ip#192.0.2.2#1800000000", limit=3, expires_at=NOW + 3660)
    next_window = stores.limits.take("submissions#ip#192.0.2.1#1800000060", limit=3, expires_at=NOW + 3720)

    assert taken == [True, True, True, False, False]
    assert other is True and next_window is True


def test_concurrent_takes_of_one_counter_let_exactly_the_limit_through(stores: Stores) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(
                lambda _: stores.limits.take("submissions#ip#198.51.100.7#0", limit=10, expires_at=NOW), range(100)
            )
        )

    assert results.count(True) == 10


def test_a_window_boundary_never_lets_more_than_twice_the_limit_through_in_sixty_seconds(stores: Stores) -> None:
    """Bursts just before and just after a boundary (an injected clock): each window stops at its limit."""
    from chalicelib.usecases.limits import FixedWindowLimiter
    from tests.fakes import FakeClock

    clock = FakeClock(NOW + 59.5)  # NOW is a multiple of 60: half a second before a boundary
    limiter = FixedWindowLimiter(store=stores.limits, clock=clock)
    before = [limiter.take("submissions#ip", "192.0.2.50", limit=5, window_seconds=60).allowed for _ in range(8)]
    clock.advance(1)  # half a second after it
    after = [limiter.take("submissions#ip", "192.0.2.50", limit=5, window_seconds=60).allowed for _ in range(8)]
    clock.advance(58)  # still within 60 s of the first burst, same window as the second
    later = limiter.take("submissions#ip", "192.0.2.50", limit=5, window_seconds=60)

    assert before.count(True) == 5 and after.count(True) == 5  # 10 = twice the limit within one second
    assert not later.allowed and later.retry_after == 2  # 1.5 s to the next window, rounded up
