"""Fixed-window limits (SPEC §18): which window a moment falls in, its counter's key, and when it ends.

A window is ``[start, start + seconds)`` with ``start`` a multiple of ``seconds`` since the epoch,
and each window has a counter of its own. At most ``limit`` are let through per window, so any 60 s
span, which overlaps at most two windows of a minute, lets through at most twice the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

# The reason a capped message names in its ``delivery_skipped`` event.
RECIPIENT_CAP = "recipient-cap"
# SMS_MAX_PER_DAY reached: no more text messages today from this stage, to anyone.
STAGE_CAP = "stage-cap"
MINUTE = 60
DAY = 24 * 3600
# A counter outlives its window by this much before DynamoDB's TTL may remove it (TTL deletion is
# lazy and the key names the window, so an old counter is never read again anyway).
COUNTER_TTL_MARGIN_SECONDS = 3600


@dataclass(frozen=True)
class Window:
    """The window a moment falls in."""

    start: int
    seconds: int

    @property
    def end(self) -> int:
        return self.start + self.seconds

    def counter_key(self, scope: str, subject: str) -> str:
        """``scope#subject#start``: one counter per scope (what is limited), subject (who) and window."""
        return f"{scope}#{subject}#{self.start}"

    def retry_after(self, now: float) -> int:
        """Whole seconds until the next window opens (at least 1: the ``Retry-After`` header)."""
        return max(1, math.ceil(self.end - now))

    def expires_at(self) -> int:
        """The epoch second the counter's item may be removed (its TTL attribute)."""
        return self.end + COUNTER_TTL_MARGIN_SECONDS


def window_at(now: float, seconds: int) -> Window:
    return Window(start=int(now // seconds) * seconds, seconds=seconds)


@dataclass(frozen=True)
class Verdict:
    """What a limiter decided: ``allowed``, else the seconds until the next window opens."""

    allowed: bool
    retry_after: int = 0


def recipient_digest(key: bytes, *, channel: str, recipient: str) -> str:
    """A keyed hash of a recipient (an address or a number): what the caps count, never the recipient itself.

    Case and surrounding spaces are ignored, so ``Bob@Example.org`` and ``bob@example.org`` share a
    cap. Keyed (HMAC-SHA256) rather than a plain hash: without the key, the table's digests cannot
    be matched against a list of guessed addresses.
    """
    message = f"{channel}:{recipient.strip().lower()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
