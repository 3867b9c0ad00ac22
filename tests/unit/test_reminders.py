"""Reminders (SPEC §14) over in-memory fakes: the announcement, the second wait's token, and a decision around them."""

from __future__ import annotations

import threading

import pytest

from chalicelib.clock import iso
from chalicelib.config import ConfigurationError, Settings
from chalicelib.errors import UnavailableError
from chalicelib.service import compose_use_cases
from chalicelib.usecases.reminders import reminder_wait_seconds
from chalicelib.web.requests import parse_article_request
from local_runtime.interpreter_clock import ManualClock
from tests.fakes import InMemoryStats, RecordingMetrics
from tests.unit.test_config import REQUIRED
from tests.unit.test_moderation_service import REVIEW_TIMEOUT_SECONDS, World, _in_review
from tests.unit.test_moderation_service import world as world

REMINDER_SECONDS = 600


def _remind_event(world: World, submission_id: str, *, entered: float | None = None) -> dict[str, object]:
    """What the RemindReview state sends the Lambda."""
    return {
        "submissionId": submission_id,
        "executionArn": world.workflow.execution_arn_for(submission_id),
        "enteredTime": iso(world.clock() if entered is None else entered),
        "beforeDeadlineSeconds": REMINDER_SECONDS,
    }


def _await_event(world: World, submission_id: str, token: str) -> dict[str, object]:
    """What the AwaitDecision state sends the request-approval Lambda."""
    return {
        "submissionId": submission_id,
        "executionArn": world.workflow.execution_arn_for(submission_id),
        "taskToken": token,
        "afterReminder": True,
    }


# --- settings and the execution's input ------------------------------------------------------------


def test_reminder_seconds_default_to_a_day_and_zero_means_none() -> None:
    assert Settings.from_environ(REQUIRED).review_reminder_seconds == 86400
    assert Settings.from_environ(REQUIRED | {"REVIEW_REMINDER_SECONDS": "0"}).review_reminder_seconds == 0
    for bad in ("-1", "1h"):
        with pytest.raises(ConfigurationError, match="REVIEW_REMINDER_SECONDS"):
            Settings.from_environ(REQUIRED | {"REVIEW_REMINDER_SECONDS": bad})


def test_the_first_wait_ends_at_the_reminder_only_when_it_comes_before_the_deadline() -> None:
    assert reminder_wait_seconds(review_timeout_seconds=3600, review_reminder_seconds=600) == 3000
    assert reminder_wait_seconds(review_timeout_seconds=3600, review_reminder_seconds=0) is None
    assert reminder_wait_seconds(review_timeout_seconds=3600, review_reminder_seconds=3600) is None
    assert reminder_wait_seconds(review_timeout_seconds=3600, review_reminder_seconds=86400) is None


def test_an_execution_gets_its_reminder_only_when_one_is_due_before_the_deadline(world: World) -> None:
    with_reminder = compose_use_cases(
        submissions=world.submissions,
        reviews=world.reviews,
        holds=world.reviews,  # the fake holds reviewers' claims on the same items
        history=world.history,
        stats_store=InMemoryStats(),
        metrics=RecordingMetrics(),
        workflow=world.workflow,
        notifier=world.notifier,
        word_list_source=lambda: ["forbidden"],
        link_secret=lambda: "secret",
        review_timeout_seconds=REVIEW_TIMEOUT_SECONDS,
        review_reminder_seconds=REMINDER_SECONDS,
        clock=world.clock,
    )
    with_reminder.intake.submit(parse_article_request({"title": "one"}), idempotency_key=None)
    world.service.intake.submit(parse_article_request({"title": "two"}), idempotency_key=None)

    first, second = world.workflow.called("start")
    assert first["payload"]["reminder"] == {
        "afterSeconds": REVIEW_TIMEOUT_SECONDS - REMINDER_SECONDS,
        "beforeDeadlineSeconds": REMINDER_SECONDS,
    }
    assert "reminder" not in second["payload"]  # REVIEW_REMINDER_SECONDS 0 (the compose default): as before


# --- the reminder ------------------------------------------------------------------------------------


def test_a_pending_review_is_announced_once_with_the_time_left_until_its_deadline(world: World) -> None:
    submission_id, review_id = _in_review(world)
    world.clock.advance(REVIEW_TIMEOUT_SECONDS - REMINDER_SECONDS)
    entered = world.clock()

    reminded = world.service.reminders.remind(_remind_event(world, submission_id, entered=entered))
    world.clock.advance(1)
    again = world.service.reminders.remind(_remind_event(world, submission_id, entered=entered))  # a retried task

    assert reminded["reminded"] is True and again["reminded"] is True
    assert reminded["remainingSeconds"] == REMINDER_SECONDS
    assert again["remainingSeconds"] == REMINDER_SECONDS - 1  # the deadline does not move
    review = world.reviews.items[review_id]
    assert reminded["detail"] == {
        "reviewId": review_id,
        "submissionId": submission_id,
        "title": "forbidden fruit",
        "deadline": review.deadline_at,
    }
    assert reminded["webhooks"] == []  # no WEBHOOK_URL
    assert review.reminded_at == iso(entered)
    assert world.history.kinds(submission_id).count("reminded") == 2  # written twice, kept once
    assert [event.event for event in world.history.events(submission_id)].count("reminded") == 1
    assert [call["event"] for call in world.notifier.called("publish_review_event")][-2:] == ["due_soon", "due_soon"]


