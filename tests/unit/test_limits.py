"""Fixed windows (SPEC §18): the limit per window, Retry-After, the boundary, and admission's failure modes."""

from __future__ import annotations

import logging

import pytest

from chalicelib.domain.limits import window_at
from chalicelib.errors import RateLimitedError, UnauthorizedError, UnavailableError
from chalicelib.usecases.admission import AdmitSubmission, SubmissionLimits
from chalicelib.usecases.limits import FixedWindowLimiter
from tests.fakes import FakeClock, InMemoryClients, InMemoryLimits

MINUTE_START = 1_800_000_000  # a multiple of 60


def test_a_window_starts_on_a_multiple_of_its_length_and_says_when_the_next_opens():
    window = window_at(MINUTE_START + 59.2, 60)

    assert (window.start, window.end) == (MINUTE_START, MINUTE_START + 60)
    assert window.retry_after(MINUTE_START + 59.2) == 1
    assert window_at(MINUTE_START + 0.5, 60).retry_after(MINUTE_START + 0.5) == 60
    assert window.expires_at() > window.end


def test_a_limiter_lets_through_the_limit_per_window_then_answers_retry_after():
    clock = FakeClock(MINUTE_START + 45)
    limiter = FixedWindowLimiter(store=InMemoryLimits(), clock=clock)

    verdicts = [limiter.take("submissions#ip", "192.0.2.1", limit=2, window_seconds=60) for _ in range(3)]

    assert [verdict.allowed for verdict in verdicts] == [True, True, False]
    assert verdicts[2].retry_after == 15
    clock.advance(15)
    assert limiter.take("submissions#ip", "192.0.2.1", limit=2, window_seconds=60).allowed


def test_a_limit_of_zero_is_off_and_writes_nothing():
    store = InMemoryLimits()
    limiter = FixedWindowLimiter(store=store, clock=FakeClock(MINUTE_START))

    assert all(limiter.take("s", "x", limit=0, window_seconds=60).allowed for _ in range(100))
    assert store.counts == {}


def test_no_sixty_seconds_across_a_window_boundary_let_through_more_than_twice_the_limit():
    """A burst at the end of one window and another at the start of the next: at most 2x in any 60 s."""
    clock = FakeClock(MINUTE_START)
    limiter = FixedWindowLimiter(store=InMemoryLimits(), clock=clock)
    accepted: list[float] = []
    # Three minutes, a moment every 0.5 s: a burst of 20 just before and just after each boundary.
    for step in range(360):
        at = MINUTE_START + step * 0.5
        clock.now = at
        attempts = 20 if step and (step * 0.5) % 60 in (59.5, 0.0) else 0
        for _ in range(attempts):
            if limiter.take("submissions#ip", "192.0.2.1", limit=10, window_seconds=60).allowed:
                accepted.append(at)

    spans = [sum(1 for t in accepted if start <= t < start + 60) for start in accepted]
    assert max(spans) <= 20
    assert max(spans) == 20  # the boundary really was tested: both windows' bursts fell in one span


def _admission(limits: InMemoryLimits, *, anonymous: int = 2, client: int = 2) -> tuple[AdmitSubmission, str]:
    clients = InMemoryClients()
    _created, token = clients.create("cms", created_by="admin")
    admission = AdmitSubmission(
        clients=clients,
        requires_client=False,
        limiter=FixedWindowLimiter(store=limits, clock=FakeClock(MINUTE_START)),
        limits=SubmissionLimits(anonymous_per_minute=anonymous, client_per_minute=client),
    )
    return admission, token


def test_anonymous_callers_are_limited_per_source_ip_and_clients_per_client():
    admission, token = _admission(InMemoryLimits())

    for _ in range(2):
        assert admission.admit(token=None, presented=False, source_ip="192.0.2.1") is None
        assert admission.admit(token=token, presented=True, source_ip="192.0.2.1") == "cms"
    assert admission.admit(token=None, presented=False, source_ip="192.0.2.2") is None
    with pytest.raises(RateLimitedError) as anonymous:
        admission.admit(token=None, presented=False, source_ip="192.0.2.1")
    with pytest.raises(RateLimitedError):
        admission.admit(token=token, presented=True, source_ip="192.0.2.9")  # a client's limit follows the client
    assert anonymous.value.status_code == 429 and anonymous.value.retry_after == 60


def test_a_wrong_token_is_refused_before_any_limit_is_counted():
    limits = InMemoryLimits()
    admission, _token = _admission(limits)

    with pytest.raises(UnauthorizedError):
        admission.admit(token="cmc_wrong", presented=True, source_ip="192.0.2.1")
    assert limits.counts == {}


def test_a_failing_limiter_fails_closed_for_anonymous_callers_and_open_for_clients(caplog):
    caplog.set_level(logging.INFO, logger="chalicelib")
    limits = InMemoryLimits()
    limits.failing = True
    admission, token = _admission(limits)

    with pytest.raises(UnavailableError):
        admission.admit(token=None, presented=False, source_ip="192.0.2.1")
    assert admission.admit(token=token, presented=True, source_ip="192.0.2.1") == "cms"
    logged = [record.getMessage() for record in caplog.records if "rate_limit.unavailable" in record.getMessage()]
    assert len(logged) == 2 and all("ProvisionedThroughputExceededException" in line for line in logged)
    assert not any("192.0.2.1" in line for line in logged)
