"""The clock the Step Functions interpreter measures task-token deadlines on: real, manual, or real and advanceable.

A ``waitForTaskToken`` task waits for its token with the state's ``TimeoutSeconds`` (moto's
``CallbackEndpoint.wait``; see ``stepfunctions_patches.wait_for_task_tokens_on_the_interpreter_clock``).
On the :class:`SystemClock` (the default) that wait is moto's own ``Event.wait(timeout)``. Tests
install a :class:`ManualClock`, on which time passes only when they :meth:`~ManualClock.advance`
it, so an expiry test never waits for a deadline in real time; the local runtime installs a
:class:`RealTimeClock`, which follows real time and can also be advanced (its AWS port's
``POST /_local/clock/advance``), so a developer sees a 7-day review expire without waiting a week.

Only the interpreter's task-token deadlines read this clock; the app's own clock (signed-link
``expires``, claim leases, the ``deadline`` a review shows) is real time, as on AWS.

Deadlines are absolute in clock time, fixed when the wait starts: a waiter that starts after an
advance counts its timeout from the advanced "now", as Step Functions counts from the moment
the task started. A test therefore waits until the task is waiting
(:meth:`ManualClock.wait_until_waiting`) before it advances past the deadline.

One exception makes a chain of waits behave like one deadline: a wait of an execution whose
previous wait timed out (the review's wait after its reminder, SPEC §14) counts from the moment
that wait timed out, as if the quick states between took no clock time (on AWS the reminder task
subtracts the real time they took). So one advance by the review timeout still expires a review
that waits past its reminder, exactly as it expires one that waits once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from weakref import WeakKeyDictionary

# How long ``wait_until_waiting`` waits for a task to start waiting before it gives up: a guard
# against a test hanging, never a deadline the test relies on.
WAIT_UNTIL_WAITING_TIMEOUT_SECONDS = 30.0


class InterpreterClock(Protocol):
    """What the interpreter's task-token wait needs from a clock."""

    def wait(self, event: threading.Event, timeout: float | None, *, chain: object | None = None) -> bool:
        """Block until ``event`` is set or ``timeout`` seconds of this clock pass; True if ``event`` was set first.

        On a timeout the clock may set ``event`` to wake the waiter (moto's own ``interrupt_all``
        sets it the same way): callers read their outcome, not the event. ``chain`` (the
        execution's callback pool) ties together the waits of one execution (see the module).
        """
        ...


class SystemClock:
    """Real time, exactly as moto waits: ``event.wait(timeout)``."""

    def wait(self, event: threading.Event, timeout: float | None, *, chain: object | None = None) -> bool:
        return event.wait(timeout)


@dataclass(eq=False)
class _Waiter:
    event: threading.Event
    deadline: float  # in clock seconds; math.inf for a wait without a timeout
    timed_out: bool = field(default=False)


class ManualClock:
    """A clock whose time passes only when :meth:`advance` is called: deadlines never pass in real time.

    A notify (``SendTaskSuccess`` / ``SendTaskFailure``) still wakes its waiter at once. Thread-safe.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._offset = 0.0
        self._waiters: set[_Waiter] = set()
        # execution (its callback pool) -> clock time its last wait timed out; gone with the execution.
        self._timed_out_at: WeakKeyDictionary[object, float] = WeakKeyDictionary()

    # --- reading it ------------------------------------------------------------------------------

    @property
    def offset(self) -> float:
        """Seconds this clock has been advanced in all."""
        with self._condition:
            return self._offset

    def now(self) -> float:
        """This clock's time in seconds (only differences between readings mean anything)."""
        with self._condition:
            return self._now()

    def waiting(self) -> int:
        """How many waits are in progress (a waiter notified a moment ago may still be counted)."""
        with self._condition:
            return len(self._waiters)

    def is_waiting_on(self, event: threading.Event) -> bool:
        """Whether a wait on ``event`` is in progress and not yet woken (its thread is parked on this clock)."""
        with self._condition:
            return any(waiter.event is event and not event.is_set() for waiter in self._waiters)

    # --- moving it -------------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        """Move time forward by ``seconds``; wake every waiter whose deadline that reaches; return how many.

        Raises ValueError for a negative or non-finite ``seconds``: time never goes back.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"a clock advances by a finite number of seconds >= 0, not {seconds!r}")
        with self._condition:
            self._offset += seconds
            now = self._now()
            expired = [waiter for waiter in self._waiters if waiter.deadline <= now and not waiter.event.is_set()]
            for waiter in expired:
                waiter.timed_out = True
                self._waiters.discard(waiter)
                waiter.event.set()  # wakes the waiting thread; it finds no outcome: a timeout
            self._condition.notify_all()
            return len(expired)

    def wait_until_waiting(self, count: int = 1, *, timeout: float = WAIT_UNTIL_WAITING_TIMEOUT_SECONDS) -> None:
        """Block until at least ``count`` waits are in progress, so a following :meth:`advance` reaches them.

        Raises TimeoutError if that takes longer than ``timeout`` real seconds (a hung test, not a deadline).
        """
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._waiters) >= count, timeout=timeout):
                raise TimeoutError(f"{len(self._waiters)} of {count} task waits started within {timeout}s")

    # --- waiting on it ---------------------------------------------------------------------------

    def wait(self, event: threading.Event, timeout: float | None, *, chain: object | None = None) -> bool:
        """Block until ``event`` is set or ``timeout`` seconds of this clock pass; True if ``event`` was set first.

        A wait whose ``chain`` last timed out counts from that moment (see the module).
        """
        with self._condition:
            start = self._now()
            if chain is not None:
                start = min(start, self._timed_out_at.pop(chain, start))
            deadline = math.inf if timeout is None else start + timeout
            if timeout is not None and (timeout <= 0 or deadline <= self._now()):
                if chain is not None and not event.is_set():
                    self._timed_out_at[chain] = deadline
                return event.is_set()
            waiter = _Waiter(event, deadline)
            self._waiters.add(waiter)
            self._condition.notify_all()  # for wait_until_waiting
        try:
            while not event.wait(self._real_seconds_until(waiter.deadline)):
                with self._condition:
                    if self._now() >= waiter.deadline:
                        waiter.timed_out = True
                        break
        finally:
            with self._condition:
                self._waiters.discard(waiter)
                if waiter.timed_out and chain is not None:
                    self._timed_out_at[chain] = waiter.deadline
                self._condition.notify_all()
        return not waiter.timed_out

    def _now(self) -> float:
        """Clock time; call with the lock held."""
        return self._offset

    def _real_seconds_until(self, deadline: float) -> float | None:
        """How long a waiter may block on its event before it must look at the clock again; None: until woken."""
        return None


class RealTimeClock(ManualClock):
    """Real time plus every :meth:`advance`: a deadline passes when real time or an advance reaches it.

    The local runtime's clock: without an advance it times tasks out as the system clock does.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._monotonic = monotonic

    def _now(self) -> float:
        return self._monotonic() + self._offset

    def _real_seconds_until(self, deadline: float) -> float | None:
        if deadline == math.inf:
            return None
        with self._condition:
            return max(0.0, deadline - self._now())


_active: InterpreterClock = SystemClock()


def active() -> InterpreterClock:
    """The clock task-token waits starting now are measured on."""
    return _active


def install(clock: InterpreterClock) -> InterpreterClock:
    """Make ``clock`` the one new task-token waits use; return the previous one. Waits in progress keep theirs."""
    global _active
    previous, _active = _active, clock
    return previous


@contextmanager
def installed(clock: InterpreterClock) -> Iterator[InterpreterClock]:
    """``clock`` for the duration of the block, then whichever clock was installed before."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)
