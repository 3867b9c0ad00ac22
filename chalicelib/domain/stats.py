"""The team's figures (``GET /stats``, SPEC §16): counters per UTC hour and day, and what they add up to.

Each event adds to counters of the period it happened in: the hour's item holds the outcome counts
and the time-to-decision histogram, the day's item each reviewer's decisions. ``last24h`` sums the
current UTC hour and the 23 before it (so it covers between 23 and 24 hours); ``byReviewer7d`` the
current UTC day and the 6 before it. Both are one batched read of at most 31 items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

HOURS_IN_LAST24H = 24
DAYS_BY_REVIEWER = 7
SUBMITTED = "submitted"
FLAGGED = "flagged"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"
APPEALED = "appealed"  # appeals made (SPEC §15)
OUTCOME_COUNTERS = (SUBMITTED, FLAGGED, APPROVED, REJECTED, EXPIRED, APPEALED)
# SPEC §18: submissions refused over a rate limit, and messages skipped past a recipient's cap.
RATE_LIMITED = "rateLimited"
NOTIFICATIONS_SKIPPED = "notificationsSkipped"
LAST24H_COUNTERS = (*OUTCOME_COUNTERS, RATE_LIMITED, NOTIFICATIONS_SKIPPED)
TIME_TO_DECISION_PREFIX = "ttd#"
REVIEWER_PREFIX = "reviewer#"
# Upper bounds (seconds) of the time-to-decision buckets, roughly doubling from a minute to the
# 7-day deadline; one last bucket holds anything longer. The median is read from these counters,
# interpolated linearly inside the bucket that holds it: it is exact to within that bucket's width
# (a median between 5 and 10 minutes is off by less than 5 minutes; past the last bound it reads as it).
TIME_TO_DECISION_BUCKETS = (
    30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800,
)  # fmt: skip


def hour_period(epoch_seconds: float) -> str:
    return "hour#" + datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H")


def day_period(epoch_seconds: float) -> str:
    return "day#" + datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%d")


def last24h_periods(now: float) -> list[str]:
    return [hour_period(now - hours * 3600) for hours in range(HOURS_IN_LAST24H)]


def last7d_periods(now: float) -> list[str]:
    start = datetime.fromtimestamp(now, tz=UTC)
    return ["day#" + (start - timedelta(days=days)).strftime("%Y-%m-%d") for days in range(DAYS_BY_REVIEWER)]


def time_to_decision_counter(seconds: float) -> str:
    """The histogram counter a decision that took ``seconds`` adds to (bucket index; past the last: the overflow)."""
    index = next(
        (index for index, bound in enumerate(TIME_TO_DECISION_BUCKETS) if seconds <= bound),
        len(TIME_TO_DECISION_BUCKETS),
    )
    return f"{TIME_TO_DECISION_PREFIX}{index:02d}"


def reviewer_counter(name: str) -> str:
    return REVIEWER_PREFIX + name


def median_from_histogram(counts: Mapping[int, int]) -> float | None:
    """The median of the values counted per bucket index, interpolated inside its bucket; None when empty."""
    total = sum(counts.values())
    if total == 0:
        return None
    middle = total / 2
    seen = 0
    for index in sorted(counts):
        if counts[index] == 0:
            continue
        lower = TIME_TO_DECISION_BUCKETS[index - 1] if index > 0 else 0
        if index >= len(TIME_TO_DECISION_BUCKETS):
            return float(lower)  # past the last bound: all we know is "longer than this"
        if seen + counts[index] >= middle:
            upper = TIME_TO_DECISION_BUCKETS[index]
            return round(lower + (upper - lower) * (middle - seen) / counts[index], 1)
        seen += counts[index]
    return None  # pragma: no cover - the loop returns once it reaches the middle


@dataclass(frozen=True)
class Stats:
    """What ``GET /stats`` answers."""

    pending: int
    oldest_pending_age_seconds: int | None
    last24h: dict[str, int]
    median_time_to_decision_seconds_24h: float | None
    by_reviewer_7d: list[tuple[str, int]] = field(default_factory=list)


def summarise(
    *,
    hours: Iterable[Mapping[str, int]],
    days: Iterable[Mapping[str, int]],
    pending: int,
    oldest_pending_age_seconds: int | None,
) -> Stats:
    """Add up the hours' and days' counters into the figures."""
    last24h = dict.fromkeys(LAST24H_COUNTERS, 0)
    histogram: dict[int, int] = {}
    for counters in hours:
        for name, value in counters.items():
            if name in last24h:
                last24h[name] += value
            elif name.startswith(TIME_TO_DECISION_PREFIX):
                index = int(name.removeprefix(TIME_TO_DECISION_PREFIX))
                histogram[index] = histogram.get(index, 0) + value
    by_reviewer: dict[str, int] = {}
    for counters in days:
        for name, value in counters.items():
            if name.startswith(REVIEWER_PREFIX):
                reviewer = name.removeprefix(REVIEWER_PREFIX)
                by_reviewer[reviewer] = by_reviewer.get(reviewer, 0) + value
    return Stats(
        pending=pending,
        oldest_pending_age_seconds=oldest_pending_age_seconds,
        last24h=last24h,
        median_time_to_decision_seconds_24h=median_from_histogram(histogram),
        by_reviewer_7d=sorted(by_reviewer.items(), key=lambda item: (-item[1], item[0])),
    )
