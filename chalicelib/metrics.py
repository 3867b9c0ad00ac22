"""CloudWatch metrics in Embedded Metric Format: one JSON object a line, straight to stdout (SPEC §16).

CloudWatch Logs turns each such line of a Lambda's output into metric values, with no API call
and no dependency; locally the same lines appear in the runtime's output. Lines go to stdout,
not through ``logging``, whose handlers prefix them on Lambda (then they would not parse as EMF).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping

NAMESPACE = "ContentModeration"
# The metric names of SPEC §16.
SUBMISSIONS = "Submissions"
FLAGGED = "Flagged"
DECISIONS = "Decisions"
EXPIRED = "Expired"
TIME_TO_DECISION = "TimeToDecision"
RISK_SCORE = "RiskScore"
RISK_CHECK_ERRORS = "RiskCheckErrors"
DELIVERY_FAILURES = "DeliveryFailures"
# SPEC §18: submissions refused with 429, and messages skipped past a recipient's daily cap.
RATE_LIMITED = "RateLimited"
NOTIFICATIONS_SKIPPED = "NotificationsSkipped"
APPEALS = "Appeals"
OLDEST_PENDING_AGE = "OldestPendingAgeSeconds"

COUNT = "Count"
SECONDS = "Seconds"
NONE = "None"

_write_lock = threading.Lock()


def _stdout_line(line: str) -> None:
    with _write_lock:  # one whole line at a time, whatever thread emits it
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class EmbeddedMetrics:
    """Writes each value as an EMF object under ``Stage`` (``ports.Metrics``).

    A metric with extra dimensions is also published without them (two dimension sets), so an
    alarm or a graph can read the stage's total as well as, say, each channel.
    """

    def __init__(
        self,
        *,
        stage: str,
        write: Callable[[str], None] = _stdout_line,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stage = stage
        self._write = write
        self._clock = clock

    def emit(self, name: str, value: float, *, unit: str = COUNT, dimensions: Mapping[str, str] | None = None) -> None:
        extra = dict(dimensions or {})
        dimension_sets = [["Stage"]] + ([["Stage", *extra]] if extra else [])
        document = {
            "_aws": {
                "Timestamp": int(self._clock() * 1000),
                "CloudWatchMetrics": [
                    {"Namespace": NAMESPACE, "Dimensions": dimension_sets, "Metrics": [{"Name": name, "Unit": unit}]}
                ],
            },
            "Stage": self._stage,
            **extra,
            name: value,
        }
        self._write(json.dumps(document, separators=(",", ":")))


class NoMetrics:
    """Emits nothing (compositions that do not measure, e.g. unit tests about something else)."""

    def emit(self, name: str, value: float, *, unit: str = COUNT, dimensions: Mapping[str, str] | None = None) -> None:
        return None
