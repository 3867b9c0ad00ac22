"""API Gateway access logs: the account's logging role, and each stage's REST and WebSocket access-log settings.

Chalice creates the APIs and has no setting for access logs, so the deploy command sets them on
the stages after `chalice deploy`, into the log groups the stateful stack owns (with their
retention). REST and WebSocket APIs write logs as the one role the account's API Gateway settings
name (``cloudwatchRoleArn``, per account and region): when none is set, a small stack of its own
creates one and the account is pointed at it; a role that is already set is left as it is.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.names import Target
from deploy.stack import create_or_update_stack

logger = logging.getLogger(__name__)

DEPLOY_DIR = Path(__file__).resolve().parent
ACCOUNT_TEMPLATE_PATH = DEPLOY_DIR / "apigateway-account-stack.json"
# Not per stage: the setting it serves is account-wide, so every stage (and any other API) shares it.
ACCOUNT_STACK_NAME = "content-moderation-apigateway-account"
# A new role takes a few seconds to be assumable; until then API Gateway refuses it (BadRequestException).
ROLE_PROPAGATION_ATTEMPTS = 12
ROLE_PROPAGATION_DELAY_SECONDS = 5.0


def access_log_format(api: str) -> str:
    """The documented format for ``api`` ("rest" or "websocket"): deploy/access-log-format-{api}.json, one line."""
    text = (DEPLOY_DIR / f"access-log-format-{api}.json").read_text().strip()
    json.loads(text)  # a broken file fails here, not as a stage API Gateway refuses
    return text


def log_group_arn(target: Target, name: str) -> str:
    """The ARN API Gateway wants for a log group: no trailing ``:*`` (which CloudFormation's Arn has)."""
    return f"arn:{target.partition}:logs:{target.region}:{target.account_id}:log-group:{name}"


@dataclass(frozen=True)
class LoggingRole:
    """The role the account's API Gateway writes logs as, and whether this run set it."""

    arn: str
    set_by_this_run: bool


def ensure_logging_role(
    apigateway: Any,
    iam: Any,
    cloudformation: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> LoggingRole:
    """The account's API Gateway logging role: kept when set to a role that exists, else created and set.

    Raises RuntimeError when the account stack fails, or API Gateway keeps refusing the new role.
    """
    current = apigateway.get_account().get("cloudwatchRoleArn")
    if current and _role_exists(iam, current):
        return LoggingRole(arn=current, set_by_this_run=False)
    if current:
        logger.warning("API Gateway's logging role %s no longer exists: setting a new one", current)
    template = json.loads(ACCOUNT_TEMPLATE_PATH.read_text())
    outputs = create_or_update_stack(
        cloudformation,
        template,
        {
            "StackName": ACCOUNT_STACK_NAME,
            "TemplateBody": json.dumps(template),
            "Parameters": [],
            "Capabilities": ["CAPABILITY_IAM"],
            "Tags": [{"Key": "app", "Value": "content-moderation"}],
        },
    )
    role_arn = outputs["CloudWatchRoleArn"]
    _set_account_role(apigateway, role_arn, sleep=sleep)
    return LoggingRole(arn=role_arn, set_by_this_run=True)


def enable_rest_access_logs(apigateway: Any, *, rest_api_id: str, stage_name: str, destination_arn: str) -> bool:
    """Point the REST API stage's access logs at ``destination_arn`` in the documented format; whether it changed."""
    wanted = {"destinationArn": destination_arn, "format": access_log_format("rest")}
    stage = apigateway.get_stage(restApiId=rest_api_id, stageName=stage_name)
    if stage.get("accessLogSettings") == wanted:
        return False
    apigateway.update_stage(
        restApiId=rest_api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": f"/accessLogSettings/{key}", "value": value} for key, value in wanted.items()
        ],
    )
    return True


def enable_websocket_access_logs(apigatewayv2: Any, *, api_id: str, stage_name: str, destination_arn: str) -> bool:
    """Point the WebSocket API stage's access logs at ``destination_arn`` in the documented format; whether it changed."""
    wanted = {"DestinationArn": destination_arn, "Format": access_log_format("websocket")}
    stage = apigatewayv2.get_stage(ApiId=api_id, StageName=stage_name)
    if stage.get("AccessLogSettings") == wanted:
        return False
    apigatewayv2.update_stage(ApiId=api_id, StageName=stage_name, AccessLogSettings=wanted)
    return True


def _role_exists(iam: Any, role_arn: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise
    return True


def _set_account_role(apigateway: Any, role_arn: str, *, sleep: Callable[[float], None]) -> None:
    from botocore.exceptions import ClientError

    for attempt in range(1, ROLE_PROPAGATION_ATTEMPTS + 1):
        try:
            apigateway.update_account(
                patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
            )
            return
        except ClientError as error:
            if error.response["Error"]["Code"] != "BadRequestException" or attempt == ROLE_PROPAGATION_ATTEMPTS:
                raise RuntimeError(f"API Gateway refused the logging role {role_arn}: {error}") from error
            sleep(ROLE_PROPAGATION_DELAY_SECONDS)
