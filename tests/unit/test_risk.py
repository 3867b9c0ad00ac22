"""The risk check's values and routing rules (SPEC §13)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib.domain.risk import RiskAssessment, Route, rejection_reason, route
from chalicelib.integrations.aws import dynamodb_value

REVIEW, REJECT = 0.5, 0.9


def scored(score: float, **labels: float) -> RiskAssessment:
    return RiskAssessment.scored(score, labels, model="comprehend:DetectToxicContent")


def test_to_dict_has_the_spec_shape_for_a_score_and_for_an_error():
    assert scored(0.91, INSULT=0.91, PROFANITY=0.2).to_dict() == {
        "score": 0.91,
        "labels": {"INSULT": 0.91, "PROFANITY": 0.2},
        "model": "comprehend:DetectToxicContent",
    }
    assert RiskAssessment.failed("ThrottlingException").to_dict() == {"error": "ThrottlingException"}


def test_scores_are_rounded_to_four_decimals_and_clamped_to_zero_to_one():
    risk = RiskAssessment.scored(0.123456789, {"INSULT": 1.0000001, "GRAPHIC": -0.0}, model="m")
    assert risk.score == 0.1235
    assert risk.labels == {"GRAPHIC": 0.0, "INSULT": 1.0}


def test_an_assessment_has_a_score_or_an_error_never_both_nor_neither():
    with pytest.raises(ValueError):
        RiskAssessment()
    with pytest.raises(ValueError):
        RiskAssessment(score=0.5, error="ThrottlingException")


@pytest.mark.parametrize(
    "risk",
    [
        RiskAssessment.scored(0.97123456, {"INSULT": 0.9712, "PROFANITY": 0.95, "GRAPHIC": 0.0001}, model="m"),
        RiskAssessment.scored(0.0, {}, model="local:classifier"),
        RiskAssessment.failed("UnsupportedLanguageException"),
    ],
)
def test_an_assessment_survives_json_and_dynamodb_round_trips(risk):
    assert RiskAssessment.from_dict(json.loads(json.dumps(risk.to_dict()))) == risk
    item = dynamodb_value(risk.to_dict())  # what the stores write
    assert all(not isinstance(value, float) for value in [item.get("score"), *item.get("labels", {}).values()])
    assert RiskAssessment.from_dict(item) == risk


def test_from_dict_reads_decimal_numbers_as_dynamodb_returns_them():
    item = {"score": Decimal("0.9712"), "labels": {"INSULT": Decimal("0.9712")}, "model": "m"}
    assert RiskAssessment.from_dict(item) == RiskAssessment(score=0.9712, labels={"INSULT": 0.9712}, model="m")


def test_from_dict_refuses_a_risk_without_score_or_error():
    with pytest.raises(ValueError):
        RiskAssessment.from_dict({"labels": {}})


@pytest.mark.parametrize(
    ("flagged", "risk", "reject_threshold", "expected"),
    [
        # The risk check off: the word list alone.
        (False, None, REJECT, Route.PUBLISH),
        (True, None, REJECT, Route.REVIEW),
        # A low score publishes, unless a listed word matched.
        (False, scored(0.1), REJECT, Route.PUBLISH),
        (True, scored(0.1), REJECT, Route.REVIEW),
        # The grey zone, both ends included.
        (False, scored(0.4999), REJECT, Route.PUBLISH),
        (False, scored(0.5), REJECT, Route.REVIEW),
        (False, scored(0.8999), REJECT, Route.REVIEW),
        # At or above the reject threshold: refused, listed word or not.
        (False, scored(0.9), REJECT, Route.REJECT),
        (True, scored(0.99), REJECT, Route.REJECT),
        # No reject threshold: never refused, however high the score.
        (False, scored(1.0), None, Route.REVIEW),
        (True, scored(1.0), None, Route.REVIEW),
        # An error never publishes and never refuses.
        (False, RiskAssessment.failed("ThrottlingException"), REJECT, Route.REVIEW),
        (True, RiskAssessment.failed("AccessDeniedException"), REJECT, Route.REVIEW),
        (False, RiskAssessment.failed("ThrottlingException"), None, Route.REVIEW),
    ],
)
def test_route(flagged, risk, reject_threshold, expected):
    assert route(flagged=flagged, risk=risk, review_threshold=REVIEW, reject_threshold=reject_threshold) == expected


def test_a_review_threshold_of_zero_sends_everything_scored_to_a_human():
    assert route(flagged=False, risk=scored(0.0), review_threshold=0.0, reject_threshold=None) == Route.REVIEW


def test_rejection_reason_names_the_score_and_the_top_labels():
    risk = scored(0.9712, INSULT=0.9712, PROFANITY=0.95, HATE_SPEECH=0.6, SEXUAL=0.55, GRAPHIC=0.01)
    assert rejection_reason(risk) == (
        "Refused automatically: the risk model scored it 0.97 (INSULT 0.97, PROFANITY 0.95, HATE_SPEECH 0.60)"
    )


def test_rejection_reason_names_the_top_label_even_when_all_score_low():
    assert rejection_reason(scored(0.92, INSULT=0.3, GRAPHIC=0.1)) == (
        "Refused automatically: the risk model scored it 0.92 (INSULT 0.30)"
    )
    assert rejection_reason(scored(0.92)) == "Refused automatically: the risk model scored it 0.92"


def test_an_error_has_no_rejection_reason():
    with pytest.raises(ValueError):
        rejection_reason(RiskAssessment.failed("ThrottlingException"))


def test_a_refusals_category_is_that_of_its_highest_named_label_with_one():
    from chalicelib.domain.review import DEFAULT_REJECTION_CATEGORIES
    from chalicelib.domain.risk import rejection_category

    risk = RiskAssessment.scored(0.95, {"PROFANITY": 0.95, "HATE_SPEECH": 0.9, "SEXUAL": 0.2}, model="m")
    assert rejection_category(risk, allowed=DEFAULT_REJECTION_CATEGORIES, default="other") == "hate"
    # A category the deployment does not offer falls back to the default.
    assert rejection_category(risk, allowed=("spam", "other"), default="other") == "other"
    only_profanity = RiskAssessment.scored(0.95, {"PROFANITY": 0.95}, model="m")
    assert rejection_category(only_profanity, allowed=DEFAULT_REJECTION_CATEGORIES, default="other") == "other"
