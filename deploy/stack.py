"""Create or update the stateful stack and read its outputs (used on AWS and against moto)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deploy.definition import DeliverySettings
from deploy.template import build_template, stack_name

logger = logging.getLogger(__name__)

# Which stack output each of the app's environment variables comes from: the one mapping used
# by the deploy command, the local runtime, the tests and the benchmarks.
APP_ENVIRONMENT_FROM_OUTPUTS = {
    "SUBMISSIONS_TABLE": "SubmissionsTableName",
    "REVIEWS_TABLE": "ReviewsTableName",
    "CONNECTIONS_TABLE": "ConnectionsTableName",
    "REVIEWERS_TABLE": "ReviewersTableName",
    "HISTORY_TABLE": "HistoryTableName",
    "STATS_TABLE": "StatsTableName",
    "STATE_MACHINE_ARN": "StateMachineArn",
}


DEFAULT_ALARM_PENDING_AGE_SECONDS = 21600
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class AlarmSettings:
    """ALARM_EMAIL (subscribed to the alarm topic) and ALARM_PENDING_AGE_SECONDS, as the deploy passes them.

    None: keep what the stack already has (its defaults on the first deploy: no subscriber, 21,600 s).
    """

    email: str | None = None
    pending_age_seconds: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AlarmSettings:
        """Raises ValueError naming the variable for an address or an age the stack would refuse."""
        email = environ.get("ALARM_EMAIL") or None
        if email is not None and not _EMAIL.fullmatch(email):
            raise ValueError("ALARM_EMAIL must be an e-mail address")
        age = environ.get("ALARM_PENDING_AGE_SECONDS") or None
        if age is not None and (not age.isdigit() or int(age) < 300):
            raise ValueError("ALARM_PENDING_AGE_SECONDS must be a whole number of seconds, at least 300")
        return cls(email=email, pending_age_seconds=int(age) if age else None)

    def parameters(self, deployed: Mapping[str, str]) -> list[dict[str, str]]:
        """The stack parameters: each setting given, else the deployed value, else the template's default."""
        email = self.email if self.email is not None else deployed.get("AlarmEmail", "")
        age = self.pending_age_seconds or int(deployed.get("AlarmPendingAgeSeconds", DEFAULT_ALARM_PENDING_AGE_SECONDS))
        return [
            {"ParameterKey": "AlarmEmail", "ParameterValue": email},
            {"ParameterKey": "AlarmPendingAgeSeconds", "ParameterValue": str(age)},
        ]


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
    alarms: AlarmSettings | None = None,
) -> dict[str, str]:
    """Create the stack, or update it when it exists; wait for it; return its outputs.

    An update with nothing to change is not an error: a second run is a no-op. ``alarms`` left
    out (or a setting of it left None) keeps the alarm e-mail and age the stack already has.
    """
    from botocore.exceptions import ClientError

    name = stack_name(stage)
    delivery = delivery or DeliverySettings()
    existing = _existing_stack(cloudformation, name)
    template = build_template(stage=stage, region=region, account_id=account_id, partition=partition, delivery=delivery)
    arguments = {
        "StackName": name,
        "TemplateBody": json.dumps(template),
        "Parameters": [
            {"ParameterKey": "Stage", "ParameterValue": stage},
            {"ParameterKey": "EventBusName", "ParameterValue": delivery.event_bus_name},
            {"ParameterKey": "DeletionProtection", "ParameterValue": "true" if deletion_protection else "false"},
            *(alarms or AlarmSettings()).parameters(_deployed_parameters(existing)),
        ],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "app", "Value": "content-moderation"}, {"Key": "stage", "Value": stage}],
    }
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


def _deployed_parameters(stack: dict[str, Any] | None) -> dict[str, str]:
    return {item["ParameterKey"]: item["ParameterValue"] for item in (stack or {}).get("Parameters", [])}


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
