"""The outcome SMS use case over fakes: once per outcome, a refusal recorded and retried, and a port others can wrap."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.clock import iso
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.errors import TextMessageNotSent
from chalicelib.integrations.sms import SMS_REASON_MAX_CHARACTERS, outcome_text
from chalicelib.usecases.text_messages import OutcomeTextMessage
from tests.fakes import FakeClock, InMemoryHistory, InMemorySubmissions, RecordingTextMessages, counting

PHONE = "+14155550123"


def _decided(submissions: InMemorySubmissions, clock: FakeClock, **changes: object) -> Submission:
    submission = Submission(
        submission_id="6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10",
        title="A title",
        body="",
        status=SubmissionStatus.REJECTED,
        created_at=iso(clock()),
        request_fingerprint="f",
        decision="rejected",
        reason="spam",
        category="spam",
        decided_by="alice",
        decided_at=iso(clock()),
        notify_phone=PHONE,
    )
    submission = replace(submission, **changes)  # type: ignore[arg-type]
    submissions.items[submission.submission_id] = submission
    return submission


def _use_case(sender: object) -> tuple[OutcomeTextMessage, InMemorySubmissions, InMemoryHistory, FakeClock]:
    submissions, history, clock = InMemorySubmissions(), InMemoryHistory(), FakeClock()
    use_case = OutcomeTextMessage(
        submissions=submissions,
        history=history,
        sender=lambda: sender,  # type: ignore[arg-type,return-value]
        clock=clock,
        count=counting(),
    )
    return use_case, submissions, history, clock


def test_an_outcome_is_texted_once_and_recorded_without_the_number():
    texts = RecordingTextMessages()
    use_case, submissions, history, clock = _use_case(texts)
    submission = _decided(submissions, clock)

    use_case.send(submission)
    use_case.send(submission)  # a retried final task

    assert [to for to, _text in texts.sent] == [PHONE]
    events = history.events(submission.submission_id)
    assert [(event.event, event.fields["channel"]) for event in events] == [("delivered", "sms")]
    assert PHONE not in repr(events)


def test_a_refused_text_is_delivery_failed_and_a_later_retry_sends_it():
    texts = RecordingTextMessages()
    texts.refuse_with = "ThrottlingException"
    use_case, submissions, history, clock = _use_case(texts)
    submission = _decided(submissions, clock)

    use_case.send(submission)
    texts.refuse_with = None
    use_case.send(submission)

    assert len(texts.sent) == 1
    assert history.kinds(submission.submission_id) == ["delivery_failed", "delivered"]


def test_a_wrapper_of_the_port_can_refuse_by_recipient_without_the_use_case_knowing():
    """How a per-recipient cap (issue 22) plugs in: it wraps a sender and refuses by ``to``."""
    inner = RecordingTextMessages()

    class CappedTexts:
        def send(self, *, to: str, text: str, submission_id: str) -> str:
            if to == PHONE:
                raise TextMessageNotSent("RecipientCapReached")
            return inner.send(to=to, text=text, submission_id=submission_id)

    use_case, submissions, history, clock = _use_case(CappedTexts())
    use_case.send(_decided(submissions, clock))

    (event,) = history.events("6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10")
    assert (event.event, event.fields["error"]) == ("delivery_failed", "RecipientCapReached")
    assert inner.sent == []


def test_the_text_is_short_and_says_the_decision_category_reason_and_who():
    clock = FakeClock()
    submission = _decided(InMemorySubmissions(), clock, reason="x" * 1000)

    text = outcome_text(submission)

    assert "rejected" in text and "category: spam" in text and "by a moderator" in text
    assert "x" * SMS_REASON_MAX_CHARACTERS not in text and len(text) < 300
    automated = outcome_text(replace(submission, decided_by="deadline", decision="expired", category=None))
    assert "automatically" in automated and "category" not in automated
