"""Step Functions errors that moto cannot produce, translated where the call is made (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.errors import TaskTokenGoneError, UnavailableError
from chalicelib.integrations.workflow import StepFunctionsWorkflow

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:content-moderation-test"


@pytest.fixture
def stepfunctions():
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_token_errors_mean_the_execution_no_longer_waits(stepfunctions, code):
    client, stubber = stepfunctions
    stubber.add_client_error("send_task_success", service_error_code=code, http_status_code=400)

    with pytest.raises(TaskTokenGoneError):
        StepFunctionsWorkflow(client, ARN).send_decision("token", {"decision": "approved"})


def test_throttling_is_a_retryable_unavailable_error(stepfunctions):
    client, stubber = stepfunctions
    stubber.add_client_error("send_task_success", service_error_code="ThrottlingException", http_status_code=400)

    with pytest.raises(UnavailableError):
        StepFunctionsWorkflow(client, ARN).send_decision("token", {"decision": "approved"})


def test_starting_an_execution_that_exists_returns_its_arn(stepfunctions):
    client, stubber = stepfunctions
    stubber.add_client_error(
        "start_execution",
        service_error_code="ExecutionAlreadyExists",
        http_status_code=400,
        expected_params={"stateMachineArn": ARN, "name": "abc", "input": ANY},
    )

    arn = StepFunctionsWorkflow(client, ARN).start(name="abc", payload={})

    assert arn == "arn:aws:states:us-east-1:123456789012:execution:content-moderation-test:abc"
