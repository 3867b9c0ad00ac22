"""Create or update the stateful stack, print its events while it waits, and read its outputs (AWS and moto)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from deploy.definition import DeliverySettings
from deploy.template import build_template, stack_name

logger = logging.getLogger(__name__)

Echo = Callable[[str], None]
Sleep = Callable[[float], None]
# CloudFormation's own console polls about this often; a stack of tables takes a minute or two.
POLL_SECONDS = 5.0
MAX_POLLS = 360  # 30 minutes, as the botocore waiter this replaced allowed
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
    "STATS_TABLE": "StatsTableName",
    "LIMITS_TABLE": "LimitsTableName",
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
    echo: Echo | None = None,
    sleep: Sleep = time.sleep,
    access_log_retention_days: int = DEFAULT_ACCESS_LOG_RETENTION_DAYS,
    alarms: AlarmSettings | None = None,
) -> dict[str, str]:
    """Create the stack, or update it when it exists; wait for it, passing each new stack event to ``echo``
    as it arrives (a debug log line when None); return its outputs.

    An update with nothing to change is not an error: a second run is a no-op. Raises RuntimeError
    when the stack ends in another state than the one asked for, with CloudFormation's reasons.
    ``alarms`` left out (or a setting of it left None) keeps the alarm e-mail and age the stack already has.
    """
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
            {"ParameterKey": "AccessLogRetentionDays", "ParameterValue": str(access_log_retention_days)},
            *(alarms or AlarmSettings()).parameters(_deployed_parameters(existing)),
        ],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "app", "Value": "content-moderation"}, {"Key": "stage", "Value": stage}],
    }
    return create_or_update_stack(cloudformation, template, arguments, existing=existing, echo=echo, sleep=sleep)


def create_or_update_stack(
    cloudformation: Any,
    template: dict[str, Any],
    arguments: dict[str, Any],
    *,
    existing: dict[str, Any] | None | Literal["look it up"] = "look it up",
    echo: Echo | None = None,
    sleep: Sleep = time.sleep,
) -> dict[str, str]:
    """Create the stack ``arguments["StackName"]`` or update it unless unchanged; wait; return its outputs.

    ``existing`` is the stack as DescribeStacks gave it (None: there is none) when the caller has just read it.
    Raises RuntimeError when the stack fails, or sits in ROLLBACK_COMPLETE from a failed create.
    """
    from botocore.exceptions import ClientError

    name = arguments["StackName"]
    if existing == "look it up":
        existing = _existing_stack(cloudformation, name)
    if existing is not None and _is_unchanged(cloudformation, existing, template, arguments):
        logger.info("stack %s is up to date", name)
    elif existing is not None:
        if existing["StackStatus"] == "ROLLBACK_COMPLETE":
            raise RuntimeError(
                f"stack {name} failed to create and is in ROLLBACK_COMPLETE: delete it "
                f"(aws cloudformation delete-stack --stack-name {name}) and run again"
            )
        horizon = _latest_event_id(cloudformation, existing["StackId"])  # the events before this update
        try:
            cloudformation.update_stack(**arguments)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            logger.info("stack %s is up to date", name)
        else:
            watch_stack(cloudformation, existing["StackId"], "UPDATE_COMPLETE", horizon=horizon, echo=echo, sleep=sleep)
    else:
        stack_id = cloudformation.create_stack(**arguments)["StackId"]
        watch_stack(cloudformation, stack_id, "CREATE_COMPLETE", echo=echo, sleep=sleep)
    return stack_outputs(cloudformation, name)


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def watch_stack(
    cloudformation: Any,
    stack_id: str,
    success: str,
    *,
    horizon: str | None = None,
    echo: Echo | None = None,
    sleep: Sleep = time.sleep,
) -> None:
    """Poll the stack until it leaves its ``*_IN_PROGRESS`` states, passing each new event to ``echo``, oldest first.

    ``horizon`` is the newest event from before the operation (None for a new stack): it and older
    ones are not shown. Raises RuntimeError, with the failed resources' reasons, when the stack
    ends in another state than ``success`` or is still in progress after MAX_POLLS polls.
    """
    show = echo or _log_line
    events: list[dict[str, Any]] = []
    known = {horizon} if horizon else set()
    status = ""
    for attempt in range(MAX_POLLS):
        if attempt:
            sleep(POLL_SECONDS)
        # The status first, then the events: every event up to that status is shown before it is judged.
        status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        for event in _new_events(cloudformation, stack_id, known):
            known.add(event["EventId"])
            events.append(event)
            show(format_event(event))
        if not status.endswith("_IN_PROGRESS"):
            break
    else:
        raise RuntimeError(f"stack {stack_id}: still {status} after {MAX_POLLS * POLL_SECONDS / 60:.0f} minutes")
    if status != success:
        reasons = [
            f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
            for event in events
            if event.get("ResourceStatus", "").endswith("FAILED")
        ]
        raise RuntimeError(
            f"stack {stack_id} ended {status}, not {success}; "
            + ("; ".join(reasons[:5]) or "no failure reason recorded")
        )


def format_event(event: dict[str, Any]) -> str:
    """One stack event as a line: local time, logical id, status and the reason when there is one."""
    timestamp = event["Timestamp"].astimezone().strftime("%H:%M:%S")
    line = f"    {timestamp}  {event['LogicalResourceId']:<32}  {event.get('ResourceStatus', '')}"
    reason = event.get("ResourceStatusReason")
    return f"{line}  {reason}" if reason else line


def _new_events(cloudformation: Any, stack_id: str, known: set[str]) -> list[dict[str, Any]]:
    """The stack's events not in ``known``, oldest first; pages only as far back as the first known one."""
    fresh: list[dict[str, Any]] = []
    arguments = {"StackName": stack_id}
    while True:
        page = cloudformation.describe_stack_events(**arguments)
        for event in page.get("StackEvents", []):  # newest first
            if event["EventId"] in known:
                return fresh[::-1]
            fresh.append(event)
        if not page.get("NextToken"):
            return fresh[::-1]
        arguments["NextToken"] = page["NextToken"]


def _latest_event_id(cloudformation: Any, stack_id: str) -> str | None:
    events = cloudformation.describe_stack_events(StackName=stack_id).get("StackEvents", [])
    return events[0]["EventId"] if events else None


def _log_line(line: str) -> None:
    logger.debug("stack event: %s", line.strip())


def delete_stack(cloudformation: Any, name: str, *, echo: Echo | None = None, sleep: Sleep = time.sleep) -> None:
    """Delete the stack and wait for it, passing each new event to ``echo``; nothing to do when it does not exist."""
    existing = _existing_stack(cloudformation, name)
    if existing is None:
        return
    horizon = _latest_event_id(cloudformation, existing["StackId"])
    cloudformation.delete_stack(StackName=existing["StackId"])
    watch_stack(cloudformation, existing["StackId"], "DELETE_COMPLETE", horizon=horizon, echo=echo, sleep=sleep)


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
