"""Reviewers' claims (holds) over the in-memory fakes: who may claim, renew, release and decide, and what is recorded."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.clock import iso
from chalicelib.domain.review import Review, ReviewStatus
from chalicelib.errors import ClaimedError, ConflictError, ExpiredError, NotFoundError
from chalicelib.usecases.claims import HolderCheck, ReviewClaims
from tests.fakes import START_TIME, FakeClock, InMemoryHistory, InMemoryReviews, RecordingNotifier

CLAIM_SECONDS = 900
REVIEW_ID = "00000000-0000-4000-8000-000000000001"
SUBMISSION_ID = "10000000-0000-4000-8000-000000000001"


def _review(**changes: object) -> Review:
    deadline = int(START_TIME) + 3600
    review = Review(
        review_id=REVIEW_ID,
        submission_id=SUBMISSION_ID,
        execution_arn="arn:aws:states:us-east-1:1:execution:m:1",
        title="forbidden",
        matches=[],
        status=ReviewStatus.PENDING,
        created_at=iso(START_TIME),
        deadline=deadline,
        deadline_at=iso(deadline),
        approve_path="/a",
        reject_path="/r",
        task_token="token",
    )
    return replace(review, **changes)  # type: ignore[arg-type]


class World:
    def __init__(self, *, reviewers: set[str] | None = None) -> None:
        self.reviews, self.history, self.notifier, self.clock = (
            InMemoryReviews(),
            InMemoryHistory(),
            RecordingNotifier(),
            FakeClock(),
        )
        self.team = reviewers if reviewers is not None else {"alice", "bob", "admin"}
        self.claims = ReviewClaims(
            reviews=self.reviews,
            holds=self.reviews,
            history=self.history,
            notifier=self.notifier,
            holder_check=HolderCheck(holds=self.reviews, current_reviewers=lambda names: names & self.team),
            claim_seconds=CLAIM_SECONDS,
            clock=self.clock,
        )
        self.reviews.put_pending(_review())

    def events(self) -> list[str]:
        return [call["event"] for call in self.notifier.called("publish_review_event")]


def test_a_claim_then_a_renewal_records_one_claimed_event_and_pushes_both():
    world = World()
    held = world.claims.claim(REVIEW_ID, reviewer="alice")
    world.clock.advance(60)
    renewed = world.claims.claim(REVIEW_ID, reviewer="alice")

    assert (held.held_by, held.hold_expires_at) == ("alice", int(START_TIME) + CLAIM_SECONDS)
    assert renewed.hold_expires_at == int(START_TIME) + 60 + CLAIM_SECONDS
    assert world.history.kinds(SUBMISSION_ID) == ["claimed"]
    assert world.events() == ["claimed", "claimed"]


def test_another_reviewer_is_told_who_holds_it_until_it_lapses():
    world = World()
    world.claims.claim(REVIEW_ID, reviewer="alice")
    with pytest.raises(ClaimedError, match="alice is reviewing") as refused:
        world.claims.claim(REVIEW_ID, reviewer="bob")
    assert refused.value.holder == "alice" and refused.value.status_code == 409

    world.clock.advance(CLAIM_SECONDS)

    assert world.claims.claim(REVIEW_ID, reviewer="bob").held_by == "bob"


def test_a_removed_reviewers_claim_is_given_back_to_whoever_meets_it():
    world = World(reviewers={"bob"})  # alice was removed after claiming
    world.claims.claim(REVIEW_ID, reviewer="alice")

    assert world.claims.claim(REVIEW_ID, reviewer="bob").held_by == "bob"


def test_release_by_the_holder_or_an_admin_and_nothing_held_is_fine():
    world = World()
    world.claims.claim(REVIEW_ID, reviewer="alice")
    with pytest.raises(ClaimedError, match="alice"):
        world.claims.release(REVIEW_ID, reviewer="bob", is_admin=False)
    world.claims.release(REVIEW_ID, reviewer="admin", is_admin=True)
    world.claims.release(REVIEW_ID, reviewer="bob", is_admin=False)  # nothing held: no error, no event

    assert world.reviews.items[REVIEW_ID].held_by is None
    assert world.history.kinds(SUBMISSION_ID) == ["claimed", "released"]
    assert world.events() == ["claimed", "released"]
    released = world.history.events(SUBMISSION_ID)[-1]
    assert released.fields["actor"] == "admin" and released.fields["claimedBy"] == "alice"


def test_unknown_decided_and_expired_reviews_cannot_be_claimed():
    world = World()
    with pytest.raises(NotFoundError):
        world.claims.claim("00000000-0000-4000-8000-000000000009", reviewer="alice")
    with pytest.raises(NotFoundError):
        world.claims.release("00000000-0000-4000-8000-000000000009", reviewer="alice", is_admin=False)
    world.clock.advance(3600)
    with pytest.raises(ExpiredError):
        world.claims.claim(REVIEW_ID, reviewer="alice")
    world.reviews.items[REVIEW_ID] = _review(status=ReviewStatus.APPROVED, decision="approved", decided_by="bob")
    with pytest.raises(ConflictError, match="approved by bob"):
        world.claims.claim(REVIEW_ID, reviewer="alice")
    assert world.history.kinds(SUBMISSION_ID) == [] and world.events() == []
