"""In-memory fakes of the stores, the workflow and the notifier, and a fake clock, for unit tests.

Each fake keeps the same rules as the real class it stands for (the conditions of the DynamoDB
writes, Step Functions' answers) in plain Python, and records the calls made to it, so a test
asserts on what the code under test asked for rather than patching it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.clock import iso
from chalicelib.domain.appeal import Appeal
from chalicelib.domain.clients import Client, new_client_token
from chalicelib.domain.connection import Connection
from chalicelib.domain.history import FORBIDDEN_FIELDS, HistoryEvent
from chalicelib.domain.review import CLAIM_LEASE_SECONDS, REVIEW_STATUS_BY_DECISION, Review, ReviewStatus
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.domain.team import token_hash
from chalicelib.errors import AlreadyExistsError, NotFoundError, TaskTokenGoneError
from chalicelib.web.presenters import present_review

if TYPE_CHECKING:
    from chalicelib.usecases.stats import CountEvents

START_TIME = 1_800_000_000.0  # 2027-01-15T08:00:00Z: any fixed moment will do


class FakeClock:
    """A clock that only moves when the test moves it."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """Remembers every call as (method name, arguments)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _record(self, method: str, **arguments: Any) -> None:
        self.calls.append((method, arguments))

    def called(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of ``method``, in order."""
        return [arguments for name, arguments in self.calls if name == method]


class InMemorySubmissions(Recorder):
    """SubmissionStore's contract over a dict."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.items: dict[str, Submission] = {}
        # (submission id, channel) -> the outcome its message was sent for
        self.sent: dict[tuple[str, str], str] = {}

    def mark_sent(self, submission_id: str, *, channel: str, outcome: str) -> bool:
        self._record("mark_sent", submission_id=submission_id, channel=channel, outcome=outcome)
        if submission_id not in self.items or self.sent.get((submission_id, channel)) == outcome:
            return False
        self.sent[(submission_id, channel)] = outcome
        return True

    def unmark_sent(self, submission_id: str, *, channel: str, outcome: str) -> None:
        self._record("unmark_sent", submission_id=submission_id, channel=channel, outcome=outcome)
        if self.sent.get((submission_id, channel)) == outcome:
            del self.sent[(submission_id, channel)]

    def create(self, submission: Submission) -> bool:
        self._record("create", submission=submission)
        if submission.submission_id in self.items:
            return False
        self.items[submission.submission_id] = submission
        return True

    def get(self, submission_id: str) -> Submission | None:
        self._record("get", submission_id=submission_id)
        return self.items.get(submission_id)

    def delete(self, submission_id: str) -> None:
        self._record("delete", submission_id=submission_id)
        self.items.pop(submission_id, None)

    def add_subscriber(self, submission_id: str, connection_id: str) -> Submission | None:
        self._record("add_subscriber", submission_id=submission_id, connection_id=connection_id)
        submission = self.items.get(submission_id)
        if submission is None:
            return None
        submission = replace(submission, subscribers=submission.subscribers | {connection_id})
        self.items[submission_id] = submission
        return submission

    def remove_subscriber(self, submission_id: str, connection_id: str) -> None:
        self._record("remove_subscriber", submission_id=submission_id, connection_id=connection_id)
        submission = self.items.get(submission_id)
        if submission is not None:
            self.items[submission_id] = replace(submission, subscribers=submission.subscribers - {connection_id})

    def mark_in_review(self, submission_id: str) -> Submission | None:
        self._record("mark_in_review", submission_id=submission_id)
        submission = self.items.get(submission_id)
        if submission is None or submission.status != SubmissionStatus.CHECKING:
            return None
        submission = replace(submission, status=SubmissionStatus.IN_REVIEW)
        self.items[submission_id] = submission
        return submission

    def start_appeal(self, submission_id: str, *, appeal: Appeal, token_hash: str) -> Submission | None:
        self._record("start_appeal", submission_id=submission_id, appeal=appeal)
        with self._lock:
            submission = self.items.get(submission_id)
            if (
                submission is None
                or submission.submitter_token_hash != token_hash
                or submission.appeal is not None
                or submission.status != appeal.original_status
                or submission.decided_at != appeal.original_decided_at
            ):
                return None
            submission = replace(submission, status=SubmissionStatus.IN_REVIEW, appeal=appeal)
            self.items[submission_id] = submission
            return submission

    def cancel_appeal(self, submission_id: str, *, appeal: Appeal) -> None:
        self._record("cancel_appeal", submission_id=submission_id, appeal=appeal)
        submission = self.items.get(submission_id)
        if (
            submission is not None
            and submission.appeal is not None
            and submission.appeal.appeal_id == appeal.appeal_id
            and submission.status == SubmissionStatus.IN_REVIEW
        ):
            self.items[submission_id] = replace(submission, status=appeal.original_status, appeal=None)

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
        self._record(
            "record_outcome",
            submission_id=submission_id,
            status=status,
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
            category=category,
            appeal_outcome=appeal_outcome,
        )
        submission = self.items.get(submission_id)
        if submission is None or (appeal_outcome is not None and submission.appeal is None):
            return None
        submission = replace(
            submission,
            status=status,
            decision=decision,
            reason=reason or None,
            decided_by=decided_by,
            decided_at=decided_at,
            category=category or None,
            appeal=submission.appeal.decided(appeal_outcome)
            if submission.appeal is not None and appeal_outcome is not None
            else submission.appeal,
        )
        self.items[submission_id] = submission
        return submission


class InMemoryReviews(Recorder):
    """ReviewStore's contract over a dict: the same conditions as its conditional writes."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, Review] = {}

    def put_pending(self, review: Review) -> bool:
        self._record("put_pending", review=review)
        existing = self.items.get(review.review_id)
        if existing is not None and existing.status != ReviewStatus.PENDING:
            return False
        self.items[review.review_id] = review
        return True

    def get(self, review_id: str) -> Review | None:
        self._record("get", review_id=review_id)
        return self.items.get(review_id)

    def list_pending(self, *, limit: int, page_token: str | None, order: str) -> tuple[list[Review], str | None]:
        sort_keys: dict[str, Callable[[Review], Any]] = {
            "risk": lambda review: (review.risk_rank, review.review_id),
            "deadline": lambda review: (review.deadline, review.review_id),
        }
        pending = sorted(
            (r for r in self.items.values() if r.status == ReviewStatus.PENDING),
            key=sort_keys.get(order, lambda review: (review.created_at, review.review_id)),
            reverse=order not in ("oldest", "deadline"),
        )
        return _page(pending, limit=limit, page_token=page_token)

    def oldest_pending(self) -> Review | None:
        pending, _next = self.list_pending(limit=1, page_token=None, order="oldest")
        return pending[0] if pending else None

    def count_pending(self) -> int:
        return sum(1 for review in self.items.values() if review.status == ReviewStatus.PENDING)

    def list_decided(
        self, *, status: str, limit: int, page_token: str | None, newest_first: bool
    ) -> tuple[list[Review], str | None]:
        decided = sorted(
            (r for r in self.items.values() if r.decided_at and (status == "decided" or r.decision == status)),
            key=lambda review: (review.decided_at or "", review.review_id),
            reverse=newest_first,
        )
        return _page(decided, limit=limit, page_token=page_token)

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
        self._record(
            "claim_decision",
            review_id=review_id,
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
            claim_id=claim_id,
            now=now,
            category=category,
        )
        review = self.items.get(review_id)
        if (
            review is None
            or review.status != ReviewStatus.PENDING
            or review.deadline <= now
            or review.excluded_decider == decided_by
        ):
            return None
        if review.held_against(decided_by, now) is not None:
            return None
        review = replace(
            review,
            held_by=None,
            hold_expires_at=None,
            status=REVIEW_STATUS_BY_DECISION[decision],
            decision=decision,
            reason=reason or review.reason,
            category=category,
            decided_by=decided_by,
            decided_at=decided_at,
            callback_pending=True,
            claim_id=claim_id,
            claim_expires_at=now + CLAIM_LEASE_SECONDS,
        )
        self.items[review_id] = review
        return review

    def renew_abandoned_claim(self, review: Review, *, now: int) -> Review | None:
        self._record("renew_abandoned_claim", review_id=review.review_id, now=now)
        stored = self.items.get(review.review_id)
        if (
            stored is None
            or not stored.callback_pending
            or stored.claim_expires_at != review.claim_expires_at
            or (stored.claim_expires_at or 0) > now
        ):
            return None
        stored = replace(stored, claim_expires_at=now + CLAIM_LEASE_SECONDS)
        self.items[review.review_id] = stored
        return stored

    def finish_decision(self, review_id: str) -> None:
        self._record("finish_decision", review_id=review_id)
        review = self.items.get(review_id)
        if review is not None and review.callback_pending:
            self.items[review_id] = replace(review, callback_pending=False)

    def release_decision(self, review_id: str, *, claim_id: str, task_token: str) -> None:
        self._record("release_decision", review_id=review_id, claim_id=claim_id)
        review = self.items.get(review_id)
        if (
            review is not None
            and review.claim_id == claim_id
            and review.callback_pending
            and review.task_token == task_token
        ):
            self.items[review_id] = replace(
                review,
                status=ReviewStatus.PENDING,
                decision=None,
                reason=None,
                category=None,
                decided_by=None,
                decided_at=None,
                callback_pending=False,
                claim_id=None,
                claim_expires_at=None,
            )

    def mark_reminded(self, review_id: str, *, at: str) -> Review | None:
        self._record("mark_reminded", review_id=review_id, at=at)
        review = self.items.get(review_id)
        if review is None or review.status != ReviewStatus.PENDING or review.reminded_at not in (None, at):
            return None
        review = replace(review, reminded_at=at)
        self.items[review_id] = review
        return review

    def renew_task_token(self, review_id: str, *, task_token: str) -> Review | None:
        self._record("renew_task_token", review_id=review_id)
        review = self.items.get(review_id)
        if review is None or (review.status != ReviewStatus.PENDING and not review.callback_pending):
            return None
        review = replace(review, task_token=task_token)
        self.items[review_id] = review
        return review

    def record_final(
        self, review_id: str, *, decision: str, reason: str | None, decided_by: str, decided_at: str
    ) -> Review | None:
        self._record(
            "record_final",
            review_id=review_id,
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
        )
        review = self.items.get(review_id)
        if review is None:
            return None
        review = replace(
            review,
            status=REVIEW_STATUS_BY_DECISION[decision],
            decision=decision,
            reason=reason or review.reason,
            decided_by=decided_by,
            decided_at=decided_at,
            callback_pending=False,
            held_by=None,
            hold_expires_at=None,
        )
        self.items[review_id] = review
        return review

    # ReviewHoldStore: a reviewer's claim while reading (SPEC §14), on the same items.

    def hold(self, review_id: str, *, reviewer: str, now: int, until: int) -> Review | None:
        self._record("hold", review_id=review_id, reviewer=reviewer, now=now, until=until)
        review = self.items.get(review_id)
        if review is None or review.status != ReviewStatus.PENDING or review.deadline <= now:
            return None
        if review.excluded_decider == reviewer or review.held_against(reviewer, now) is not None:
            return None
        self.items[review_id] = review.with_hold(reviewer, until)
        return review

    def release_hold(self, review_id: str, *, holder: str | None, now: int) -> Review | None:
        self._record("release_hold", review_id=review_id, holder=holder, now=now)
        review = self.items.get(review_id)
        if review is None or review.held_by is None or (review.hold_expires_at or 0) <= now:
            return None
        if holder is not None and review.held_by != holder:
            return None
        self.items[review_id] = review.with_hold(None, None)
        return review


def _page(reviews: list[Review], *, limit: int, page_token: str | None) -> tuple[list[Review], str | None]:
    """One page and the token of the next (an offset here; the real store's is DynamoDB's LastEvaluatedKey)."""
    start = int(page_token) if page_token else 0
    page = reviews[start : start + limit]
    return page, str(start + limit) if start + limit < len(reviews) else None


class InMemoryHistory(Recorder):
    """The history's contract: the same event (time, kind, key) is kept once, never a token or an address."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict[str, HistoryEvent]] = {}
        self._lock = threading.Lock()

    def append(self, submission_id: str, event: str, *, at: str, key: str = "", **fields: Any) -> bool:
        self._record("append", submission_id=submission_id, event=event, at=at, key=key, **fields)
        kept = {name: value for name, value in fields.items() if value is not None and name not in FORBIDDEN_FIELDS}
        with self._lock:  # check-and-set, like the store's conditional write, under concurrent callers
            events = self.items.setdefault(submission_id, {})
            if f"{at}#{event}#{key}" in events:
                return False
            events[f"{at}#{event}#{key}"] = HistoryEvent(at, event, kept)
            return True

    def events(self, submission_id: str) -> list[HistoryEvent]:
        return [event for _id, event in sorted(self.items.get(submission_id, {}).items())]

    def kinds(self, submission_id: str) -> list[str]:
        """The kinds of event appended for a submission, in the order they were appended."""
        return [call["event"] for call in self.called("append") if call["submission_id"] == submission_id]


class RecordingWorkflow(Recorder):
    """Step Functions as StepFunctionsWorkflow sees it: executions by name, one use per task token.

    ``start_errors`` and ``send_errors`` are raised, one per call, before anything happens
    (put an error there to make the next call fail).
    """

    STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:moderation"

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, str] = {}
        self.used_tokens: set[str] = set()
        self.start_errors: list[Exception] = []
        self.send_errors: list[Exception] = []

    def execution_arn_for(self, name: str) -> str:
        return f"arn:aws:states:us-east-1:123456789012:execution:moderation:{name}"

    def start(self, *, name: str, payload: dict[str, Any]) -> str:
        self._record("start", name=name, payload=payload)
        if self.start_errors:
            raise self.start_errors.pop(0)
        execution_arn = self.execution_arn_for(name)
        self.statuses.setdefault(execution_arn, "RUNNING")
        return execution_arn

    def execution_status(self, execution_arn: str) -> str | None:
        self._record("execution_status", execution_arn=execution_arn)
        return self.statuses.get(execution_arn)

    def send_decision(self, task_token: str, output: dict[str, Any]) -> None:
        self._record("send_decision", task_token=task_token, output=output)
        if self.send_errors:
            raise self.send_errors.pop(0)
        if task_token in self.used_tokens:
            raise TaskTokenGoneError("TaskTimedOut")  # what AWS answers for a used token
        self.used_tokens.add(task_token)


