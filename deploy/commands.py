"""`deploy` and `destroy`: the stateful stack, the SSM parameters, `chalice deploy` and the APIs' access logs, in order.

Every AWS call goes through ``clients`` (service name -> boto3 client) and every subprocess
through ``run_command``, so the whole flow runs against moto with chalice replaced by a fake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.access_logs import (
    LoggingRole,
    enable_rest_access_logs,
    enable_websocket_access_logs,
    ensure_logging_role,
    log_group_arn,
)
from deploy.chalice_project import (
    PROJECT_DIR,
    DeployedUrls,
    ProjectError,
    check_stage_config,
    load_config,
    outcome_settings,
    read_deployed,
    stage_environment,
    sync_stage_config,
    websocket_stage,
    write_policy,
)
from deploy.names import (
    APPEND_ONLY_TABLES,
    COUNTER_TABLES,
    TABLES,
    WEBSOCKET_URL_PARAMETER,
    Target,
    access_log_group_name,
    all_parameter_names,
    parameter_name,
    state_machine_arn,
    table_name,
)
from deploy.parameters import admin_token_command, delete_parameters, ensure_secret_parameters, put_string_parameter
from deploy.stack import DEFAULT_ACCESS_LOG_RETENTION_DAYS, AlarmSettings, delete_stack, deploy_stack, stack_exists
from deploy.template import stack_name
from deploy.throttling import ThrottleSettings, throttle_rest_stage, throttle_websocket_stage

ClientFactory = Callable[[str], Any]
RunCommand = Callable[..., None]
Echo = Callable[[str], None]


class DeployError(Exception):
    """A step failed in a way the user has to fix; the message says how."""


@dataclass
class DeployResult:
    """What one `deploy` run did and found."""

    target: Target
    outputs: dict[str, str]
    rest_api_url: str
    websocket_api_url: str
    created_parameters: list[str] = field(default_factory=list)
    config_changed: bool = False
    policy_changed: bool = False
    websocket_url_changed: bool = False
    access_logs_changed: bool = False
    logging_role: LoggingRole | None = None
    throttling_changed: bool = False


@dataclass
class DestroyResult:
    """What one `destroy` run removed."""

    chalice_deleted: bool = False
    stack_deleted: bool = False
    deleted_tables: list[str] = field(default_factory=list)
    deleted_parameters: list[str] = field(default_factory=list)
    deleted_log_groups: list[str] = field(default_factory=list)


def run_subprocess(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
    """Run a command with its output on the terminal; raise DeployError when it fails."""
    completed = subprocess.run(list(argv), cwd=cwd, env=dict(env), check=False)
    if completed.returncode != 0:
        raise DeployError(f"`{' '.join(argv)}` failed with exit status {completed.returncode}")


def chalice_executable() -> str:
    """The venv's chalice (next to the running interpreter), else the one on PATH."""
    candidate = Path(sys.executable).parent / "chalice"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("chalice")
    if found is None:
        raise DeployError("chalice is not installed: run `make deploy` (it installs requirements-dev.txt)")
    return found


def resolve_target(clients: ClientFactory, stage: str) -> Target:
    """Account and partition from STS, region from the client's configuration."""
    # Not the STS client's region: without one configured, boto3 points STS at its global endpoint.
    region = clients("cloudformation").meta.region_name
    sts = clients("sts")
    if not region or region == "aws-global":
        raise DeployError("no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region")
    identity = sts.get_caller_identity()
    return Target(stage=stage, region=region, account_id=identity["Account"], partition=identity["Arn"].split(":")[1])


