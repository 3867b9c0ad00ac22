"""The CheckContent task with the risk model on: routing by score beside the word list (SPEC §13), over fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.domain.risk import RiskAssessment
from chalicelib.usecases.tasks import CheckContent, RiskPolicy
from chalicelib.web.requests import parse_article_request
from tests.fakes import FakeClock, InMemoryHistory, InMemorySubmissions, RecordingWorkflow, counting

MODEL = "test-model"


@dataclass
class ScriptedScorer:
    """A risk model that answers what the test says, and records what it was asked."""

    answer: RiskAssessment
    asked: list[tuple[str, str]] = field(default_factory=list)

    def assess(self, title: str, body: str, *, submission_id: str | None = None) -> RiskAssessment:
        self.asked.append((title, body))
        return self.answer


@dataclass
class Checked:
    result: dict[str, Any]
    history: InMemoryHistory
    scorer: ScriptedScorer


def _check(
    title: str,
    risk: RiskAssessment,
    *,
    reject_threshold: float | None = None,
    body: str = "",
    enabled: bool = True,
) -> Checked:
    from chalicelib.usecases.intake import SubmitArticle

    submissions, history, clock = InMemorySubmissions(), InMemoryHistory(), FakeClock()
    scorer = ScriptedScorer(risk)
    submission = SubmitArticle(
        submissions=submissions,
        history=history,
        workflow=RecordingWorkflow(),
        review_timeout_seconds=60,
        clock=clock,
        count=counting(),
    ).submit(parse_article_request({"title": title, "body": body}), idempotency_key=None)
    check = CheckContent(
        submissions=submissions,
        history=history,
        word_list_source=lambda: ["forbidden"],
        risk_policy=RiskPolicy(
            scorer=(lambda: scorer) if enabled else None, review_threshold=0.5, reject_threshold=reject_threshold
        ),
        clock=clock,
        count=counting(),
    )
    return Checked(check.check({"submissionId": submission.submission_id}), history, scorer)


def _scored(score: float, **labels: float) -> RiskAssessment:
    return RiskAssessment.scored(score, labels, model=MODEL)


def test_a_high_score_without_a_listed_word_goes_to_a_human():
    checked = _check("you are all worthless", _scored(0.91, INSULT=0.91, PROFANITY=0.4))
    assert checked.result["flagged"] is False
    assert checked.result["route"] == "review"
    assert checked.result["risk"] == {"score": 0.91, "labels": {"INSULT": 0.91, "PROFANITY": 0.4}, "model": MODEL}
    assert checked.scorer.asked == [("you are all worthless", "")]


def test_a_low_score_is_published_and_the_history_keeps_the_assessment():
    checked = _check("Sunny weather", _scored(0.02))
    assert checked.result["route"] == "publish" and checked.result["reason"] is None
    (event,) = [
        event for event in checked.history.events(next(iter(checked.history.items))) if event.event == "checked"
    ]
    assert event.fields["risk"] == {"score": 0.02, "labels": {}, "model": MODEL}
    assert event.fields["route"] == "publish"


def test_a_listed_word_is_reviewed_even_when_the_model_scores_it_low():
    checked = _check("forbidden fruit", _scored(0.01))
    assert (checked.result["flagged"], checked.result["route"]) == (True, "review")


def test_a_model_error_never_publishes():
    checked = _check("Sunny weather", RiskAssessment.failed("ThrottlingException"))
    assert checked.result["route"] == "review"
    assert checked.result["risk"] == {"error": "ThrottlingException"}


@pytest.mark.parametrize("title", ["Sunny weather", "forbidden fruit"])
def test_a_score_at_the_reject_threshold_is_refused_with_a_reason_naming_the_labels(title):
    checked = _check(title, _scored(0.97, INSULT=0.97, PROFANITY=0.95), reject_threshold=0.95)
    assert checked.result["route"] == "reject"
    assert "INSULT 0.97" in checked.result["reason"] and "PROFANITY 0.95" in checked.result["reason"]


def test_without_a_reject_threshold_nothing_is_refused_automatically():
    assert _check("Sunny weather", _scored(1.0, INSULT=1.0)).result["route"] == "review"


def test_with_the_check_off_the_model_is_never_asked():
    checked = _check("you are all worthless", _scored(0.99), enabled=False)
    assert checked.result["route"] == "publish" and checked.result["risk"] is None
    assert checked.scorer.asked == []
