"""The one substitution helper renders statemachine.json completely or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.definition import FUNCTION_PLACEHOLDERS, function_arns, placeholders, render_definition

ROOT = Path(__file__).resolve().parents[2]


def test_every_placeholder_in_the_definition_is_a_known_function():
    assert placeholders() == set(FUNCTION_PLACEHOLDERS)


def test_rendered_definition_names_the_stage_functions():
    definition = json.loads(render_definition(function_arns("prod", region="eu-west-1", account_id="111122223333")))
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
    from chalicelib import actors

    states = json.loads((ROOT / "statemachine.json").read_text())["States"]

    assert states["Publish"]["Parameters"]["decidedBy"] == actors.CONTENT_CHECK
    assert states["MarkExpired"]["Parameters"]["decidedBy"] == actors.DEADLINE
    assert states["MarkFailed"]["Parameters"]["decidedBy"] == actors.WORKFLOW
