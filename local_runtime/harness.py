"""What the tests and the benchmarks share to drive the runtime from outside: one poller, free ports.

The runtime itself uses neither; they live here, next to what they drive, so that ``tests/`` and
``bench/`` import one copy (``chalicelib/``, which ships to Lambda, never imports this).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

from local_runtime.settings import LOOPBACK

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


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports nobody listens on right now (the OS picks them, all probes held at once).

    Free a moment ago: whoever binds them next (a runtime started right after) may in principle race
    another process for one.
    """
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((host, 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
