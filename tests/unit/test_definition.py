"""The one substitution helper renders statemachine.json completely or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.definition import (
    FUNCTION_PLACEHOLDERS,
    SETTING_PLACEHOLDERS,
    DeliverySettings,
    definition_values,
    placeholders,
    render_definition,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_placeholder_in_the_definition_is_a_known_function_or_delivery_setting():
    assert placeholders() == set(FUNCTION_PLACEHOLDERS) | SETTING_PLACEHOLDERS


def test_rendered_definition_names_the_stage_functions():
    definition = json.loads(render_definition(definition_values("prod", region="eu-west-1", account_id="111122223333")))
    task = definition["States"]["RequestApproval"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["FunctionName"] == (
        "arn:aws:lambda:eu-west-1:111122223333:function:content-moderation-prod-request_approval"
    )
    assert task["TimeoutSecondsPath"] == "$.reviewTimeoutSeconds"
    assert task["Catch"][0]["ErrorEquals"] == ["States.Timeout"]


def test_missing_value_is_refused_by_name():
    with pytest.raises(KeyError, match="RecordOutcomeFunctionArn"):
        render_definition({"CheckContentFunctionArn": "a", "RequestApprovalFunctionArn": "b"})


def test_broken_json_is_refused():
    with pytest.raises(ValueError):
        render_definition({}, source='{"StartAt": ')


def test_the_state_machine_records_the_same_decided_by_names_as_the_code():
    from chalicelib.domain import actors
    from chalicelib.usecases.intake import DEFAULT_OUTCOME

    states = json.loads((ROOT / "statemachine.json").read_text())["States"]

    # Clean content goes straight to RecordOutcome with the execution input's default outcome.
    assert states["RouteChecked"]["Default"] == "RecordOutcome"
    assert DEFAULT_OUTCOME == {"decision": "approved", "decidedBy": actors.CONTENT_CHECK}
    assert states["MarkExpired"]["Parameters"]["decidedBy"] == actors.DEADLINE
    assert states["MarkFailed"]["Parameters"]["decidedBy"] == actors.WORKFLOW


def _webhook_task(definition: dict) -> dict:
    return definition["States"]["DeliverWebhooks"]["ItemProcessor"]["States"]["DeliverWebhook"]


def test_retry_settings_render_as_numbers_and_the_bus_as_a_string():
    delivery = DeliverySettings(
        event_bus_name="platform",
        webhook_retry_interval_seconds=1,
        webhook_retry_max_attempts=2,
        webhook_retry_backoff_rate=1.5,
        webhook_retry_max_delay_seconds=7,
    )
    definition = json.loads(
        render_definition(definition_values("dev", region="us-east-1", account_id="1", delivery=delivery))
    )

    (retry,) = _webhook_task(definition)["Retry"]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"], retry["MaxDelaySeconds"]) == (
        1,
        2,
        1.5,
        7,
    )
    assert definition["States"]["PublishEvent"]["Parameters"]["Entries"][0]["EventBusName"] == "platform"


def test_the_aws_webhook_schedule_retries_within_5_seconds_and_for_at_least_a_day():
    delivery = DeliverySettings()
    definition = json.loads(render_definition(definition_values("dev", region="us-east-1", account_id="1")))
    (retry,) = _webhook_task(definition)["Retry"]

    assert retry["IntervalSeconds"] <= 5
    assert delivery.total_retry_seconds() >= 24 * 3600
    assert _webhook_task(definition)["Catch"][0]["Next"] == "RecordWebhookFailure"


def test_the_clean_path_without_a_webhook_is_at_most_five_states():
    states = json.loads((ROOT / "statemachine.json").read_text())["States"]
    path, name = [], "CheckContent"
    while name:
        path.append(name)
        state = states[name]
        name = state.get("Default") if state["Type"] == "Choice" else state.get("Next")

    assert path == ["CheckContent", "RouteChecked", "RecordOutcome", "PublishEvent", "DeliverWebhooks"]
