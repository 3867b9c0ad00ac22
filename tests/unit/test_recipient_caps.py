"""The per-recipient cap (SPEC §18) on fakes: per channel and recipient, keyed hashes only, failing closed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain import history as events
from chalicelib.domain.limits import recipient_digest
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.usecases.limits import FixedWindowLimiter, RecipientCap
from chalicelib.usecases.outcomes import OutcomeEmail
from tests.fakes import (
    FakeClock,
    InMemoryHistory,
    InMemoryLimits,
    InMemoryStats,
    InMemorySubmissions,
    RecordingMetrics,
    counting,
)

ADDRESS = "someone@example.org"


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_outcome(self, submission: Submission, *, to: str) -> str:
        self.sent.append(to)
        return f"message-{len(self.sent)}"


def _cap(limits: InMemoryLimits, clock: FakeClock, *, max_per_day: int = 2) -> RecipientCap:
    return RecipientCap(
        limiter=FixedWindowLimiter(store=limits, clock=clock), secret=lambda: "link-secret", max_per_day=max_per_day
    )


def _submission(number: int) -> Submission:
    return Submission(
        submission_id=f"00000000-0000-4000-8000-{number:012d}",
        title="t",
        body="b",
        status=SubmissionStatus.APPROVED,
        created_at="2027-01-15T08:00:00Z",
        request_fingerprint="f",
        notify_email=ADDRESS,
        decision="approved",
        decided_at="2027-01-15T08:00:01Z",
    )


def test_the_cap_counts_each_channel_and_recipient_apart_and_resets_the_next_utc_day():
    clock = FakeClock()
    cap = _cap(InMemoryLimits(), clock)

    assert [cap.allows("email", ADDRESS) for _ in range(3)] == [True, True, False]
    assert cap.allows("sms", "+15550100") and cap.allows("email", "other@example.org")
    clock.advance(24 * 3600)
    assert cap.allows("email", ADDRESS)


def test_the_limits_table_holds_only_keyed_hashes_of_recipients():
    limits = InMemoryLimits()
    _cap(limits, FakeClock()).allows("email", ADDRESS)

    (key,) = limits.counts
    assert "example" not in key and "someone" not in key
    assert recipient_digest(b"k", channel="email", recipient=ADDRESS) != recipient_digest(
        b"other key", channel="email", recipient=ADDRESS
    )
    assert recipient_digest(b"k", channel="email", recipient=" SomeOne@Example.org ") == recipient_digest(
        b"k", channel="email", recipient=ADDRESS
    )


def test_a_cap_of_zero_is_off():
    limits = InMemoryLimits()
    cap = _cap(limits, FakeClock(), max_per_day=0)

    assert all(cap.allows("email", ADDRESS) for _ in range(50)) and limits.counts == {}


def _email(
    limits: InMemoryLimits, metrics: RecordingMetrics | None = None
) -> tuple[OutcomeEmail, RecordingMailer, InMemoryHistory, InMemoryStats, Any]:
    clock = FakeClock()
    mailer, history, stats, submissions = RecordingMailer(), InMemoryHistory(), InMemoryStats(), InMemorySubmissions()
    for number in range(3):
        submissions.create(_submission(number))
    email = OutcomeEmail(
        submissions=submissions,
        history=history,
        mailer=lambda: mailer,  # type: ignore[arg-type,return-value]
        clock=clock,
        count=counting(stats, metrics),
        recipient_cap=_cap(limits, clock),
    )
    return email, mailer, history, stats, submissions


def test_past_the_cap_the_email_is_skipped_once_and_counted_for_stats_and_as_a_metric():
    metrics = RecordingMetrics()
    email, mailer, history, stats, _submissions = _email(InMemoryLimits(), metrics)

    for number in range(3):
        email.send(_submission(number))
    email.send(_submission(2))  # a retried final task: the marker stays set, nothing again

    assert mailer.sent == [ADDRESS, ADDRESS]
    assert history.kinds(_submission(2).submission_id) == [events.DELIVERY_SKIPPED]
    (skipped,) = history.events(_submission(2).submission_id)
    assert skipped.fields == {"channel": "email", "reason": "recipient-cap"}
    assert sum(counters.get("notificationsSkipped", 0) for counters in stats.items.values()) == 1
    assert metrics.values("NotificationsSkipped") == [1]


def test_a_cap_that_cannot_be_counted_sends_nothing_and_records_a_failed_delivery():
    limits = InMemoryLimits()
    limits.failing = True
    email, mailer, history, _stats, _submissions = _email(limits)
    submission = _submission(1)

    email.send(submission)

    assert mailer.sent == []
    (failed,) = history.events(submission.submission_id)
    assert failed.event == events.DELIVERY_FAILED and "recipient cap" in failed.fields["error"]
    # The marker was given back: once the table answers again, a retry sends it.
    limits.failing = False
    email.send(replace(submission))
    assert mailer.sent == [ADDRESS]
