"""Limits: fixed-window counters over the limits table, for submission rates and per-recipient caps."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from chalicelib.clock import Clock
from chalicelib.domain.limits import DAY, Verdict, recipient_digest, window_at
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


class RecipientCap:
    """At most ``max_per_day`` messages a UTC day to one recipient on one channel (``"email"``, ``"sms"``).

    Recipients are counted by their keyed hash (:func:`recipient_digest`), under a key derived from
    ``secret`` (the link-signing secret from the secrets store): the limits table holds no address
    or number. ``0`` switches the cap off. Raises LimiterUnavailable when the count cannot be kept.
    """

    SCOPE = "recipient"
    _KEY_PURPOSE = b"content-moderation recipient caps"

    def __init__(self, *, limiter: FixedWindowLimiter, secret: Callable[[], str], max_per_day: int) -> None:
        self._limiter = limiter
        self._secret = secret
        self._max_per_day = max_per_day

    def allows(self, channel: str, recipient: str) -> bool:
        """Count one message to ``recipient`` on ``channel``; False when the day's cap was already reached."""
        if self._max_per_day <= 0:
            return True
        # A key of its own, derived from the secret: a digest never doubles as a link signature.
        key = hmac.new(self._secret().encode(), self._KEY_PURPOSE, hashlib.sha256).digest()
        subject = recipient_digest(key, channel=channel, recipient=recipient)
        verdict = self._limiter.take(f"{self.SCOPE}#{channel}", subject, limit=self._max_per_day, window_seconds=DAY)
        return verdict.allowed


class StageDailyCap:
    """At most ``max_per_day`` messages a UTC day on one channel for the whole stage (SMS_MAX_PER_DAY for ``"sms"``).

    ``0`` switches it off. Raises LimiterUnavailable when the count cannot be kept (the caller fails closed).
    """

    SCOPE = "stage"
    _SUBJECT = "all"

    def __init__(self, *, limiter: FixedWindowLimiter, channel: str, max_per_day: int) -> None:
        self._limiter = limiter
        self._channel = channel
        self._max_per_day = max_per_day

    def allows(self) -> bool:
        """Count one message; False when the day's cap was already reached."""
        verdict = self._limiter.take(
            f"{self.SCOPE}#{self._channel}", self._SUBJECT, limit=self._max_per_day, window_seconds=DAY
        )
        return verdict.allowed
