"""Create or update the stateful stack and read its outputs (used on AWS and against moto)."""

from __future__ import annotations

import json
import logging
from typing import Any

from deploy.template import build_template, stack_name

logger = logging.getLogger(__name__)


def deploy_stack(
    cloudformation: Any,
    *,
    stage: str,
    region: str,
    account_id: str,
    deletion_protection: bool = True,
    partition: str = "aws",
) -> dict[str, str]:
    """Create the stack, or update it when it exists; wait for it; return its outputs.

    An update with nothing to change is not an error: a second run is a no-op.
    """
    from botocore.exceptions import ClientError

    name = stack_name(stage)
    template = build_template(stage=stage, region=region, account_id=account_id, partition=partition)
    arguments = {
        "StackName": name,
        "TemplateBody": json.dumps(template),
        "Parameters": [
            {"ParameterKey": "Stage", "ParameterValue": stage},
            {"ParameterKey": "DeletionProtection", "ParameterValue": "true" if deletion_protection else "false"},
        ],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "app", "Value": "content-moderation"}, {"Key": "stage", "Value": stage}],
    }
    if _stack_exists(cloudformation, name):
        try:
            cloudformation.update_stack(**arguments)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            logger.info("stack %s is up to date", name)
        else:
            cloudformation.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig={"Delay": 5})
    else:
        cloudformation.create_stack(**arguments)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 5})
    return stack_outputs(cloudformation, name)


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _stack_exists(cloudformation: Any, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return False
        raise
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)
