"""The ports: what the use cases need from storage, the workflow engine, the push channel and the risk model.

The DynamoDB stores (``chalicelib.stores``), Step Functions (``chalicelib.integrations``) and the
in-memory fakes of the tests all implement these; mypy checks each against its port, and one
contract suite (tests/contract) runs the same cases against the fakes and the real stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from chalicelib.domain.appeal import Appeal
from chalicelib.domain.clients import Client
from chalicelib.domain.connection import Connection
from chalicelib.domain.history import HistoryEvent
from chalicelib.domain.review import Review
from chalicelib.domain.risk import RiskAssessment
from chalicelib.domain.submission import Submission


class SubmissionStore(Protocol):
    def create(self, submission: Submission) -> bool:
        """Store a new submission; False when one with that id already exists."""

    def get(self, submission_id: str) -> Submission | None: ...

    def delete(self, submission_id: str) -> None: ...

    def add_subscriber(self, submission_id: str, connection_id: str) -> Submission | None:
        """Follow a submission; it as of this write (ordered against the decision), or None if unknown."""

    def remove_subscriber(self, submission_id: str, connection_id: str) -> None: ...

    def mark_in_review(self, submission_id: str) -> Submission | None:
        """CHECKING → IN_REVIEW; the submission, or None when it was not CHECKING."""

    def record_outcome(
        self,
        submission_id: str,
        *,
        status: str,
        decision: str,
        reason: str | None,
        decided_by: str,
        decided_at: str,
        category: str | None = None,
        appeal_outcome: str | None = None,
    ) -> Submission | None:
        """Write the final outcome (idempotent); the submission with its subscribers, or None if it is gone.

        ``appeal_outcome`` also marks its appeal ``overturned`` or ``upheld``.
        """

    def start_appeal(self, submission_id: str, *, appeal: Appeal, token_hash: str) -> Submission | None:
        """Store the one appeal (token, no earlier appeal, the contested decision unchanged) → IN_REVIEW; else None."""

    def cancel_appeal(self, submission_id: str, *, appeal: Appeal) -> None:
        """Undo that appeal (its execution never started): back to the contested status."""

    def mark_sent(self, submission_id: str, *, channel: str, outcome: str) -> bool:
        """Claim the one message of ``channel`` for ``outcome``; False when it was already claimed (sent once)."""

    def unmark_sent(self, submission_id: str, *, channel: str, outcome: str) -> None:
        """Give the claim back after a message that could not be sent, so a retried task may send it."""


class ReviewStore(Protocol):
    def put_pending(self, review: Review) -> bool:
        """Store a pending review (a retry rewrites it); False when it exists and is no longer pending."""

    def get(self, review_id: str) -> Review | None: ...

    def list_pending(self, *, limit: int, page_token: str | None, order: str) -> tuple[list[Review], str | None]:
        """One page of pending reviews by ``order`` (``domain.review.PENDING_ORDERS``); the next page's token."""

    def list_decided(
        self, *, status: str, limit: int, page_token: str | None, newest_first: bool
    ) -> tuple[list[Review], str | None]: ...

    def claim_decision(
        self,
        review_id: str,
        *,
        decision: str,
        reason: str | None,
        decided_by: str,
        decided_at: str,
        claim_id: str,
        now: int,
        category: str | None = None,
    ) -> Review | None:
        """Atomically move a pending, unexpired review to ``decision`` (with a rejection's ``category``); None if another write won."""

    def renew_abandoned_claim(self, review: Review, *, now: int) -> Review | None:
        """Extend the lease of a dead request's claim; None when another request renewed it first."""

    def finish_decision(self, review_id: str) -> None:
        """The execution accepted the decision: clear ``callbackPending`` (never creates an item)."""

    def release_decision(self, review_id: str, *, claim_id: str, task_token: str) -> None:
        """Roll our own claim back to PENDING after a refused callback (while it still holds ``task_token``)."""

    def mark_reminded(self, review_id: str, *, at: str) -> Review | None:
        """Mark a pending review as announced due soon (again for the same ``at``); None when not pending."""

    def renew_task_token(self, review_id: str, *, task_token: str) -> Review | None:
        """The next wait's token, written while pending or while a claim's callback is pending; else None."""

    def record_final(
        self, review_id: str, *, decision: str, reason: str | None, decided_by: str, decided_at: str
    ) -> Review | None:
        """Write an expiry or failure onto the review; None when the execution had no review."""

    def oldest_pending(self) -> Review | None:
        """The pending review created first (one Query, one item), or None when none is pending."""

    def count_pending(self) -> int:
        """How many reviews are pending (a count on the pending index, never a Scan)."""