class RecordingNotifier(Recorder):
    """Notifier's publishing side: records each message; every subscriber receives it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, connection: Connection, message: dict[str, Any]) -> bool:
        self._record("send", connection=connection, message=message)
        self.sent.append((connection.connection_id, message))
        return True

    def sent_to(self, connection_id: str) -> list[dict[str, Any]]:
        return [message for receiver, message in self.sent if receiver == connection_id]

    def publish_status(self, submission: Submission) -> int:
        self._record("publish_status", submission=submission)
        return len(submission.subscribers)

    def publish_review_event(self, event: str, review: Review) -> int:
        self._record("publish_review_event", event=event, review=present_review(review))
        return 0

    def publish_decision(self, submission: Submission) -> int:
        self._record("publish_decision", submission=submission)
        return len(submission.subscribers)


class InMemoryConnections(Recorder):
    """ConnectionStore's contract: a connection item, its subscriptions and a review watch, each with its expiry."""

    def __init__(self, *, ttl_seconds: int = 7200) -> None:
        super().__init__()
        self.ttl_seconds = ttl_seconds
        # (connection id, subscription) -> (connection, expiresAt, reviewer)
        self.items: dict[tuple[str, str], tuple[Connection, int, str | None]] = {}

    def add(self, connection: Connection, *, now: float) -> None:
        self._record("add", connection=connection, now=now)
        self.items[(connection.connection_id, "#connection")] = (connection, int(now) + self.ttl_seconds, None)

    def record_subscription(self, connection: Connection, submission_id: str, *, now: float) -> None:
        self._record("record_subscription", connection=connection, submission_id=submission_id, now=now)
        self.items[(connection.connection_id, submission_id)] = (connection, int(now) + self.ttl_seconds, None)

    def watch_reviews(self, connection: Connection, *, reviewer: str, now: float) -> None:
        self._record("watch_reviews", connection=connection, reviewer=reviewer, now=now)
        self.items[(connection.connection_id, "#reviews")] = (connection, int(now) + self.ttl_seconds, reviewer)

    def expires_at(self, connection_id: str, subscription: str = "#connection") -> int:
        return self.items[(connection_id, subscription)][1]

    def review_watchers(self) -> list[tuple[Connection, str]]:
        return [
            (connection, reviewer or "")
            for (_id, kind), (connection, _expires, reviewer) in self.items.items()
            if kind == "#reviews"
        ]

    def get_many(self, connection_ids: Any) -> list[Connection]:
        wanted = set(connection_ids)
        return sorted(
            (
                connection
                for (connection_id, kind), (connection, _e, _r) in self.items.items()
                if kind == "#connection" and connection_id in wanted
            ),
            key=lambda c: c.connection_id,
        )

    def remove(self, connection_id: str) -> list[str]:
        self._record("remove", connection_id=connection_id)
        removed = [kind for (owner, kind) in self.items if owner == connection_id]
        for kind in removed:
            del self.items[(connection_id, kind)]
        return [kind for kind in removed if kind not in ("#connection", "#reviews")]


