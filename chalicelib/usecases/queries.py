"""Queries: read a submission, its history, one review or a page of reviews (nothing here writes)."""

from __future__ import annotations

from chalicelib.clock import Clock
from chalicelib.domain.history import HistoryEvent
from chalicelib.domain.identifiers import validate_review_id, validate_submission_id
from chalicelib.domain.ports import HistoryStore, ReviewStore, SubmissionStore
from chalicelib.domain.review import Review, ReviewListing
from chalicelib.domain.submission import Submission
from chalicelib.errors import NotFoundError


def find_submission(submissions: SubmissionStore, submission_id: str) -> Submission:
    """The submission; BadRequestError for a malformed id, NotFoundError for an unknown one."""
    submission = submissions.get(validate_submission_id(submission_id))
    if submission is None:
        raise NotFoundError(f"no submission {submission_id}")
    return submission


class SubmissionQueries:
    """``GET /submissions/{id}`` and its history."""

    def __init__(self, *, submissions: SubmissionStore, history: HistoryStore) -> None:
        self._submissions = submissions
        self._history = history

    def get_submission(self, submission_id: str) -> Submission:
        """Raises BadRequestError for a malformed id, NotFoundError for an unknown one."""
        return find_submission(self._submissions, submission_id)

    def history(self, submission_id: str) -> list[HistoryEvent]:
        """The audit trail of a submission, oldest first. Raises BadRequestError / NotFoundError."""
        submission = self.get_submission(submission_id)
        return self._history.events(submission.submission_id)


class ReviewQueries:
    """``GET /reviews`` and ``GET /reviews/{id}``; a reviewer's claim shows only while it is live."""

    def __init__(self, *, reviews: ReviewStore, submissions: SubmissionStore, clock: Clock) -> None:
        self._reviews = reviews
        self._submissions = submissions
        self._clock = clock

    def list_reviews(self, listing: ReviewListing) -> tuple[list[Review], str | None]:
        """One page of pending (oldest first by default) or decided reviews (newest first by default).

        Raises BadRequestError for a nextToken the store did not issue for that list.
        """
        if listing.status == "pending":
            reviews, next_token = self._reviews.list_pending(
                limit=listing.limit, page_token=listing.page_token, order=listing.pending_order
            )
        else:
            reviews, next_token = self._reviews.list_decided(
                status=listing.status,
                limit=listing.limit,
                page_token=listing.page_token,
                newest_first=listing.newest_first,
            )
        now = self._clock()
        return [review.without_lapsed_hold(now) for review in reviews], next_token

    def get_review(self, review_id: str) -> Review:
        """Raises BadRequestError for a malformed id, NotFoundError for an unknown one."""
        validate_review_id(review_id)
        review = self._reviews.get(review_id)
        if review is None:
            raise NotFoundError(f"no review {review_id}")
        return review.without_lapsed_hold(self._clock())

    def get_review_in_full(self, review_id: str) -> tuple[Review, str]:
        """The review and the body of the article it judges (the review item keeps only the title)."""
        review = self.get_review(review_id)
        submission = self._submissions.get(review.submission_id)
        return review, submission.body if submission is not None else ""
