"""What the tests and the benchmarks share to drive the runtime from outside: one poller.

The runtime itself does not use it; it lives here, next to what it drives, so that ``tests/`` and
``bench/`` import one copy (``chalicelib/``, which ships to Lambda, never imports this).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float, interval: float = 0.05) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return that.

    Once ``timeout`` seconds have passed, return its last (falsy) result instead: the caller decides
    whether that is an error (:func:`wait_for` raises).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def wait_for(
    predicate: Callable[[], T | None],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    error: type[Exception] = AssertionError,
) -> T:
    """:func:`wait_until`, raising ``error`` if ``predicate`` returned nothing truthy within ``timeout`` seconds."""
    result = wait_until(predicate, timeout=timeout, interval=interval)
    if not result:
        raise error(f"condition not met within {timeout}s")
    return result