class InMemoryStats:
    """StatsStore's contract over a dict: adds are atomic (a lock stands for DynamoDB's ADD)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def add(self, period: str, counters: Mapping[str, int]) -> None:
        with self._lock:
            item = self.items.setdefault(period, {})
            for name, value in counters.items():
                item[name] = item.get(name, 0) + value

    def read(self, periods: list[str]) -> dict[str, dict[str, int]]:
        with self._lock:
            return {period: dict(self.items[period]) for period in dict.fromkeys(periods) if period in self.items}


class InMemoryLimits:
    """LimitStore's contract over a dict: a take stops at the limit, atomically (a lock stands for the condition).

    ``failing`` makes every take raise LimiterUnavailable, as a throttled table would.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.expires: dict[str, int] = {}
        self.failing = False
        self._lock = threading.Lock()

    def take(self, key: str, *, limit: int, expires_at: int) -> bool:
        from chalicelib.errors import LimiterUnavailable

        if self.failing:
            raise LimiterUnavailable(
                "the limits table refused the counter write: ProvisionedThroughputExceededException"
            )
        with self._lock:
            if self.counts.get(key, 0) >= limit:
                return False
            self.counts[key] = self.counts.get(key, 0) + 1
            self.expires.setdefault(key, expires_at)
            return True


