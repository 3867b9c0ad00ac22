"""Time helpers: one injectable clock and one timestamp format.

Deadlines, claim leases, connection TTLs and link expiry read the clock they are given, so their
tests move a fake clock instead of sleeping. The review deadline itself is a Step Functions
timeout (``statemachine.json``), measured by the interpreter, not by this module: the local
runtime and the tests advance the interpreter's clock (``local_runtime/interpreter_clock.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
system_clock: Clock = time.time


def iso(epoch_seconds: float) -> str:
    """UTC ISO-8601 with milliseconds; fixed width, so strings sort in time order."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601 timestamp such as Step Functions' ``$$.State.EnteredTime``."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
