"""The Step Functions side: start one execution per submission, resume a paused one."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from chalicelib.errors import OutcomeUnknownError, TaskTokenGoneError, UnavailableError
from chalicelib.log import log_event

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

logger = logging.getLogger(__name__)

# Errors that mean the execution no longer waits for this token: it timed out, ended, or never was.
_TOKEN_GONE_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class StepFunctionsWorkflow:
    """Starts and resumes executions of the moderation state machine (``ports.WorkflowEngine``)."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def execution_arn_for(self, name: str) -> str:
        prefix, _, machine_name = self._state_machine_arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine_name}:{name}"

    def start(self, *, name: str, payload: dict[str, Any]) -> str:
        """Start the execution named ``name``; when one by that name exists, return its ARN.

        Raises UnavailableError when Step Functions refused, and OutcomeUnknownError when the
        request may have started the execution anyway.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.start_execution(
                stateMachineArn=self._state_machine_arn, name=name, input=json.dumps(payload)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return self.execution_arn_for(name)
            log_event(
                logger,
                "execution.start_failed",
                level=logging.ERROR,
                submissionId=name,
                error=error.response["Error"]["Code"],
            )
            raise UnavailableError("could not start the moderation workflow; retry the request") from error
        except BotoCoreError as error:
            log_event(logger, "execution.start_uncertain", level=logging.ERROR, submissionId=name, error=str(error))
            raise OutcomeUnknownError("could not start the moderation workflow; retry the request") from error
        return response["executionArn"]

    def execution_status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None if there is no such execution."""
        from botocore.exceptions import ClientError

        try:
            return self._client.describe_execution(executionArn=execution_arn)["status"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise

    def send_decision(self, task_token: str, output: dict[str, Any]) -> None:
        """Resume the execution waiting on ``task_token`` with ``output``.

        Raises TaskTokenGoneError when Step Functions no longer accepts the token,
        UnavailableError when it refused for a transient reason (nothing happened), and
        OutcomeUnknownError when the request may have gone through.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _TOKEN_GONE_ERRORS:
                raise TaskTokenGoneError(code) from error
            raise UnavailableError("could not resume the workflow; retry the decision") from error
        except BotoCoreError as error:
            raise OutcomeUnknownError("the workflow may not have received the decision; retry it") from error