class ReviewHoldStore(Protocol):
    """A reviewer's claim on a review while reading it (SPEC §14), a *hold*: not the decision lease above."""

    def hold(self, review_id: str, *, reviewer: str, now: int, until: int) -> Review | None:
        """Hold (or renew) a pending, unexpired review not held by another; the review as it was before, or None."""

    def release_hold(self, review_id: str, *, holder: str | None, now: int) -> Review | None:
        """Remove a live hold (``holder``'s, or anyone's when None); the review as it was, or None when none was."""


class HistoryStore(Protocol):
    def append(self, submission_id: str, event: str, *, at: str, key: str = "", **fields: Any) -> bool:
        """Record an event once (a retried step adds no duplicate); never raises.

        True only when this call wrote it: False for a duplicate, and for a write that failed.
        What counts events (``/stats``, metrics) counts only on True, so a retry never counts twice.
        """

    def events(self, submission_id: str) -> list[HistoryEvent]:
        """Every event of a submission, oldest first."""


class ConnectionStore(Protocol):
    def add(self, connection: Connection, *, now: float) -> None: ...

    def record_subscription(self, connection: Connection, submission_id: str, *, now: float) -> None: ...

    def watch_reviews(self, connection: Connection, *, reviewer: str, now: float) -> None: ...

    def review_watchers(self) -> list[tuple[Connection, str]]: ...

    def get_many(self, connection_ids: Iterable[str]) -> list[Connection]: ...

    def remove(self, connection_id: str) -> list[str]:
        """Delete a connection and its subscriptions; the submissions it followed."""


class WorkflowEngine(Protocol):
    def execution_arn_for(self, name: str) -> str: ...

    def start(self, *, name: str, payload: dict[str, Any]) -> str:
        """Start an execution; its ARN. Raises UnavailableError / OutcomeUnknownError."""

    def execution_status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, …, or None when there is no such execution."""

    def send_decision(self, task_token: str, output: dict[str, Any]) -> None:
        """Resume a waiting execution. Raises TaskTokenGoneError, OutcomeUnknownError, UnavailableError."""


class Notifications(Protocol):
    def send(self, connection: Connection, message: dict[str, Any]) -> bool: ...

    def publish_status(self, submission: Submission) -> int: ...

    def publish_review_event(self, event: str, review: Review) -> int: ...

    def publish_decision(self, submission: Submission) -> int: ...


class StatsStore(Protocol):
    def add(self, period: str, counters: Mapping[str, int]) -> None:
        """Atomically add each counter to the period's item (created on the first add)."""

    def read(self, periods: list[str]) -> dict[str, dict[str, int]]:
        """The counters of each period that has any (one batched read)."""


class LimitStore(Protocol):
    def take(self, key: str, *, limit: int, expires_at: int) -> bool:
        """Atomically add one to ``key``'s counter unless it reached ``limit`` (False then).

        Raises LimiterUnavailable when the count could not be written.
        """


class ClientStore(Protocol):
    def create(self, name: str, *, created_by: str) -> tuple[Client, str]:
        """Store a new client and a fresh token (returned once); AlreadyExistsError when the name is taken."""

    def list(self) -> list[Client]: ...

    def delete(self, name: str) -> None:
        """Revoke the client's token at once; NotFoundError for an unknown name."""

    def identify(self, token: str) -> str | None:
        """The client a token belongs to, or None (revocation is immediate)."""


class Metrics(Protocol):
    def emit(
        self, name: str, value: float, *, unit: str = "Count", dimensions: Mapping[str, str] | None = None
    ) -> None:
        """Publish one value of a metric (CloudWatch EMF on stdout; a list in the tests)."""


class RiskScorer(Protocol):
    def assess(self, title: str, body: str, *, submission_id: str | None = None) -> RiskAssessment:
        """Score an article; an error assessment (never an exception) when no score could be had."""


class TextMessages(Protocol):
    """SMS to a submitter (SNS in production). Appeal outcomes and per-recipient caps plug in here:
    a cap wraps a sender and refuses by ``to``, without the use case knowing."""

    def send(self, *, to: str, text: str, submission_id: str) -> str:
        """Send one message to the E.164 number ``to``; return its message id. Raises TextMessageNotSent."""
