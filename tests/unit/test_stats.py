"""Metrics (EMF lines) and the /stats counters, from the use cases over fakes: each event counted once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from chalicelib.clock import iso
from chalicelib.domain import stats
from chalicelib.domain.actors import CONTENT_CHECK, DEADLINE
from chalicelib.domain.identifiers import review_id_for
from chalicelib.domain.risk import RiskAssessment
from chalicelib.metrics import EmbeddedMetrics
from chalicelib.service import UseCases, compose_use_cases
from chalicelib.usecases.tasks import RiskPolicy
from chalicelib.web.presenters import present_stats
from chalicelib.web.requests import parse_article_request
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

# The CloudWatch Embedded Metric Format specification's structure, as a JSON schema: the `_aws`
# metadata (Timestamp in epoch milliseconds, CloudWatchMetrics directives), every dimension and
# metric named there present at the top level, metric values numbers.
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "items": {"type": "string", "minLength": 1},
                                    "maxItems": 30,
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"enum": ["Seconds", "Count", "None", "Milliseconds", "Percent"]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
REVIEW_TIMEOUT_SECONDS = 3600


def parse_emf(line: str) -> dict[str, Any]:
    """One EMF line: valid against the schema, and every member it names is at the top level."""
    assert "\n" not in line
    document = json.loads(line)
    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(document[name], str) for name in dimension_set)
        for metric in directive["Metrics"]:
            assert isinstance(document[metric["Name"]], int | float)
    return document


@dataclass
class World:
    service: UseCases
    reviews: InMemoryReviews
    stats: InMemoryStats
    metrics: RecordingMetrics
    workflow: RecordingWorkflow
    clock: FakeClock

    def emitted(self) -> list[tuple[str, Any, dict[str, str]]]:
        """(metric, value, dimensions beside Stage) of every line, each line checked against the EMF schema."""
        found = []
        for document in map(parse_emf, self.metrics.lines):
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "ContentModeration" and document["Stage"] == "test"
            assert directive["Dimensions"][0] == ["Stage"]
            name = directive["Metrics"][0]["Name"]
            extra = {key: document[key] for key in directive["Dimensions"][-1] if key != "Stage"}
            found.append((name, document[name], extra))
        return found

    def names(self) -> list[str]:
        return [name for name, _value, _dimensions in self.emitted()]


class Scorer:
    def __init__(self, assessment: RiskAssessment) -> None:
        self.assessment = assessment

    def assess(self, title: str, body: str, *, submission_id: str | None = None) -> RiskAssessment:
        return self.assessment


def _world(risk: RiskAssessment | None = None) -> World:
    reviews, stats_store, metrics = InMemoryReviews(), InMemoryStats(), RecordingMetrics()
    workflow, clock = RecordingWorkflow(), FakeClock()
    scorer = Scorer(risk) if risk is not None else None
    service = compose_use_cases(
        submissions=InMemorySubmissions(),
        reviews=reviews,
        holds=reviews,
        history=InMemoryHistory(),
        stats_store=stats_store,
        metrics=metrics,
        workflow=workflow,
        notifier=RecordingNotifier(),
        word_list_source=lambda: ["forbidden"],
        link_secret=lambda: "secret",
        review_timeout_seconds=REVIEW_TIMEOUT_SECONDS,
        clock=clock,
        risk_policy=RiskPolicy(scorer=(lambda: scorer) if scorer else None, review_threshold=0.5),
    )
    return World(service, reviews, stats_store, metrics, workflow, clock)


def _submit(world: World, title: str) -> str:
    return world.service.intake.submit(parse_article_request({"title": title}), idempotency_key=None).submission_id


def _check_event(world: World, submission_id: str) -> dict[str, Any]:
    return {
        "submissionId": submission_id,
        "executionArn": world.workflow.execution_arn_for(submission_id),
        "enteredTime": iso(world.clock()),
    }


def _request_review(world: World, submission_id: str) -> str:
    execution_arn = world.workflow.execution_arn_for(submission_id)
    world.service.approval.request(
        {
            "submissionId": submission_id,
            "executionArn": execution_arn,
            "taskToken": "token-1",
            "enteredTime": iso(world.clock()),
            "timeoutSeconds": REVIEW_TIMEOUT_SECONDS,
        }
    )
    return review_id_for(execution_arn)


def _outcome(world: World, submission_id: str, **outcome: Any) -> dict[str, Any]:
    return {
        "submissionId": submission_id,
        "executionArn": world.workflow.execution_arn_for(submission_id),
        "outcome": outcome,
    }


def test_every_line_is_one_emf_object_under_the_namespace_with_the_stage_dimension() -> None:
    lines: list[str] = []
    emitter = EmbeddedMetrics(stage="prod", write=lines.append, clock=lambda: 1_800_000_000.25)
    emitter.emit("DeliveryFailures", 1, dimensions={"Channel": "webhook"})
    emitter.emit("TimeToDecision", 12.5, unit="Seconds")
    first, second = map(parse_emf, lines)
    assert first == {
        "_aws": {
            "Timestamp": 1_800_000_000_250,
            "CloudWatchMetrics": [
                {
                    "Namespace": "ContentModeration",
                    "Dimensions": [["Stage"], ["Stage", "Channel"]],
                    "Metrics": [{"Name": "DeliveryFailures", "Unit": "Count"}],
                }
            ],
        },
        "Stage": "prod",
        "Channel": "webhook",
        "DeliveryFailures": 1,
    }
    assert second["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]
    assert second["TimeToDecision"] == 12.5


def test_the_schema_check_refuses_what_cloudwatch_would_not_extract() -> None:
    with pytest.raises(jsonschema.ValidationError):
        parse_emf(json.dumps({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Metrics": []}]}}))
    with pytest.raises(KeyError):  # a metric named in the metadata but missing at the top level
        parse_emf(
            json.dumps(
                {
                    "_aws": {
                        "Timestamp": 1,
                        "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "X"}]}],
                    }
                }
            )
        )


def test_a_flagged_submission_decided_by_a_person_is_counted_and_measured_once_each() -> None:
    world = _world(RiskAssessment.scored(0.75, {"INSULT": 0.75}, model="m"))
    submission_id = _submit(world, "forbidden fruit")
    world.service.check.check(_check_event(world, submission_id))
    world.service.check.check(_check_event(world, submission_id))  # the task invoked twice
    review_id = _request_review(world, submission_id)
    world.clock.advance(90)
    world.service.decisions.decide(review_id, action="reject", decided_by="ana")
    decided_at = iso(world.clock())
    for _attempt in range(2):  # Step Functions redelivers the final task
        world.service.outcomes.record(
            _outcome(world, submission_id, decision="rejected", decidedBy="ana", decidedAt=decided_at)
        )

    assert world.emitted() == [
        ("Submissions", 1, {}),
        ("Flagged", 1, {}),
        ("RiskScore", 0.75, {}),
        ("TimeToDecision", 90.0, {}),
        ("Decisions", 1, {"Decision": "rejected"}),
    ]
    figures = present_stats(world.service.stats.read())
    assert figures == {
        "pending": 0,
        "oldestPendingAgeSeconds": None,
        "last24h": {
            "submitted": 1,
            "flagged": 1,
            "approved": 0,
            "rejected": 1,
            "expired": 0,
            "appealed": 0,
            "rateLimited": 0,
            "notificationsSkipped": 0,
        },
        "medianTimeToDecisionSeconds24h": 90.0,  # one decision in the 60-120 s bucket: its middle
        "byReviewer7d": [{"name": "ana", "decisions": 1}],
    }


def test_clean_content_counts_as_submitted_and_approved_without_a_time_to_decision() -> None:
    world = _world()
    submission_id = _submit(world, "a fine day")
    world.service.check.check(_check_event(world, submission_id))
    event = _outcome(world, submission_id, decision="approved", decidedBy=CONTENT_CHECK)
    world.service.outcomes.record(event)
    assert world.names() == ["Submissions", "Decisions"]
    figures = world.service.stats.read()
    assert figures.last24h["approved"] == 1 and figures.median_time_to_decision_seconds_24h is None
    assert figures.by_reviewer_7d == []


def test_a_risk_check_error_and_an_expiry_and_a_delivery_failure_are_measured() -> None:
    world = _world(RiskAssessment.failed("ThrottlingException"))
    submission_id = _submit(world, "a fine day")
    world.service.check.check(_check_event(world, submission_id))
    _request_review(world, submission_id)
    world.clock.advance(REVIEW_TIMEOUT_SECONDS)
    expired = _outcome(
        world, submission_id, decision="expired", decidedBy=DEADLINE, reason="late", decidedAt=iso(world.clock())
    )
    world.service.outcomes.record(expired)
    world.service.outcomes.record(expired)
    world.service.delivery_failures.record(
        {"submissionId": submission_id, "channel": "webhook", "error": {"Error": "WebhookDeliveryFailed"}}
    )
    assert world.emitted() == [
        ("Submissions", 1, {}),
        ("Flagged", 1, {}),  # an error goes to a human
        ("RiskCheckErrors", 1, {}),
        ("Expired", 1, {}),
        ("DeliveryFailures", 1, {"Channel": "webhook"}),
    ]
    assert world.service.stats.read().last24h["expired"] == 1


def test_pending_and_the_oldest_pending_age_come_from_the_queue_and_the_schedule_publishes_it() -> None:
    world = _world()
    assert world.service.queue_age.publish() == {"oldestPendingAgeSeconds": 0}
    first = _submit(world, "forbidden one")
    _request_review(world, first)
    world.clock.advance(600)
    _request_review(world, _submit(world, "forbidden two"))
    world.clock.advance(60)
    figures = world.service.stats.read()
    assert (figures.pending, figures.oldest_pending_age_seconds) == (2, 660)
    assert world.service.queue_age.publish() == {"oldestPendingAgeSeconds": 660}
    assert world.emitted()[-1] == ("OldestPendingAgeSeconds", 660, {})
    assert world.metrics.values("Appeals") == []  # defined, emitted once appeals exist


def test_last24h_reads_the_current_hour_and_the_23_before_and_by_reviewer_the_last_7_days() -> None:
    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    hours, days = stats.last24h_periods(now), stats.last7d_periods(now)
    assert (hours[0], hours[-1], len(set(hours))) == ("hour#2027-01-15T08", "hour#2027-01-14T09", 24)
    assert (days[0], days[-1], len(set(days))) == ("day#2027-01-15", "day#2027-01-09", 7)


@pytest.mark.parametrize(
    ("durations", "median"),
    [
        ([], None),
        ([10], 15.0),  # one value in the 0-30 s bucket: its middle
        ([10, 20, 400, 500, 900], 375.0),  # the true median, 400, is in 300-600 s: read as 375
        ([700_000, 800_000], 604800.0),  # past the last bound: "more than 7 days"
    ],
)
def test_the_median_is_read_from_the_histogram_to_within_its_bucket(durations: list[int], median: float | None):
    counts: dict[int, int] = {}
    for seconds in durations:
        index = int(stats.time_to_decision_counter(seconds).removeprefix(stats.TIME_TO_DECISION_PREFIX))
        counts[index] = counts.get(index, 0) + 1
    assert stats.median_from_histogram(counts) == median
