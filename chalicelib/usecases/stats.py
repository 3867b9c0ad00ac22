"""What the team and the operators see of the events: counters for ``GET /stats`` and CloudWatch metrics.

:class:`CountEvents` is told of an event only after its audit-trail entry was newly written (the
history append is conditional on the event's id), so a retried task or a redelivered step never
counts twice; :class:`ReadStats` adds the counters up; :class:`PublishQueueAge` is the scheduled
measure the "oldest pending review" alarm watches.
"""

from __future__ import annotations

import logging

from chalicelib import metrics
from chalicelib.clock import Clock, parse_iso
from chalicelib.domain import stats
from chalicelib.domain.ports import Metrics, ReviewStore, StatsStore
from chalicelib.domain.review import Decision
from chalicelib.domain.risk import RiskAssessment
from chalicelib.log import log_event

logger = logging.getLogger(__name__)

_OUTCOME_COUNTER: dict[str, str] = {Decision.APPROVED: stats.APPROVED, Decision.REJECTED: stats.REJECTED}


class CountEvents:
    """Adds each newly recorded event to the stats counters and emits its metrics."""

    def __init__(self, *, stats_store: StatsStore, metrics: Metrics) -> None:
        self._stats = stats_store
        self._metrics = metrics

    def submitted(self, at: str) -> None:
        self._add(at, {stats.SUBMITTED: 1})
        self._metrics.emit(metrics.SUBMISSIONS, 1)

    def checked(self, at: str, *, flagged: bool, risk: RiskAssessment | None) -> None:
        """``flagged``: the check did not publish it (a listed word, or a score for a human or a refusal)."""
        if flagged:
            self._add(at, {stats.FLAGGED: 1})
            self._metrics.emit(metrics.FLAGGED, 1)
        if risk is not None and risk.error is not None:
            self._metrics.emit(metrics.RISK_CHECK_ERRORS, 1)
        elif risk is not None and risk.score is not None:
            self._metrics.emit(metrics.RISK_SCORE, risk.score, unit=metrics.NONE)

    def decided(self, at: str, *, decision: str, decided_by: str, review_created_at: str | None = None) -> None:
        """An approval or refusal; ``review_created_at`` for a person's decision (its time to decision counts)."""
        counters = {_OUTCOME_COUNTER[decision]: 1} if decision in _OUTCOME_COUNTER else {}
        seconds = max(0.0, parse_iso(at) - parse_iso(review_created_at)) if review_created_at else None
        if seconds is not None:
            counters[stats.time_to_decision_counter(seconds)] = 1
        self._add(at, counters)
        if seconds is not None:
            self._stats.add(stats.day_period(parse_iso(at)), {stats.reviewer_counter(decided_by): 1})
            self._metrics.emit(metrics.TIME_TO_DECISION, round(seconds, 3), unit=metrics.SECONDS)
        self._metrics.emit(metrics.DECISIONS, 1, dimensions={"Decision": decision})

    def expired(self, at: str) -> None:
        self._add(at, {stats.EXPIRED: 1})
        self._metrics.emit(metrics.EXPIRED, 1)

    def appealed(self, at: str) -> None:
        self._add(at, {stats.APPEALED: 1})
        self._metrics.emit(metrics.APPEALS, 1)

    def delivery_failed(self, channel: str) -> None:
        self._metrics.emit(metrics.DELIVERY_FAILURES, 1, dimensions={"Channel": channel})

    def notification_skipped(self, at: str, *, channel: str) -> None:
        """A message not sent because its recipient, or the stage (texts), reached the day's cap (SPEC §18)."""
        self._add(at, {stats.NOTIFICATIONS_SKIPPED: 1})
        self._metrics.emit(metrics.NOTIFICATIONS_SKIPPED, 1, dimensions={"Channel": channel})

    def rate_limited(self, at: str, *, caller: str) -> None:
        """A submission refused with 429 (``caller``: ``anonymous`` or ``client``)."""
        self._add(at, {stats.RATE_LIMITED: 1})
        self._metrics.emit(metrics.RATE_LIMITED, 1, dimensions={"Caller": caller})

    def _add(self, at: str, counters: dict[str, int]) -> None:
        """Counting must never fail the step it counts: a failed write is logged, not raised."""
        if not counters:
            return
        try:
            self._stats.add(stats.hour_period(parse_iso(at)), counters)
        except Exception as error:  # botocore's errors, or anything a transient failure raises
            log_event(logger, "stats.write_failed", level=logging.ERROR, counters=sorted(counters), error=repr(error))


class ReadStats:
    """``GET /stats``: the counters of the last 24 hours and 7 days, and the queue as it is now."""

    def __init__(self, *, stats_store: StatsStore, reviews: ReviewStore, clock: Clock) -> None:
        self._stats = stats_store
        self._reviews = reviews
        self._clock = clock

    def read(self) -> stats.Stats:
        now = self._clock()
        hours, days = stats.last24h_periods(now), stats.last7d_periods(now)
        counters = self._stats.read([*hours, *days])
        return stats.summarise(
            hours=[counters[period] for period in hours if period in counters],
            days=[counters[period] for period in days if period in counters],
            pending=self._reviews.count_pending(),
            oldest_pending_age_seconds=oldest_pending_age(self._reviews, now),
        )


class PublishQueueAge:
    """The scheduled task: emit ``OldestPendingAgeSeconds`` (0 when nothing waits) for the queue-age alarm."""

    def __init__(self, *, reviews: ReviewStore, metrics: Metrics, clock: Clock) -> None:
        self._reviews = reviews
        self._metrics = metrics
        self._clock = clock

    def publish(self) -> dict[str, int]:
        age = oldest_pending_age(self._reviews, self._clock()) or 0
        self._metrics.emit(metrics.OLDEST_PENDING_AGE, age, unit=metrics.SECONDS)
        return {"oldestPendingAgeSeconds": age}


def oldest_pending_age(reviews: ReviewStore, now: float) -> int | None:
    """Seconds since the oldest pending review was created (one Query, Limit 1); None when none is pending."""
    oldest = reviews.oldest_pending()
    return None if oldest is None else max(0, int(now - parse_iso(oldest.created_at)))
