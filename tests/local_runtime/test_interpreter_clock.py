"""The interpreter's clock on its own: notify wakes at once, advances time out, the system clock is moto's wait.

No test here waits for a deadline in real time: waits that must end do so on a notify or an
advance, and the real-time behaviour of :class:`RealTimeClock` is checked with a fake monotonic
clock and an event that reports the real seconds it was asked to wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from local_runtime import interpreter_clock
from local_runtime.interpreter_clock import ManualClock, RealTimeClock, SystemClock

# A guard so a broken clock fails the test instead of hanging it; never what a test waits for.
JOIN_TIMEOUT = 10.0


class BackgroundWait:
    """``clock.wait(event, timeout)`` on its own thread, and what it returned."""

    def __init__(self, clock: ManualClock, timeout: float | None, event: threading.Event | None = None) -> None:
        self.event = event or threading.Event()
        self.result: list[bool] = []
        self.thread = threading.Thread(target=lambda: self.result.append(clock.wait(self.event, timeout)), daemon=True)
        self.thread.start()

    def finished(self) -> bool | None:
        """What the wait returned, once it has (joined with a guard timeout)."""
        self.thread.join(JOIN_TIMEOUT)
        assert not self.thread.is_alive(), "the wait did not end"
        return self.result[0]


@pytest.fixture(params=[ManualClock, RealTimeClock])
def clock(request: pytest.FixtureRequest) -> ManualClock:
    """Both advanceable clocks: with a week-long timeout, neither times out on its own during a test."""
    factory: Callable[[], ManualClock] = request.param
    return factory()


WEEK = 604_800


def test_a_notify_wakes_the_waiter_at_once_without_any_advance(clock: ManualClock) -> None:
    waiting = BackgroundWait(clock, WEEK)
    clock.wait_until_waiting(1)

    waiting.event.set()  # what moto's CallbackEndpoint.notify does on SendTaskSuccess

    assert waiting.finished() is True
    assert clock.offset == 0 and clock.waiting() == 0


def test_an_advance_short_of_the_deadline_leaves_the_waiter_waiting(clock: ManualClock) -> None:
    waiting = BackgroundWait(clock, WEEK)
    clock.wait_until_waiting(1)

    assert clock.advance(WEEK - 1) == 0

    assert waiting.thread.is_alive() and clock.waiting() == 1
    assert clock.advance(1) == 1  # the deadline reached exactly counts as passed
    assert waiting.finished() is False
    assert waiting.event.is_set()  # woken without an outcome: moto reads that as the timeout
    assert clock.waiting() == 0


def test_an_advance_times_out_only_the_waiters_it_reaches(clock: ManualClock) -> None:
    short, long = BackgroundWait(clock, 60), BackgroundWait(clock, WEEK)
    clock.wait_until_waiting(2)

    assert clock.advance(3600) == 1

    assert short.finished() is False
    assert long.thread.is_alive()
    long.event.set()
    assert long.finished() is True


def test_a_notified_waiter_is_not_counted_as_timed_out(clock: ManualClock) -> None:
    event = threading.Event()
    event.set()  # notified before the wait even starts: it returns at once
    assert clock.wait(event, WEEK) is True
    assert clock.advance(WEEK) == 0


def test_a_wait_that_starts_after_an_advance_counts_its_timeout_from_the_advanced_now(clock: ManualClock) -> None:
    """Why tests wait until the task is waiting before they advance: as on AWS, a deadline counts from the task's start."""
    clock.advance(WEEK)
    waiting = BackgroundWait(clock, 60)
    clock.wait_until_waiting(1)

    assert waiting.thread.is_alive()
    assert clock.advance(59) == 0
    assert clock.advance(1) == 1
    assert waiting.finished() is False
    assert clock.offset == WEEK + 60


def test_wait_until_waiting_gives_up_with_a_clear_error_when_nothing_waits(clock: ManualClock) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 task waits"):
        clock.wait_until_waiting(1, timeout=0)


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_time_never_goes_back_or_jumps_to_infinity(clock: ManualClock, seconds: float) -> None:
    with pytest.raises(ValueError, match="finite number of seconds"):
        clock.advance(seconds)
    assert clock.offset == 0


def test_a_zero_timeout_answers_at_once_like_event_wait(clock: ManualClock) -> None:
    assert clock.wait(threading.Event(), 0) is False
    assert clock.waiting() == 0


def test_a_wait_without_a_timeout_ends_only_on_its_notify(clock: ManualClock) -> None:
    waiting = BackgroundWait(clock, None)
    clock.wait_until_waiting(1)
    assert clock.advance(99_999_999) == 0
    assert waiting.thread.is_alive()
    waiting.event.set()
    assert waiting.finished() is True


class ReportingEvent(threading.Event):
    """An event whose ``wait`` reports the real seconds asked for and lets the fake real time pass instead."""

    def __init__(self, real_time: list[float], passes: list[float] | None = None) -> None:
        super().__init__()
        self.real_time = real_time
        self.asked: list[float | None] = []
        self.passes = passes  # how much fake real time passes per wait (default: all that was asked)

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout)
        assert timeout is not None, "a real-time waiter must bound its wait by its deadline"
        self.real_time[0] += self.passes.pop(0) if self.passes else timeout
        return self.is_set()


def test_the_runtime_clock_times_a_task_out_when_real_time_reaches_the_deadline() -> None:
    real_time = [1000.0]
    clock = RealTimeClock(monotonic=lambda: real_time[0])
    event = ReportingEvent(real_time, passes=[20.0])  # woken early once (a spurious wake-up), then time passes

    assert clock.wait(event, 60) is False

    assert event.asked == [60.0, 40.0]  # it waits only what is left of its deadline
    assert real_time[0] == 1060.0


def test_the_runtime_clock_counts_real_time_and_advances_together() -> None:
    real_time = [1000.0]
    clock = RealTimeClock(monotonic=lambda: real_time[0])
    waiting = BackgroundWait(clock, 100)
    clock.wait_until_waiting(1)

    real_time[0] += 60  # sixty real seconds pass (the waiter is still parked on its event)
    assert clock.advance(39) == 0
    assert clock.advance(1) == 1  # 60 s of real time + 40 s of advances reach the 100 s deadline

    assert waiting.finished() is False


def test_the_system_clock_waits_exactly_as_moto_does() -> None:
    event = ReportingEvent([0.0])
    event.set()
    assert SystemClock().wait(event, 3600) is True
    assert event.asked == [3600]
    assert SystemClock().wait(ReportingEvent([0.0]), 0.5) is False


def test_installed_restores_the_previous_clock() -> None:
    before = interpreter_clock.active()
    manual = ManualClock()
    with interpreter_clock.installed(manual):
        assert interpreter_clock.active() is manual
    assert interpreter_clock.active() is before
