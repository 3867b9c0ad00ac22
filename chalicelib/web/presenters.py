"""Presenters: the public JSON shapes of the REST API and the WebSocket messages (SPEC §2, §3).

The one place that decides what a client sees: the task token, e-mail address, body (except on
one review) and the internals of a claim are never in these shapes.
"""

from __future__ import annotations

from typing import Any

from chalicelib.clock import iso
from chalicelib.domain.actors import WORKFLOW
from chalicelib.domain.appeal import Appeal
from chalicelib.domain.bulk_decisions import DecisionResult
from chalicelib.domain.clients import Client
from chalicelib.domain.history import HistoryEvent
from chalicelib.domain.review import Review
from chalicelib.domain.stats import Stats
from chalicelib.domain.submission import Submission
from chalicelib.domain.team import Reviewer


def present_submission(submission: Submission) -> dict[str, Any]:
    """The submission as ``GET /submissions/{id}`` shows it (no body, no internals)."""
    public: dict[str, Any] = {
        "submissionId": submission.submission_id,
        "title": submission.title,
        "status": submission.status,
        "createdAt": submission.created_at,
    }
    for key, value in (
        ("decision", submission.decision),
        ("reason", submission.reason),
        ("category", submission.category),
        ("decidedBy", submission.decided_by),
        ("decidedAt", submission.decided_at),
    ):
        if value is not None:
            public[key] = value
    if submission.decision is not None:
        public["automated"] = submission.automated
    return public | _appeal_of(submission)


def _appeal_of(submission: Submission) -> dict[str, Any]:
    """``appealId`` and ``appealedAt`` once appealed, ``appeal`` (``overturned``/``upheld``) once decided."""
    if submission.appeal is None:
        return {}
    public = {"appealId": submission.appeal.appeal_id, "appealedAt": submission.appeal.appealed_at}
    if submission.appeal.outcome:
        public["appeal"] = submission.appeal.outcome
    return public


def present_appeal(appeal: Appeal) -> dict[str, Any]:
    """What an appeal's reviewer sees: the author's message and the decision it contests (never who the author is)."""
    public: dict[str, Any] = {"appealId": appeal.appeal_id, "message": appeal.message, "appealedAt": appeal.appealed_at}
    for key, value in (
        ("originalStatus", appeal.original_status),
        ("originalDecision", appeal.original_decision),
        ("originalReason", appeal.original_reason),
        ("originalCategory", appeal.original_category),
        ("originalDecidedBy", appeal.original_decided_by),
        ("originalDecidedAt", appeal.original_decided_at),
    ):
        if value is not None:
            public[key] = value
    return public


def present_review(review: Review, base_url: str | None = None, *, body: str | None = None) -> dict[str, Any]:
    """The review as reviewers see it; the task token is deliberately absent.

    Without a ``base_url`` (a WebSocket event) the signed links are left out too: the
    dashboard decides through the API, and links are for e-mail.
    """
    public: dict[str, Any] = {
        "reviewId": review.review_id,
        "submissionId": review.submission_id,
        "title": review.title,
        "matches": review.matches,
        "status": review.status,
        "createdAt": review.created_at,
        "deadline": review.deadline_at,
        "kind": review.kind,
    }
    if review.appeal is not None:
        public["appeal"] = present_appeal(review.appeal)
    if base_url is not None:
        public["approveUrl"] = base_url + review.approve_path
        public["rejectUrl"] = base_url + review.reject_path
    if review.risk is not None:
        public["risk"] = review.risk
    if body is not None:
        public["body"] = body
    if review.held_by is not None and review.status == "PENDING" and review.hold_expires_at is not None:
        # A reviewer's claim (SPEC §14); the callers leave a lapsed one out (``without_lapsed_hold``).
        public["claimedBy"] = review.held_by
        public["claimExpiresAt"] = iso(review.hold_expires_at)
    for key, value in (
        ("decision", review.decision),
        ("reason", review.reason),
        ("category", review.category),
        ("decidedBy", review.decided_by),
        ("decidedAt", review.decided_at),
        ("remindedAt", review.reminded_at),
    ):
        if value is not None:
            public[key] = value
    return public


def present_reviewer(reviewer: Reviewer) -> dict[str, Any]:
    """The reviewer as ``GET /reviewers`` lists it: never the token or its hash."""
    return {
        "name": reviewer.name,
        "role": reviewer.role,
        "createdAt": reviewer.created_at,
        "createdBy": reviewer.created_by,
    }


def present_client(client: Client) -> dict[str, Any]:
    """The client as ``GET /clients`` lists it: never the token or its hash."""
    return {"name": client.name, "createdAt": client.created_at, "createdBy": client.created_by}


def present_event(event: HistoryEvent) -> dict[str, Any]:
    return {"at": event.at, "event": event.event, **event.fields}


def decision_message(submission: Submission) -> dict[str, Any]:
    """The ``{"type": "decision", ...}`` message of SPEC §3 (with §15's statement of reasons) for a decided submission."""
    message: dict[str, Any] = {
        "type": "decision",
        "submissionId": submission.submission_id,
        "decision": submission.decision,
        "decidedBy": submission.decided_by or WORKFLOW,
        "automated": submission.automated,
        "decidedAt": submission.decided_at,
    }
    if submission.reason:
        message["reason"] = submission.reason
    if submission.category:
        message["category"] = submission.category
    if submission.appeal is not None and submission.appeal.outcome:
        message["appeal"] = submission.appeal.outcome
    return message


def status_message(submission: Submission) -> dict[str, Any]:
    """The ``{"type": "status", ...}`` reply to a subscribe."""
    return {
        "type": "status",
        "submissionId": submission.submission_id,
        "status": submission.status,
        "title": submission.title,
        "createdAt": submission.created_at,
    }


def present_stats(stats: Stats) -> dict[str, Any]:
    """``GET /stats`` (SPEC §16): reviewers' names and counts only, nothing about any one article."""
    return {
        "pending": stats.pending,
        "oldestPendingAgeSeconds": stats.oldest_pending_age_seconds,
        "last24h": dict(stats.last24h),
        "medianTimeToDecisionSeconds24h": stats.median_time_to_decision_seconds_24h,
        "byReviewer7d": [{"name": name, "decisions": decisions} for name, decisions in stats.by_reviewer_7d],
    }


def present_claim(review: Review) -> dict[str, Any]:
    """``POST /reviews/{id}/claim``'s answer: who holds the review, until when."""
    return {
        "reviewId": review.review_id,
        "claimedBy": review.held_by,
        "claimExpiresAt": iso(review.hold_expires_at or 0),
    }


def present_decision_result(result: DecisionResult) -> dict[str, Any]:
    """One item of ``POST /reviews/decisions``'s results (an error in the SPEC's error shape)."""
    public: dict[str, Any] = {"reviewId": result.review_id, "status": result.status}
    if result.decision is not None:
        public["decision"] = result.decision
        public["decidedBy"] = result.decided_by
    if result.error_code is not None:
        public["error"] = {"code": result.error_code, "message": result.error_message}
    return public