class InMemoryClients:
    """ClientStore's contract over dicts: names are unique, only token hashes are kept, revocation is immediate."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clients: dict[str, tuple[Client, str]] = {}
        self.tokens: dict[str, str] = {}
        self._clock = clock or FakeClock()

    def create(self, name: str, *, created_by: str) -> tuple[Client, str]:
        if name in self.clients:
            raise AlreadyExistsError(f"a client named {name} already exists")
        token = new_client_token()
        client = Client(name=name, created_at=iso(self._clock()), created_by=created_by)
        self.clients[name] = (client, token_hash(token))
        self.tokens[token_hash(token)] = name
        return client, token

    def list(self) -> list[Client]:
        return [client for _name, (client, _hash) in sorted(self.clients.items())]

    def delete(self, name: str) -> None:
        if name not in self.clients:
            raise NotFoundError(f"no client named {name}")
        _client, hashed = self.clients.pop(name)
        del self.tokens[hashed]

    def identify(self, token: str) -> str | None:
        return self.tokens.get(token_hash(token))


def counting(stats: InMemoryStats | None = None, metrics: RecordingMetrics | None = None) -> CountEvents:
    """What counts events for /stats and metrics, over in-memory fakes (pass them to look at what was counted)."""
    from chalicelib.usecases.stats import CountEvents

    return CountEvents(stats_store=stats or InMemoryStats(), metrics=metrics or RecordingMetrics())


class RecordingMetrics:
    """The EMF emitter writing into a list: each line is what Lambda would print (the tests parse them)."""

    def __init__(self, stage: str = "test") -> None:
        from chalicelib.metrics import EmbeddedMetrics

        self.lines: list[str] = []
        self._emitter = EmbeddedMetrics(stage=stage, write=self.lines.append)

    def emit(
        self, name: str, value: float, *, unit: str = "Count", dimensions: Mapping[str, str] | None = None
    ) -> None:
        self._emitter.emit(name, value, unit=unit, dimensions=dimensions)

    def values(self, name: str) -> list[float]:
        """Every value emitted for metric ``name``, in order."""
        import json

        return [document[name] for document in map(json.loads, self.lines) if name in document]


class RecordingTextMessages(Recorder):
    """TextMessages over a list: each SMS ``sent``; ``refuse_with`` makes the next sends fail as SNS would."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []
        self.refuse_with: str | None = None

    def send(self, *, to: str, text: str, submission_id: str) -> str:
        from chalicelib.errors import TextMessageNotSent

        self._record("send", to=to, text=text, submission_id=submission_id)
        if self.refuse_with is not None:
            raise TextMessageNotSent(self.refuse_with)
        self.sent.append((to, text))
        return f"message-{len(self.sent)}"


if TYPE_CHECKING:
    # mypy (strict, in `make test`) checks each fake against the port it stands for: a port that
    # changes without its fake, or a fake that drifts from its port, fails type-checking.
    from chalicelib.domain import ports
    from chalicelib.metrics import EmbeddedMetrics

    _submissions: ports.SubmissionStore = InMemorySubmissions()
    _reviews: ports.ReviewStore = InMemoryReviews()
    _holds: ports.ReviewHoldStore = InMemoryReviews()
    _history: ports.HistoryStore = InMemoryHistory()
    _connections: ports.ConnectionStore = InMemoryConnections()
    _workflow: ports.WorkflowEngine = RecordingWorkflow()
    _notifier: ports.Notifications = RecordingNotifier()
    _stats: ports.StatsStore = InMemoryStats()
    _clients: ports.ClientStore = InMemoryClients()
    _limits: ports.LimitStore = InMemoryLimits()
    _metrics: ports.Metrics = RecordingMetrics()
    _emitter: ports.Metrics = EmbeddedMetrics(stage="test")
    _texts: ports.TextMessages = RecordingTextMessages()
