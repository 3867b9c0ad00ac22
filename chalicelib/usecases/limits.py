"""Limits: fixed-window counters over the limits table, for submission rates and, later, recipient caps."""

from __future__ import annotations

from chalicelib.clock import Clock
from chalicelib.domain.limits import Verdict, window_at
from chalicelib.domain.ports import LimitStore


class FixedWindowLimiter:
    """Lets through at most ``limit`` takes per subject and window (``0``: no limit, nothing is written).

    Raises LimiterUnavailable (from the store) when the count could not be kept.
    """

    def __init__(self, *, store: LimitStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def take(self, scope: str, subject: str, *, limit: int, window_seconds: int) -> Verdict:
        if limit <= 0:
            return Verdict(allowed=True)
        now = self._clock()
        window = window_at(now, window_seconds)
        allowed = self._store.take(window.counter_key(scope, subject), limit=limit, expires_at=window.expires_at())
        return Verdict(allowed=True) if allowed else Verdict(allowed=False, retry_after=window.retry_after(now))