def chalice_environment(target: Target, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the chalice subprocess: same credentials, and the region the stack went to."""
    env = dict(os.environ if base is None else base)
    env["AWS_DEFAULT_REGION"] = target.region
    env["AWS_REGION"] = target.region
    return env


def deploy(
    stage: str,
    *,
    clients: ClientFactory,
    project_dir: Path = PROJECT_DIR,
    run_command: RunCommand = run_subprocess,
    chalice: str | None = None,
    echo: Echo = print,
    environment: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
    access_log_retention_days: int = DEFAULT_ACCESS_LOG_RETENTION_DAYS,
) -> DeployResult:
    """Create or update everything for ``stage``; safe to run again (a second run changes nothing).

    ``settings`` (the CLI passes its environment) may set EVENT_BUS_NAME, WEBHOOK_URL and
    SENDER_EMAIL; what it leaves out keeps the value the stage's config already has. ALARM_EMAIL
    and ALARM_PENDING_AGE_SECONDS go to the stack's parameters; left out, the stack keeps its own. The API
    stages' access logs are kept ``access_log_retention_days`` (each deploy sets it).
    """
    try:
        check_stage_config(project_dir, stage)
        outcome = outcome_settings(project_dir, stage, settings or {})
        alarms = AlarmSettings.from_environ(settings or {})
        throttles = ThrottleSettings.from_environ(settings or {})
    except (ProjectError, ValueError) as error:
        raise DeployError(str(error)) from error
    target = resolve_target(clients, stage)
    echo(f"Deploying content-moderation stage {stage!r} to account {target.account_id} in {target.region}.")

    ssm = clients("ssm")
    created = ensure_secret_parameters(ssm, stage)
    for name in created:
        echo(f"  created SecureString parameter {name} (random value, not shown)")

    echo(
        f"  creating or updating CloudFormation stack {stack_name(stage)} (tables, state machine, role, log groups)..."
    )
    outputs = deploy_stack(
        clients("cloudformation"),
        stage=stage,
        region=target.region,
        account_id=target.account_id,
        partition=target.partition,
        delivery=outcome.delivery(),
        echo=echo,
        access_log_retention_days=access_log_retention_days,
        alarms=alarms,
    )
    _check_outputs_match_policy(target, outputs)

    try:
        config_changed = sync_stage_config(
            project_dir, stage, {**stage_environment(stage, outputs), **outcome.environment()}
        )
        policy_changed = write_policy(project_dir, target)
    except ProjectError as error:
        raise DeployError(str(error)) from error
    if config_changed:
        echo(f"  wrote the stack's table names and state machine ARN into .chalice/config.json (stage {stage})")
    if policy_changed:
        echo(
            f"  wrote .chalice/policy-{stage}.json (and policy-{stage}-<function>.json for the functions with "
            f"their own) for account {target.account_id} in {target.region}"
        )

    echo(f"  running chalice deploy --stage {stage}...")
    run_command(
        [chalice or chalice_executable(), "deploy", "--stage", stage],
        cwd=project_dir,
        env=chalice_environment(target, environment),
    )
    deployed = read_deployed(project_dir, stage)
    if deployed is None or not deployed.rest_api_url or not deployed.websocket_api_url:
        raise DeployError(f"chalice deploy left no REST and WebSocket URL in .chalice/deployed/{stage}.json")

    access_logs = _enable_access_logs(clients, target, project_dir, deployed)
    echo(
        f"  access logs: REST API to {access_log_group_name(stage, 'rest')}, WebSocket API to "
        f"{access_log_group_name(stage, 'websocket')}, kept {access_log_retention_days} days"
        + ("" if access_logs.changed else " (unchanged)")
    )
    if access_logs.role.set_by_this_run:
        echo(f"  set API Gateway's account-wide CloudWatch logging role to {access_logs.role.arn} ({target.region})")
    throttling_changed = _throttle_stages(clients, project_dir, target, deployed, throttles)
    echo(
        f"  throttling: REST API {throttles.rest.rate_limit:g} requests/s (bursts of {throttles.rest.burst_limit}), "
        f"WebSocket API {throttles.websocket.rate_limit:g} messages/s (bursts of {throttles.websocket.burst_limit})"
        + ("" if throttling_changed else " (unchanged)")
    )

    websocket_url_changed = put_string_parameter(
        ssm,
        parameter_name(stage, WEBSOCKET_URL_PARAMETER),
        deployed.websocket_api_url,
        description=f"content-moderation {stage}: the WebSocket API URL, written by `python -m deploy deploy`",
    )

    echo("")
    echo(f"REST API:      {deployed.rest_api_url}")
    echo(f"WebSocket API: {deployed.websocket_api_url}")
    echo("Admin token (send it as `Authorization: Bearer <token>`):")
    echo(f"  {admin_token_command(stage, target.region)}")
    echo(
        f"Outcome events go to event bus {outcome.event_bus_name!r}; webhook: {outcome.webhook_url or 'none'}; "
        f"e-mail sender: {outcome.sender_email or 'none (set SENDER_EMAIL, a verified SES identity)'}."
    )
    return DeployResult(
        target=target,
        outputs=outputs,
        rest_api_url=deployed.rest_api_url,
        websocket_api_url=deployed.websocket_api_url,
        created_parameters=created,
        config_changed=config_changed,
        policy_changed=policy_changed,
        websocket_url_changed=websocket_url_changed,
        access_logs_changed=access_logs.changed,
        logging_role=access_logs.role,
        throttling_changed=throttling_changed,
    )


@dataclass(frozen=True)
class _AccessLogs:
    role: LoggingRole
    changed: bool


def _enable_access_logs(
    clients: ClientFactory, target: Target, project_dir: Path, deployed: DeployedUrls
) -> _AccessLogs:
    """Access logs on both API stages chalice deployed, into the stack's log groups (idempotent).

    The groups by their deterministic names, as the policy names the tables: the stack creates them.
    """
    if not deployed.rest_api_id or not deployed.websocket_api_id:
        raise DeployError(f"chalice deploy left no REST and WebSocket API id in .chalice/deployed/{target.stage}.json")
    role = ensure_logging_role(clients("apigateway"), clients("iam"), clients("cloudformation"))
    api_stage = websocket_stage(load_config(project_dir), target.stage)  # chalice uses one stage name for both APIs
    rest_changed = enable_rest_access_logs(
        clients("apigateway"),
        rest_api_id=deployed.rest_api_id,
        stage_name=api_stage,
        destination_arn=log_group_arn(target, access_log_group_name(target.stage, "rest")),
    )
    websocket_changed = enable_websocket_access_logs(
        clients("apigatewayv2"),
        api_id=deployed.websocket_api_id,
        stage_name=api_stage,
        destination_arn=log_group_arn(target, access_log_group_name(target.stage, "websocket")),
    )
    return _AccessLogs(role=role, changed=rest_changed or websocket_changed)


def _throttle_stages(
    clients: ClientFactory, project_dir: Path, target: Target, deployed: DeployedUrls, throttles: ThrottleSettings
) -> bool:
    """Stage rate and burst limits on both APIs chalice deployed (idempotent); whether either changed."""
    api_stage = websocket_stage(load_config(project_dir), target.stage)  # one stage name for both APIs
    rest_changed = throttle_rest_stage(
        clients("apigateway"), rest_api_id=deployed.rest_api_id or "", stage_name=api_stage, throttle=throttles.rest
    )
    websocket_changed = throttle_websocket_stage(
        clients("apigatewayv2"),
        api_id=deployed.websocket_api_id or "",
        stage_name=api_stage,
        throttle=throttles.websocket,
    )
    return rest_changed or websocket_changed


def destroy(
    stage: str,
    *,
    clients: ClientFactory,
    delete_data: bool = False,
    project_dir: Path = PROJECT_DIR,
    run_command: RunCommand = run_subprocess,
    chalice: str | None = None,
    echo: Echo = print,
    environment: Mapping[str, str] | None = None,
) -> DestroyResult:
    """Delete the app (``chalice delete``); with ``delete_data`` also the stack, its tables and the parameters."""
    target = resolve_target(clients, stage)
    result = DestroyResult()
    deployed = read_deployed(project_dir, stage)
    if deployed is None:
        echo(f"No chalice deployment recorded in .chalice/deployed/{stage}.json: skipping chalice delete.")
    else:
        echo(f"Running chalice delete --stage {stage}...")
        run_command(
            [chalice or chalice_executable(), "delete", "--stage", stage],
            cwd=project_dir,
            env=chalice_environment(target, environment),
        )
        result.chalice_deleted = True

    if not delete_data:
        echo(
            f"Kept the data: stack {stack_name(stage)} (tables, state machine) and the SSM parameters "
            f"/content-moderation/{stage}/*. Run `make destroy STAGE={stage} DELETE_DATA=yes` to delete them."
        )
        return result

    cloudformation = clients("cloudformation")
    name = stack_name(stage)
    if stack_exists(cloudformation, name):
        echo(f"Turning off deletion protection on stack {name}...")
        outputs = deploy_stack(
            cloudformation,
            stage=stage,
            region=target.region,
            account_id=target.account_id,
            partition=target.partition,
            deletion_protection=False,
            delivery=outcome_settings(project_dir, stage, {}).delivery(),
            echo=echo,
        )
        echo(f"Deleting stack {name}...")
        delete_stack(cloudformation, name, echo=echo)
        result.stack_deleted = True
        tables = [
            outputs.get(f"{table.capitalize()}TableName") for table in (*TABLES, *APPEND_ONLY_TABLES, *COUNTER_TABLES)
        ]
    else:
        echo(f"Stack {name} does not exist.")
        tables = [table_name(stage, table) for table in (*TABLES, *APPEND_ONLY_TABLES, *COUNTER_TABLES)]
    # The submissions and reviews tables have DeletionPolicy Retain, so deleting the stack keeps them.
    result.deleted_tables = _delete_tables(clients("dynamodb"), [table for table in tables if table])
    for table in result.deleted_tables:
        echo(f"  deleted table {table}")

    result.deleted_parameters = delete_parameters(clients("ssm"), all_parameter_names(stage))
    for parameter in result.deleted_parameters:
        echo(f"  deleted parameter {parameter}")

    if deployed is not None:
        result.deleted_log_groups = _delete_log_groups(
            clients("logs"), [f"/aws/lambda/{function}" for function in deployed.function_names]
        )
        for group in result.deleted_log_groups:
            echo(f"  deleted log group {group}")
    echo(f"Deleted the data of stage {stage}.")
    return result


def _check_outputs_match_policy(target: Target, outputs: Mapping[str, str]) -> None:
    """The policy grants access by deterministic name: the stack must have used those names."""
    expected = {
        "SubmissionsTableName": table_name(target.stage, "submissions"),
        "ReviewsTableName": table_name(target.stage, "reviews"),
        **{
            f"{table.capitalize()}TableName": table_name(target.stage, table)
            for table in (*TABLES, *APPEND_ONLY_TABLES, *COUNTER_TABLES)
        },
        "StateMachineArn": state_machine_arn(target),
    }
    wrong = {key: outputs.get(key) for key, value in expected.items() if outputs.get(key) != value}
    if wrong:
        raise DeployError(f"stack outputs {wrong} differ from the names the IAM policy grants: {expected}")


def _delete_tables(dynamodb: Any, names: list[str]) -> list[str]:
    from botocore.exceptions import ClientError

    deleted = []
    for name in names:
        try:
            table = dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                continue  # deleted with the stack (the connections table) or never created
            raise
        if table.get("DeletionProtectionEnabled"):
            # The stack update above already turned it off on AWS; moto does not apply that update.
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=name)
        dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 5})
        deleted.append(name)
    return deleted


def _delete_log_groups(logs: Any, names: list[str]) -> list[str]:
    from botocore.exceptions import ClientError

    deleted = []
    for name in names:
        try:
            logs.delete_log_group(logGroupName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        else:
            deleted.append(name)
    return deleted
