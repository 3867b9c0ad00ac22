"""Create or update the stateful stack and read its outputs (used on AWS and against moto)."""

from __future__ import annotations

import json
import logging
from typing import Any

from deploy.definition import DeliverySettings
from deploy.template import build_template, stack_name

logger = logging.getLogger(__name__)

# How long CloudWatch Logs keeps the API Gateway access logs unless the deploy is told otherwise.
DEFAULT_ACCESS_LOG_RETENTION_DAYS = 30

# Which stack output each of the app's environment variables comes from: the one mapping used
# by the deploy command, the local runtime, the tests and the benchmarks.
APP_ENVIRONMENT_FROM_OUTPUTS = {
    "SUBMISSIONS_TABLE": "SubmissionsTableName",
    "REVIEWS_TABLE": "ReviewsTableName",
    "CONNECTIONS_TABLE": "ConnectionsTableName",
    "REVIEWERS_TABLE": "ReviewersTableName",
    "HISTORY_TABLE": "HistoryTableName",
    "STATE_MACHINE_ARN": "StateMachineArn",
}


def app_environment(outputs: dict[str, str]) -> dict[str, str]:
    """The app's environment variables that point at the stack's resources."""
    return {variable: outputs[output] for variable, output in APP_ENVIRONMENT_FROM_OUTPUTS.items()}


def deploy_stack(
    cloudformation: Any,
    *,
    stage: str,
    region: str,
    account_id: str,
    deletion_protection: bool = True,
    partition: str = "aws",
    delivery: DeliverySettings | None = None,
    access_log_retention_days: int = DEFAULT_ACCESS_LOG_RETENTION_DAYS,
) -> dict[str, str]:
    """Create the stack, or update it when it exists; wait for it; return its outputs.

    An update with nothing to change is not an error: a second run is a no-op.
    """
    name = stack_name(stage)
    delivery = delivery or DeliverySettings()
    template = build_template(stage=stage, region=region, account_id=account_id, partition=partition, delivery=delivery)
    arguments = {
        "StackName": name,
        "TemplateBody": json.dumps(template),
        "Parameters": [
            {"ParameterKey": "Stage", "ParameterValue": stage},
            {"ParameterKey": "EventBusName", "ParameterValue": delivery.event_bus_name},
            {"ParameterKey": "DeletionProtection", "ParameterValue": "true" if deletion_protection else "false"},
            {"ParameterKey": "AccessLogRetentionDays", "ParameterValue": str(access_log_retention_days)},
        ],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "app", "Value": "content-moderation"}, {"Key": "stage", "Value": stage}],
    }
    return create_or_update_stack(cloudformation, template, arguments)


def create_or_update_stack(cloudformation: Any, template: dict[str, Any], arguments: dict[str, Any]) -> dict[str, str]:
    """Create the stack ``arguments["StackName"]`` or update it unless unchanged; wait; return its outputs.

    Raises RuntimeError when the stack fails, or sits in ROLLBACK_COMPLETE from a failed create.
    """
    from botocore.exceptions import ClientError

    name = arguments["StackName"]
    existing = _existing_stack(cloudformation, name)
    if existing is not None and _is_unchanged(cloudformation, existing, template, arguments):
        logger.info("stack %s is up to date", name)
    elif existing is not None:
        if existing["StackStatus"] == "ROLLBACK_COMPLETE":
            raise RuntimeError(
                f"stack {name} failed to create and is in ROLLBACK_COMPLETE: delete it "
                f"(aws cloudformation delete-stack --stack-name {name}) and run again"
            )
        try:
            cloudformation.update_stack(**arguments)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            logger.info("stack %s is up to date", name)
        else:
            _wait(cloudformation, "stack_update_complete", name)
    else:
        cloudformation.create_stack(**arguments)
        _wait(cloudformation, "stack_create_complete", name)
    return stack_outputs(cloudformation, name)


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _wait(cloudformation: Any, waiter: str, name: str) -> None:
    """Wait for the stack; on failure raise with the reasons CloudFormation gave, not just the status."""
    from botocore.exceptions import WaiterError

    try:
        cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    except WaiterError as error:
        events = cloudformation.describe_stack_events(StackName=name).get("StackEvents", [])
        reasons = [
            f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
            for event in events
            if event.get("ResourceStatus", "").endswith("FAILED")
        ]
        raise RuntimeError(
            f"stack {name}: {error}; " + ("; ".join(reasons[:5]) or "no failure reason recorded")
        ) from error


def stack_exists(cloudformation: Any, name: str) -> bool:
    return _existing_stack(cloudformation, name) is not None


def _existing_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return next((stack for stack in stacks if stack["StackStatus"] != "DELETE_COMPLETE"), None)


def _is_unchanged(
    cloudformation: Any, stack: dict[str, Any], template: dict[str, Any], arguments: dict[str, Any]
) -> bool:
    """Same template, parameters and tags as deployed: skip the update (a second run is a no-op).

    AWS would answer "No updates are to be performed"; checking first also keeps moto, which
    re-applies any update, from touching the resources.
    """
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        return False
    body = cloudformation.get_template(StackName=stack["StackName"], TemplateStage="Original")["TemplateBody"]
    deployed_template = json.loads(body) if isinstance(body, str) else body  # boto3 decodes JSON bodies
    deployed_parameters = {item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters", [])}
    wanted_parameters = {item["ParameterKey"]: item["ParameterValue"] for item in arguments["Parameters"]}
    deployed_tags = {item["Key"]: item["Value"] for item in stack.get("Tags", [])}
    wanted_tags = {item["Key"]: item["Value"] for item in arguments["Tags"]}
    return (
        json.loads(json.dumps(deployed_template)) == template
        and all(deployed_parameters.get(key) == value for key, value in wanted_parameters.items())
        and deployed_tags == wanted_tags
    )