def test_a_review_decided_before_its_reminder_ran_is_not_announced(world: World) -> None:
    submission_id, review_id = _in_review(world)
    world.service.decisions.decide(review_id, action="approve", decided_by="alice")

    reminded = world.service.reminders.remind(_remind_event(world, submission_id))

    assert reminded == {
        "reminded": False,
        "remainingSeconds": REMINDER_SECONDS,
        "detail": {},
        "webhooks": [],
    }
    assert "reminded" not in world.history.kinds(submission_id)
    assert "due_soon" not in [call["event"] for call in world.notifier.called("publish_review_event")]


# --- the second wait ---------------------------------------------------------------------------------


def test_the_second_wait_hands_the_pending_review_its_token_without_a_second_review(world: World) -> None:
    submission_id, review_id = _in_review(world)
    published = len(world.notifier.called("publish_review_event"))
    requested = world.history.kinds(submission_id).count("review_requested")

    answer = world.service.renewal.renew(_await_event(world, submission_id, "token-2"))

    assert answer == {"reviewId": review_id}
    assert world.reviews.items[review_id].task_token == "token-2"
    assert len(world.reviews.items) == 1
    assert len(world.notifier.called("publish_review_event")) == published  # no second "created"
    assert world.history.kinds(submission_id).count("review_requested") == requested
    assert world.workflow.called("send_decision") == []
    world.service.decisions.decide(review_id, action="reject", decided_by="alice")
    assert [call["task_token"] for call in world.workflow.called("send_decision")] == ["token-2"]


def test_a_decision_delivered_on_faith_to_the_ended_first_wait_is_replayed_onto_the_second(world: World) -> None:
    submission_id, review_id = _in_review(world)
    world.workflow.used_tokens.add("token-1")  # the first wait timed out: its token is refused
    decided = world.service.decisions.decide(review_id, action="approve", decided_by="alice")
    assert decided.decision == "approved"  # well before the deadline, the execution running: it will count

    world.service.renewal.renew(_await_event(world, submission_id, "token-2"))

    sent = world.workflow.called("send_decision")
    assert [call["task_token"] for call in sent] == ["token-1", "token-2"]
    assert sent[-1]["output"]["decision"] == "approved" and sent[-1]["output"]["decidedBy"] == "alice"
    assert "token-2" in world.workflow.used_tokens  # the second wait took it: exactly one success


def test_a_claim_that_meets_the_ended_first_token_is_sent_again_on_the_renewed_one(world: World) -> None:
    submission_id, review_id = _in_review(world)
    world.workflow.used_tokens.add("token-1")
    original_send = world.workflow.send_decision

    def renew_then_send(task_token: str, output: dict[str, object]) -> None:
        if task_token == "token-1":  # the second wait starts while this callback is on its way
            world.reviews.renew_task_token(review_id, task_token="token-2")
        original_send(task_token, output)

    world.workflow.send_decision = renew_then_send  # type: ignore[method-assign]
    decided = world.service.decisions.decide(review_id, action="reject", reason="spam", decided_by="alice")

    assert decided.decision == "rejected"
    assert [call["task_token"] for call in world.workflow.called("send_decision")] == ["token-1", "token-2"]
    assert world.history.kinds(submission_id).count("decided") == 1
    assert not world.reviews.items[review_id].callback_pending
    # The second wait's own replay then meets a used token and leaves it at that.
    world.service.renewal.renew(_await_event(world, submission_id, "token-2"))
    assert world.workflow.used_tokens >= {"token-2"}
    assert world.history.kinds(submission_id).count("decided") == 1


def test_a_refused_callback_keeps_a_claim_the_second_wait_has_been_handed(world: World) -> None:
    submission_id, review_id = _in_review(world)
    original_send = world.workflow.send_decision

    def refused_after_the_renewal(task_token: str, output: dict[str, object]) -> None:
        if task_token == "token-1":  # the second wait starts, and replays the claim, meanwhile
            world.service.renewal.renew(_await_event(world, submission_id, "token-2"))
            raise UnavailableError("throttled")  # then Step Functions refuses the first callback
        original_send(task_token, output)

    world.workflow.send_decision = refused_after_the_renewal  # type: ignore[method-assign]
    with pytest.raises(UnavailableError):
        world.service.decisions.decide(review_id, action="approve", decided_by="alice")

    review = world.reviews.items[review_id]
    assert review.decision == "approved"  # not rolled back: the execution has it on token-2
    assert "token-2" in world.workflow.used_tokens


# --- the interpreter clock across the two waits -----------------------------------------------------------


class _Execution:
    """Stands for moto's callback pool of one execution (what the clock's ``chain`` is keyed by, weakly)."""


def _wait_in_thread(clock: ManualClock, timeout: float, chain: object) -> tuple[threading.Thread, list[bool]]:
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(clock.wait(threading.Event(), timeout, chain=chain)))
    thread.start()
    return thread, outcome


def test_a_wait_after_a_timed_out_wait_of_the_same_execution_counts_from_that_timeout() -> None:
    clock, execution, other = ManualClock(), _Execution(), _Execution()
    first, first_outcome = _wait_in_thread(clock, 3000, execution)
    clock.wait_until_waiting(1)
    assert clock.advance(3600) == 1  # one jump past the reminder and the deadline
    first.join(5)
    assert first_outcome == [False]

    # The second wait (600 s) would end at 3600: already reached, so it times out at once.
    assert clock.wait(threading.Event(), 600, chain=execution) is False
    # Another execution's wait counts from now, as always.
    second, second_outcome = _wait_in_thread(clock, 600, other)
    clock.wait_until_waiting(1)
    assert clock.advance(599) == 0
    assert clock.advance(1) == 1
    second.join(5)
    assert second_outcome == [False]
