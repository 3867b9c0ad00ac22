"""The workflow's tasks before a decision: check the content, then (when it needs one) request a human's approval."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chalicelib.clock import Clock, iso, parse_iso
from chalicelib.domain import content_check
from chalicelib.domain import history as events
from chalicelib.domain.appeal import KIND_APPEAL, KIND_SUBMISSION, is_appeal_execution
from chalicelib.domain.identifiers import review_id_for
from chalicelib.domain.ports import (
    HistoryStore,
    Notifications,
    ReviewStore,
    RiskScorer,
    SubmissionStore,
    WorkflowEngine,
)
from chalicelib.domain.review import (
    DEFAULT_CATEGORY,
    DEFAULT_REJECTION_CATEGORIES,
    REVIEWER_DECISIONS,
    Review,
    ReviewStatus,
)
from chalicelib.domain.risk import RiskAssessment, Route, rejection_category, rejection_reason, route
from chalicelib.domain.submission import Submission
from chalicelib.log import log_event
from chalicelib.usecases.queries import find_submission
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)

MAX_REPORTED_MATCHES = 25
MAX_QUOTED_CHARACTERS = 100


@dataclass(frozen=True)
class RiskPolicy:
    """The risk check's settings (SPEC §13) and the model behind it; ``scorer`` None: the check is off."""

    scorer: Callable[[], RiskScorer] | None
    review_threshold: float
    reject_threshold: float | None = None
    # REJECTION_CATEGORIES: what a refusal's category may be (the model's labels map onto them).
    categories: tuple[str, ...] = DEFAULT_REJECTION_CATEGORIES

    def assess(self, submission: Submission) -> RiskAssessment | None:
        if self.scorer is None:
            return None
        return self.scorer().assess(submission.title, submission.body, submission_id=submission.submission_id)

    def route(self, *, flagged: bool, risk: RiskAssessment | None) -> Route:
        return route(
            flagged=flagged, risk=risk, review_threshold=self.review_threshold, reject_threshold=self.reject_threshold
        )


class CheckContent:
    """The content-check task: the word list and the risk model judge the title and body together."""

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        history: HistoryStore,
        word_list_source: Callable[[], list[str]],
        risk_policy: RiskPolicy,
        clock: Clock,
        count: CountEvents,
    ) -> None:
        self._count = count
        self._submissions = submissions
        self._history = history
        self._word_list_source = word_list_source
        self._risk_policy = risk_policy
        self._clock = clock

    @cached_property
    def word_list(self) -> content_check.WordList:
        """The compiled word list: normalised once per cold start, not per call."""
        return content_check.compile_word_list(self._word_list_source())

    def check(self, event: dict[str, Any]) -> dict[str, Any]:
        """Check the submission named in ``event``; what the state machine routes on.

        ``route`` is ``publish``, ``review`` or ``reject`` (SPEC §13); ``flagged`` is whether a
        listed word matched, ``risk`` the model's assessment (null when the check is off) and
        ``reason`` and ``category`` the refusal's reason and category on the reject route (else null).

        At most MAX_REPORTED_MATCHES are passed on, each quoting at most MAX_QUOTED_CHARACTERS:
        a body stuffed with banned words must not blow Step Functions' 256 KB payload, a
        DynamoDB item or a page of the pending list. The full count goes to the history and
        the log, not to the execution.
        """
        submission = find_submission(self._submissions, event["submissionId"])
        if is_appeal_execution(event.get("executionArn"), submission.submission_id):
            return self._appeal_route(submission)
        matches = self._matches(submission)
        risk = self._risk_policy.assess(submission)
        where = self._risk_policy.route(flagged=bool(matches), risk=risk)
        reported = [
            {**match, "text": match["text"][:MAX_QUOTED_CHARACTERS]} for match in matches[:MAX_REPORTED_MATCHES]
        ]
        log_event(
            logger,
            "content.checked",
            submissionId=submission.submission_id,
            executionArn=event.get("executionArn"),
            flagged=bool(matches),
            matchCount=len(matches),
            route=where,
            riskScore=risk.score if risk is not None else None,
            riskError=risk.error if risk is not None else None,
        )
        # The time the state was entered, not now: a retried check writes (and counts) its event once.
        at = iso(parse_iso(event["enteredTime"])) if event.get("enteredTime") else iso(self._clock())
        if self._history.append(
            submission.submission_id,
            events.CHECKED,
            at=at,
            flagged=bool(matches),
            matches=reported,
            matchCount=len(matches),
            risk=risk.to_dict() if risk is not None else None,
            route=where,
        ):
            self._count.checked(at, flagged=where != Route.PUBLISH, risk=risk)
        return {
            "flagged": bool(matches),
            "matches": reported,
            "route": where,
            "risk": risk.to_dict() if risk is not None else None,
            **self._refusal(where, risk),
        }

    def _refusal(self, where: Route, risk: RiskAssessment | None) -> dict[str, str | None]:
        """The reason and category of a refusal on the reject route (both null on the others)."""
        if where != Route.REJECT or risk is None:
            return {"reason": None, "category": None}
        return {
            "reason": rejection_reason(risk),
            "category": rejection_category(risk, allowed=self._risk_policy.categories, default=DEFAULT_CATEGORY),
        }

    def _appeal_route(self, submission: Submission) -> dict[str, Any]:
        """An appeal goes straight to a person, with the word list's matches to show why it was flagged.

        Routing here rather than in a Choice state keeps the clean path of every submission at
        five states; the appeal was checked (and counted) once already, so nothing is recorded.
        """
        matches = self._matches(submission)
        reported = [
            {**match, "text": match["text"][:MAX_QUOTED_CHARACTERS]} for match in matches[:MAX_REPORTED_MATCHES]
        ]
        return {
            "flagged": bool(matches),
            "matches": reported,
            "route": Route.REVIEW,
            "risk": None,
            **self._refusal(Route.REVIEW, None),
        }

    def _matches(self, submission: Submission) -> list[dict[str, Any]]:
        matches: list[dict[str, Any]] = []
        for field_name, text in (("title", submission.title), ("body", submission.body)):
            for match in content_check.find_matches(text, self.word_list):
                matches.append({"field": field_name, **match.to_dict()})
        return matches


