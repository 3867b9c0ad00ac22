"""The appeal use case over the fakes: the window to the second, and an execution that did not start undoes the appeal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.clock import iso
from chalicelib.domain.appeal import appeal_execution_name, is_appeal_execution, submitter_token_hash
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.errors import (
    AppealNotAllowedError,
    AppealWindowClosedError,
    OutcomeUnknownError,
    UnauthorizedError,
    UnavailableError,
)
from chalicelib.service import compose_use_cases
from chalicelib.usecases.appeals import AppealRefusal
from tests.fakes import (
    FakeClock,
    InMemoryHistory,
    InMemoryReviews,
    InMemoryStats,
    InMemorySubmissions,
    RecordingMetrics,
    RecordingNotifier,
    RecordingWorkflow,
)

TOKEN = "cms_the-submitters-token"
WINDOW = 3600
SUBMISSION_ID = "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10"


class Fixture:
    def __init__(self) -> None:
        self.submissions, self.history = InMemorySubmissions(), InMemoryHistory()
        self.workflow, self.clock, self.metrics = RecordingWorkflow(), FakeClock(), RecordingMetrics()
        self.stats = InMemoryStats()
        reviews = InMemoryReviews()
        self.appeals: AppealRefusal = compose_use_cases(
            submissions=self.submissions,
            reviews=reviews,
            holds=reviews,  # the fake holds reviewers' claims on the same items
            history=self.history,
            stats_store=self.stats,
            metrics=self.metrics,
            workflow=self.workflow,
            notifier=RecordingNotifier(),
            word_list_source=lambda: ["forbidden"],
            link_secret=lambda: "secret",
            review_timeout_seconds=600,
            appeal_window_seconds=WINDOW,
            clock=self.clock,
        ).appeals
        self.rejected = Submission(
            submission_id=SUBMISSION_ID,
            title="forbidden rice",
            body="",
            status=SubmissionStatus.REJECTED,
            created_at=iso(self.clock() - 60),
            request_fingerprint="f",
            execution_arn=self.workflow.execution_arn_for(SUBMISSION_ID),
            decision="rejected",
            reason="spam",
            decided_by="alice",
            decided_at=iso(self.clock()),
            submitter_token_hash=submitter_token_hash(TOKEN),
        )
        self.submissions.create(self.rejected)


@pytest.fixture
def world() -> Fixture:
    return Fixture()


def test_an_appeal_at_the_last_second_of_the_window_is_accepted_and_one_after_is_not(world):
    world.clock.advance(WINDOW + 1)
    with pytest.raises(AppealWindowClosedError):
        world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="please")
    world.clock.advance(-1)

    submission, appeal = world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="  please  ")

    assert submission.status == SubmissionStatus.IN_REVIEW and appeal.message == "please"
    (start,) = world.workflow.called("start")
    assert start["name"] == appeal_execution_name(SUBMISSION_ID)
    assert world.history.kinds(SUBMISSION_ID) == ["appealed"]
    assert world.metrics.values("Appeals") == [1]


@pytest.mark.parametrize("error", [UnavailableError("refused"), OutcomeUnknownError("timed out")])
def test_an_execution_that_did_not_start_undoes_the_appeal(world, error):
    world.workflow.start_errors.append(error)

    with pytest.raises(UnavailableError):
        world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="please")

    assert world.submissions.get(SUBMISSION_ID) == world.rejected
    assert world.history.kinds(SUBMISSION_ID) == []
    assert world.metrics.values("Appeals") == []
    # Nothing is left behind: the submitter may appeal again.
    assert world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="again")[0].status == SubmissionStatus.IN_REVIEW


def test_a_start_whose_answer_was_lost_keeps_the_appeal_when_the_execution_exists(world):
    def started_then_lost(*, name: str, payload: dict[str, object]) -> str:
        world.workflow.statuses[world.workflow.execution_arn_for(name)] = "RUNNING"
        raise OutcomeUnknownError("the answer was lost")

    world.workflow.start = started_then_lost  # type: ignore[method-assign]

    submission, _appeal = world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="please")

    assert world.submissions.get(SUBMISSION_ID) == submission
    assert submission.appeal is not None


def test_a_submission_without_a_token_hash_cannot_be_appealed(world):
    world.submissions.items[SUBMISSION_ID] = replace(world.rejected, submitter_token_hash=None)

    with pytest.raises(UnauthorizedError):
        world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="please")


def test_a_failed_submission_cannot_be_appealed(world):
    world.submissions.items[SUBMISSION_ID] = replace(world.rejected, status=SubmissionStatus.FAILED)

    with pytest.raises(AppealNotAllowedError):
        world.appeals.appeal(SUBMISSION_ID, token=TOKEN, message="please")
    assert world.workflow.called("start") == []


def test_the_appeal_execution_is_told_apart_by_its_name():
    arn = f"arn:aws:states:us-east-1:1:execution:moderation:appeal-{SUBMISSION_ID}"
    assert is_appeal_execution(arn, SUBMISSION_ID)
    assert not is_appeal_execution(f"arn:aws:states:us-east-1:1:execution:moderation:{SUBMISSION_ID}", SUBMISSION_ID)
    assert not is_appeal_execution(None, SUBMISSION_ID)
