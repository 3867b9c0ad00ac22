"""The risk check's values and rules (SPEC §13): what a toxicity model said, and where that sends a submission."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# What scores submissions on AWS; the composition root may name another backend (the local one).
DEFAULT_MODEL_NAME = "comprehend:DetectToxicContent"
# Scores keep four decimals: enough to tell 0.4999 from 0.5, and a float that survives a
# JSON or DynamoDB Decimal round trip unchanged (Decimal(str(0.9123)) reads back as 0.9123).
SCORE_DECIMALS = 4
# A refusal's reason names at most this many labels, those scoring at least the floor (else the top one).
REASON_MAX_LABELS = 3
REASON_LABEL_FLOOR = 0.5
# The statement-of-reasons category (SPEC §15) a model label stands for; PROFANITY fits none.
CATEGORY_BY_LABEL = {
    "HATE_SPEECH": "hate",
    "HARASSMENT_OR_ABUSE": "harassment",
    "INSULT": "harassment",
    "VIOLENCE_OR_THREAT": "violence",
    "GRAPHIC": "violence",
    "SEXUAL": "sexual",
}


class Route(StrEnum):
    """Where a checked submission goes next."""

    PUBLISH = "publish"
    REVIEW = "review"
    REJECT = "reject"


def score_value(raw: Any) -> float:
    """A model's score (float, int, Decimal or numeric string) as a float in [0, 1] with SCORE_DECIMALS decimals.

    Raises ValueError for anything that is not a finite number.
    """
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"a score must be a finite number, got {raw!r}")
    return round(min(max(value, 0.0), 1.0), SCORE_DECIMALS)


@dataclass(frozen=True)
class RiskAssessment:
    """A submission's risk: a score in [0, 1] with each label's score and the model that gave them, or an error.

    Exactly one of ``score`` and ``error`` is set. ``error`` is a stable code (an AWS error code
    such as ``ThrottlingException``, or one of this service's own) and means nobody scored it.
    """

    score: float | None = None
    labels: dict[str, float] = field(default_factory=dict)
    model: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if (self.score is None) == (self.error is None):
            raise ValueError("a RiskAssessment has either a score or an error")

    @classmethod
    def scored(cls, score: Any, labels: Mapping[str, Any], *, model: str | None) -> RiskAssessment:
        """An assessment with every score normalised by :func:`score_value`."""
        return cls(
            score=score_value(score),
            labels={name: score_value(value) for name, value in sorted(labels.items())},
            model=model,
        )

    @classmethod
    def failed(cls, error: str) -> RiskAssessment:
        """Nobody could score it: ``error`` says why (the submission then goes to a human)."""
        return cls(error=error)

    def top_labels(self, limit: int = REASON_MAX_LABELS) -> list[tuple[str, float]]:
        """The highest-scoring labels first (ties by name), at most ``limit``."""
        ranked = sorted(self.labels.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]

    def to_dict(self) -> dict[str, Any]:
        """SPEC §13's shape: ``{"score", "labels", "model"}``, or ``{"error": code}``."""
        if self.error is not None:
            return {"error": self.error}
        result: dict[str, Any] = {"score": self.score, "labels": dict(self.labels)}
        if self.model is not None:
            result["model"] = self.model
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskAssessment:
        """Read :meth:`to_dict`'s shape back, as JSON or as DynamoDB returns it (Decimal numbers).

        Raises ValueError when ``data`` has neither a score nor an error, or a score that is not a number.
        """
        error = data.get("error")
        if error is not None:
            return cls.failed(str(error))
        if data.get("score") is None:
            raise ValueError("a risk needs a 'score' or an 'error'")
        model = data.get("model")
        return cls.scored(data["score"], data.get("labels") or {}, model=None if model is None else str(model))


def route(
    *, flagged: bool, risk: RiskAssessment | None, review_threshold: float, reject_threshold: float | None
) -> Route:
    """Where a submission goes, from the word list (``flagged``) and the model's ``risk``.

    ``risk`` None means the risk check is off: the word list alone decides. A listed word always
    means at least a review; an error always means a review (nothing unscored is published); a
    score at or above ``reject_threshold`` (when set) is refused, listed word or not; a score at or
    above ``review_threshold`` goes to a human; anything else is published.
    """
    if risk is None:
        return Route.REVIEW if flagged else Route.PUBLISH
    if risk.score is None:
        return Route.REVIEW
    if reject_threshold is not None and risk.score >= reject_threshold:
        return Route.REJECT
    if flagged or risk.score >= review_threshold:
        return Route.REVIEW
    return Route.PUBLISH


def _named_labels(risk: RiskAssessment) -> list[tuple[str, float]]:
    """The labels a refusal names: the top ones scoring at least the floor, else the top one."""
    ranked = risk.top_labels()
    return [(name, score) for name, score in ranked if score >= REASON_LABEL_FLOOR] or ranked[:1]


def rejection_category(risk: RiskAssessment, *, allowed: tuple[str, ...], default: str) -> str:
    """The category of a refusal by the check: that of the highest named label with a configured one, else ``default``."""
    for name, _score in _named_labels(risk):
        category = CATEGORY_BY_LABEL.get(name)
        if category is not None and category in allowed:
            return category
    return default


def rejection_reason(risk: RiskAssessment) -> str:
    """The reason a submitter reads when the check refused their submission, naming the top labels.

    Raises ValueError for an assessment without a score (an error is never refused automatically).
    """
    if risk.score is None:
        raise ValueError("only a scored assessment can be refused")
    named = _named_labels(risk)
    reason = f"Refused automatically: the risk model scored it {risk.score:.2f}"
    if named:
        reason += " (" + ", ".join(f"{name} {score:.2f}" for name, score in named) + ")"
    return reason