class RequestApproval:
    """The wait-for-callback task: store the review with its token; the execution then waits."""

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        reviews: ReviewStore,
        history: HistoryStore,
        workflow: WorkflowEngine,
        notifier: Notifications,
        decision_paths: Callable[[str, int], tuple[str, str]],
        review_timeout_seconds: int,
        clock: Clock,
    ) -> None:
        self._submissions = submissions
        self._reviews = reviews
        self._history = history
        self._workflow = workflow
        self._notifier = notifier
        self._decision_paths = decision_paths
        self._review_timeout_seconds = review_timeout_seconds
        self._clock = clock

    def request(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store (or, on a retried task, rewrite) the review; ``{"reviewId"}`` for the state machine."""
        submission_id = event["submissionId"]
        # Status first: once the review is listed, the submission already reads IN_REVIEW. The write
        # returns the submission; only a retried task (no longer CHECKING) reads it again.
        in_review = self._submissions.mark_in_review(submission_id)
        submission = in_review if in_review is not None else find_submission(self._submissions, submission_id)
        review = self._new_review(event, submission)
        stored = self._reviews.put_pending(review)
        if in_review is not None:
            self._notifier.publish_status(in_review)
        log_event(
            logger,
            "review.requested",
            submissionId=submission_id,
            executionArn=review.execution_arn,
            reviewId=review.review_id,
            deadline=review.deadline_at,
            stored=stored,
        )
        if not stored:
            self._replay_decision(review.review_id, task_token=event["taskToken"])
        else:
            self._history.append(
                submission_id,
                events.REVIEW_REQUESTED,
                at=review.created_at,
                key=review.review_id,
                reviewId=review.review_id,
                deadline=review.deadline_at,
            )
            self._notifier.publish_review_event("created", review)
        return {"reviewId": review.review_id}

    def _new_review(self, event: dict[str, Any], submission: Submission) -> Review:
        """The pending review of this task: its deadline counts from when the waiting state was entered."""
        execution_arn = event["executionArn"]
        review_id = review_id_for(execution_arn)
        entered = parse_iso(event["enteredTime"]) if event.get("enteredTime") else self._clock()
        deadline = int(entered + int(event.get("timeoutSeconds") or self._review_timeout_seconds))
        approve_path, reject_path = self._decision_paths(review_id, deadline)
        return Review(
            review_id=review_id,
            submission_id=submission.submission_id,
            execution_arn=execution_arn,
            title=submission.title,
            matches=event.get("matches") or [],
            status=ReviewStatus.PENDING,
            created_at=iso(entered),
            deadline=deadline,
            deadline_at=iso(deadline),
            approve_path=approve_path,
            reject_path=reject_path,
            task_token=event["taskToken"],
            risk=event.get("risk"),
            **_appeal_fields(submission, execution_arn),
        )

    def _replay_decision(self, review_id: str, *, task_token: str) -> None:
        """A retried task found its review already decided: hand that decision to the new token.

        Step Functions gives each attempt a new token, and the decision went to the old one;
        without this the execution would wait for the deadline and expire a decided review.
        """
        review = self._reviews.get(review_id)
        if review is None or review.decision not in REVIEWER_DECISIONS:
            return
        self._workflow.send_decision(task_token, review.callback_output())
        log_event(
            logger,
            "review.decision_replayed",
            submissionId=review.submission_id,
            executionArn=review.execution_arn,
            reviewId=review_id,
            decision=review.decision,
        )


def _appeal_fields(submission: Submission, execution_arn: str) -> dict[str, Any]:
    """An appeal's review carries the appeal and the decision it contests; a first review, its kind."""
    if submission.appeal is None or not is_appeal_execution(execution_arn, submission.submission_id):
        return {"kind": KIND_SUBMISSION}
    return {"kind": KIND_APPEAL, "appeal": submission.appeal}
