"""Offline checks of what is deployed: statelint, cfn-lint, and the hand-written IAM policy against the app's calls."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deploy.chalice_project import (
    PLAIN_SECRETS,
    function_policy_file_name,
    load_config,
    policy_file_name,
    websocket_stage,
)
from deploy.definition import definition_values, render_definition
from deploy.names import (
    APPEND_ONLY_TABLES,
    COUNTER_TABLES,
    INDEXES,
    TABLES,
    Target,
    all_parameter_names,
    state_machine_arn,
    table_name,
)
from deploy.policy import (
    FUNCTION_STATEMENTS_PATH,
    POLICY_TEMPLATE_PATH,
    functions_with_own_policy,
    policy_text,
    render_function_policy,
    render_policy,
)
from deploy.template import build_template
from tests.conftest import ACCOUNT_ID, REGION, ROOT
from tests.deploy.conftest import tool

# boto3 call -> the IAM action it needs. A call the app makes that is missing here fails
# test_policy_allows_every_aws_call_the_app_makes, so it cannot ship without a permission.
IAM_ACTION_FOR_CALL = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_writer": "dynamodb:BatchWriteItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "transact_write_items": "dynamodb:TransactWriteItems",
    "transact_get_items": "dynamodb:TransactGetItems",
    "start_execution": "states:StartExecution",
    "stop_execution": "states:StopExecution",
    "describe_execution": "states:DescribeExecution",
    "send_task_success": "states:SendTaskSuccess",
    "send_task_failure": "states:SendTaskFailure",
    "send_task_heartbeat": "states:SendTaskHeartbeat",
    "post_to_connection": "execute-api:ManageConnections",
    "delete_connection": "execute-api:ManageConnections",
    "get_connection": "execute-api:ManageConnections",
    "get_parameter": "ssm:GetParameter",
    "get_parameters": "ssm:GetParameters",
    "get_secret_value": "secretsmanager:GetSecretValue",
    "send_email": "ses:SendEmail",
    "send_raw_email": "ses:SendRawEmail",
    "put_events": "events:PutEvents",
    "detect_toxic_content": "comprehend:DetectToxicContent",
    "publish": "sns:Publish",
}
# Actions only some functions get (deploy/function-policies.json): action -> those functions.
FUNCTION_ONLY_ACTIONS = {"comprehend:DetectToxicContent": {"check_content"}, "sns:Publish": {"record_outcome"}}
# A call, or a bound method handed to a helper such as conditional_write(table.update_item, ...).
_CALL = re.compile(r"\.(" + "|".join(IAM_ACTION_FOR_CALL) + r")\b(?=\s*[(,])")


def dev_target() -> Target:
    """The account and region the committed dev files describe (until `make deploy` rewrites them)."""
    arn = load_config(ROOT)["stages"]["dev"]["environment_variables"]["STATE_MACHINE_ARN"]
    _, partition, _, region, account_id, *_ = arn.split(":")
    return Target(stage="dev", region=region, account_id=account_id, partition=partition)


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else value


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else value


def granted(policy: dict[str, Any], action: str) -> list[str]:
    """Every resource the policy allows ``action`` on."""
    return sorted(
        resource
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow" and action in actions(statement)
        for resource in resources(statement)
    )


def test_statemachine_json_passes_statelint(tmp_path: Path) -> None:
    definition = render_definition(definition_values("dev", region=REGION, account_id=ACCOUNT_ID))
    path = tmp_path / "statemachine.json"
    path.write_text(definition)
    completed = subprocess.run([tool("statelint"), str(path)], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_stateful_template_passes_cfn_lint(tmp_path: Path) -> None:
    template = build_template(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    path = tmp_path / "stateful-stack.json"
    path.write_text(json.dumps(template, indent=2))
    definition = json.loads(template["Resources"]["StateMachine"]["Properties"]["DefinitionString"])
    assert "${" not in json.dumps(definition)  # every ${Name} was substituted
    completed = subprocess.run(
        [tool("cfn-lint"), "--regions", REGION, "--", str(path)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_apigateway_account_template_passes_cfn_lint() -> None:
    from deploy.access_logs import ACCOUNT_TEMPLATE_PATH

    completed = subprocess.run(
        [tool("cfn-lint"), "--regions", REGION, "--", str(ACCOUNT_TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_apigateway_logging_role_is_only_what_api_gateway_logging_needs_and_outlives_its_stack() -> None:
    from deploy.access_logs import ACCOUNT_TEMPLATE_PATH

    template = json.loads(ACCOUNT_TEMPLATE_PATH.read_text())
    assert {name: resource["Type"] for name, resource in template["Resources"].items()} == {
        "ApiGatewayCloudWatchRole": "AWS::IAM::Role"
    }
    role = template["Resources"]["ApiGatewayCloudWatchRole"]
    # Account-wide: other stages and APIs may log through it, so deleting the stack must not take it.
    assert role["DeletionPolicy"] == role["UpdateReplacePolicy"] == "Retain"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    assert "Policies" not in role["Properties"]


def test_template_keeps_each_apis_access_logs_for_the_retention_parameter() -> None:
    from deploy.names import access_log_group_name
    from deploy.template import access_log_retention_choices

    template = build_template(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    retention = template["Parameters"]["AccessLogRetentionDays"]
    assert retention["Default"] == 30 and 30 in access_log_retention_choices()
    for logical, api in (("RestAccessLogGroup", "rest"), ("WebSocketAccessLogGroup", "websocket")):
        properties = template["Resources"][logical]["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}
        name = properties["LogGroupName"]["Fn::Sub"].replace("${Stage}", "dev")
        assert name == access_log_group_name("dev", api)


def test_template_declares_what_moto_ignores_ttl_pitr_protection_and_logging() -> None:
    resources_ = build_template(stage="dev", region=REGION, account_id=ACCOUNT_ID)["Resources"]
    for name in ("SubmissionsTable", "ReviewsTable"):
        properties = resources_[name]["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["ProtectData", True, False]}
        assert resources_[name]["DeletionPolicy"] == "Retain"
    assert resources_["ConnectionsTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiresAt",
        "Enabled": True,
    }
    machine = resources_["StateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["LoggingConfiguration"]["Level"] == "ERROR"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False


def test_committed_dev_policy_is_the_policy_template_rendered_for_the_dev_stage() -> None:
    config = load_config(ROOT)
    path = ROOT / ".chalice" / config["stages"]["dev"]["iam_policy_file"]
    expected = policy_text(render_policy(dev_target(), websocket_stage=websocket_stage(config, "dev")))
    assert path.read_text() == expected, (
        f"edit {POLICY_TEMPLATE_PATH.relative_to(ROOT)} (the hand-written policy), then render it into {path.name}"
    )


def test_committed_dev_function_policies_are_the_shared_policy_plus_their_own_statements() -> None:
    config = load_config(ROOT)
    functions = config["stages"]["dev"]["lambda_functions"]
    assert functions_with_own_policy() == ("check_content", "record_outcome")
    for function in functions_with_own_policy():
        path = ROOT / ".chalice" / functions[function]["iam_policy_file"]
        assert path.name == function_policy_file_name("dev", function)
        expected = render_function_policy(dev_target(), function, websocket_stage=websocket_stage(config, "dev"))
        assert path.read_text() == policy_text(expected), (
            f"edit {FUNCTION_STATEMENTS_PATH.relative_to(ROOT)} or {POLICY_TEMPLATE_PATH.relative_to(ROOT)}, "
            f"then render them into {path.name}"
        )


def test_only_the_record_outcome_function_may_send_text_messages_and_only_with_publish() -> None:
    target = Target(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    shared = render_policy(target, websocket_stage="api", sender_email="moderation@example.com")
    outcome = render_function_policy(
        target, "record_outcome", websocket_stage="api", sender_email="moderation@example.com"
    )

    assert not [action for statement in shared["Statement"] for action in actions(statement) if "sns:" in action]
    assert outcome["Statement"][: len(shared["Statement"])] == shared["Statement"]
    (added,) = outcome["Statement"][len(shared["Statement"]) :]
    # An SMS (Publish with PhoneNumber) names no topic: "*" is the only resource it can be granted on.
    assert added == {"Sid": "TextOutcomesWithSnsSmsOnly", "Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}


def test_only_the_check_content_function_may_call_comprehend_and_only_detect_toxic_content() -> None:
    target = Target(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    shared = render_policy(target, websocket_stage="api", sender_email="moderation@example.com")
    check = render_function_policy(
        target, "check_content", websocket_stage="api", sender_email="moderation@example.com"
    )

    assert not [action for statement in shared["Statement"] for action in actions(statement) if "comprehend:" in action]
    assert check["Statement"][: len(shared["Statement"])] == shared["Statement"]  # the shared policy, unchanged
    (added,) = check["Statement"][len(shared["Statement"]) :]
    # DetectToxicContent has no resource-level permissions: "*" is the only resource it takes.
    assert added == {
        "Sid": "ScoreSubmissionsWithComprehendToxicityDetection",
        "Effect": "Allow",
        "Action": "comprehend:DetectToxicContent",
        "Resource": "*",
    }
    for statement in check["Statement"]:
        assert all("*" not in action for action in actions(statement))
        if resources(statement) == ["*"]:
            assert set(actions(statement)) in (
                {"states:SendTaskSuccess", "states:SendTaskFailure"},
                {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
                {"comprehend:DetectToxicContent"},
            )


def test_every_index_of_the_stack_is_one_the_policy_lets_the_app_query() -> None:
    """A new GSI without its Query permission fails here, offline, not in the cloud."""
    stack = json.loads((ROOT / "deploy" / "stateful-stack.json").read_text())
    in_stack = {
        index["IndexName"]
        for resource in stack["Resources"].values()
        for index in resource.get("Properties", {}).get("GlobalSecondaryIndexes", [])
    }
    assert in_stack == set(INDEXES)


def test_policy_names_exactly_the_stage_tables_indexes_state_machine_and_parameters() -> None:
    target = Target(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    policy = render_policy(target, websocket_stage="api")
    prefix = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/"
    tables = sorted(prefix + table_name("dev", table) for table in TABLES)
    indexes = sorted(f"{prefix}{table_name('dev', table)}/index/{index}" for index, table in INDEXES.items())
    append_only = sorted(prefix + table_name("dev", table) for table in APPEND_ONLY_TABLES)
    counters = sorted(prefix + table_name("dev", table) for table in COUNTER_TABLES)

    for action in ("GetItem", "DeleteItem", "BatchWriteItem"):
        assert granted(policy, f"dynamodb:{action}") == tables
    # The counters are only added to and read: never put, deleted or queried.
    assert granted(policy, "dynamodb:UpdateItem") == sorted(tables + counters)
    assert granted(policy, "dynamodb:BatchGetItem") == sorted(tables + counters)
    assert granted(policy, "dynamodb:PutItem") == sorted(tables + append_only)
    assert granted(policy, "dynamodb:Query") == sorted(tables + append_only + indexes)
    assert granted(policy, "states:StartExecution") == [state_machine_arn(target)]
    assert granted(policy, "states:SendTaskSuccess") == ["*"]  # the task-token actions take only "*"
    assert granted(policy, "states:SendTaskFailure") == ["*"]
    assert granted(policy, "execute-api:ManageConnections") == [
        f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:*/api/POST/@connections/*"
    ]
    assert granted(policy, "ssm:GetParameter") == sorted(
        f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter{name}" for name in all_parameter_names("dev")
    )
    (decrypt,) = [statement for statement in policy["Statement"] if "kms:Decrypt" in actions(statement)]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}
    log_groups = granted(policy, "logs:PutLogEvents")
    assert log_groups and all(":log-group:/aws/lambda/content-moderation-dev" in group for group in log_groups)
    # Events go on the bus from the state machine's role, never from the functions.
    assert granted(policy, "events:PutEvents") == []
    # E-mail only with a sender, and then only from it.
    assert granted(policy, "ses:SendEmail") == []
    with_sender = render_policy(target, websocket_stage="api", sender_email="moderation@example.com")
    assert granted(with_sender, "ses:SendEmail") == [
        f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/example.com",
        f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/moderation@example.com",
    ]
    # Tracing (X-Ray active on every function): its two write actions take only "*".
    assert granted(policy, "xray:PutTraceSegments") == ["*"]
    assert granted(policy, "xray:PutTelemetryRecords") == ["*"]
    # No action wildcards, and "*" as a whole resource only for the task-token and trace actions.
    for statement in policy["Statement"]:
        assert all("*" not in action for action in actions(statement))
        if resources(statement) == ["*"]:
            assert set(actions(statement)) in (
                {"states:SendTaskSuccess", "states:SendTaskFailure"},
                {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
            )


def test_policy_allows_every_aws_call_the_app_makes() -> None:
    """A static scan of app.py and chalicelib/ for boto3 calls; each needs its action in the policy."""
    policy = render_policy(
        Target(stage="dev", region=REGION, account_id=ACCOUNT_ID),
        websocket_stage="api",
        sender_email="moderation@example.com",
    )
    allowed = {action for statement in policy["Statement"] for action in actions(statement)}
    # An action only some functions get must be in each of their policies, and in no other.
    for action, functions in FUNCTION_ONLY_ACTIONS.items():
        assert action not in allowed
        for function in functions:
            own = render_function_policy(
                Target(stage="dev", region=REGION, account_id=ACCOUNT_ID),
                function,
                websocket_stage="api",
                sender_email="moderation@example.com",
            )
            assert action in {granted for statement in own["Statement"] for granted in actions(statement)}
        allowed.add(action)
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    calls = {(path.relative_to(ROOT).as_posix(), call) for path in sources for call in _CALL.findall(path.read_text())}
    # The content check's own WordList.scan is text matching, not DynamoDB's Scan (it calls no AWS).
    calls -= {("chalicelib/domain/content_check/__init__.py", "scan")}
    # The queue-age task's PublishQueueAge.publish puts a metric in the log, not an SNS message.
    calls -= {("app.py", "publish")}
    assert calls, "the scan found no AWS calls at all: the pattern is stale"
    missing = sorted(
        (path, call, IAM_ACTION_FOR_CALL[call]) for path, call in calls if IAM_ACTION_FOR_CALL[call] not in allowed
    )
    assert missing == [], f"calls without a permission in deploy/lambda-policy.json: {missing}"
    # Comprehend is called from the one module the check_content function uses for it.
    assert {path for path, call in calls if call == "detect_toxic_content"} == {"chalicelib/integrations/toxicity.py"}
    # SNS is called from the one module the record_outcome function sends text messages with.
    assert {path for path, call in calls if call == "publish"} == {"chalicelib/integrations/sms.py"}


def test_chalice_config_keeps_the_policy_hand_written_and_secrets_in_ssm() -> None:
    config = load_config(ROOT)
    dev = config["stages"]["dev"]
    assert config["autogen_policy"] is False and dev.get("autogen_policy", False) is False
    assert dev["iam_policy_file"] == policy_file_name("dev")
    assert dev["lambda_functions"] == {
        function: {"iam_policy_file": function_policy_file_name("dev", function)}
        for function in functions_with_own_policy()
    }
    assert "WEBSOCKETS" in (ROOT / "app.py").read_text()  # chalice needs the feature flag to package the ws API
    variables = {**config.get("environment_variables", {}), **dev["environment_variables"]}
    assert not set(PLAIN_SECRETS) & set(variables)
    assert variables["ADMIN_TOKEN_PARAMETER"] == "/content-moderation/dev/admin-token"
    assert variables["LINK_SIGNING_SECRET_PARAMETER"] == "/content-moderation/dev/link-signing-secret"
    assert variables["WEBSOCKET_URL_PARAMETER"] == "/content-moderation/dev/websocket-url"
    target = dev_target()
    assert variables["STATE_MACHINE_ARN"] == state_machine_arn(target)
    for table in TABLES:
        assert variables[f"{table.upper()}_TABLE"] == table_name("dev", table)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policy_template_fixes_no_account_region_or_stage(stage: str) -> None:
    target = Target(stage=stage, region="eu-west-1", account_id="210987654321")
    text = json.dumps(render_policy(target, websocket_stage="api"))
    assert "${" not in text
    for fixed in (ACCOUNT_ID, "000000000000", "us-east-1", "content-moderation-dev" if stage != "dev" else "prod"):
        assert fixed not in text


ACCESS_LOG_FORMATS = {
    "rest": ROOT / "deploy" / "access-log-format-rest.json",
    "websocket": ROOT / "deploy" / "access-log-format-websocket.json",
}


@pytest.mark.parametrize("api", sorted(ACCESS_LOG_FORMATS))
def test_access_log_formats_log_the_route_template_and_nothing_secret(api: str) -> None:
    """docs/deploy.md tells operators to use these formats: a signature or token must never reach them."""
    text = ACCESS_LOG_FORMATS[api].read_text().strip()
    fields = json.loads(text)  # one JSON object per line in CloudWatch
    variables = set(re.findall(r"\$[\w.]+", text))

    assert all(value.startswith("$context.") for value in fields.values()), fields
    route = "$context.resourcePath" if api == "rest" else "$context.routeKey"
    assert route in variables
    forbidden = ("path", "requestOverride", "querystring", "header", "input", "body", "token", "signature", "secret")
    leaking = sorted(name for name in variables if name != route and any(word in name.lower() for word in forbidden))
    assert not leaking, leaking
    assert f"```json\n{text}\n```" in (ROOT / "docs" / "deploy.md").read_text()


def test_the_state_machine_traces_with_x_ray_and_its_role_may_send_traces() -> None:
    resources = build_template(stage="dev", region=REGION, account_id=ACCOUNT_ID)["Resources"]
    assert resources["StateMachine"]["Properties"]["TracingConfiguration"] == {"Enabled": True}
    statements = [
        statement
        for policy in resources["StateMachineRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    traced = [statement for statement in statements if "xray:PutTraceSegments" in actions(statement)]
    assert [set(actions(statement)) for statement in traced] == [
        {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
    ]


def test_the_stack_alarms_on_the_four_signals_to_its_topic() -> None:
    template = build_template(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    alarms = {
        resource["Properties"]["MetricName"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert set(alarms) == {"OldestPendingAgeSeconds", "ExecutionsFailed", "DeliveryFailures", "RiskCheckErrors"}
    for metric, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["Namespace"] == ("AWS/States" if metric == "ExecutionsFailed" else "ContentModeration")
    assert alarms["OldestPendingAgeSeconds"]["Threshold"] == {"Ref": "AlarmPendingAgeSeconds"}
    assert template["Parameters"]["AlarmPendingAgeSeconds"]["Default"] == 21600
    assert alarms["ExecutionsFailed"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "StateMachine"}}]
    # The app's metrics carry Stage as their one dimension set the alarms read (EMF publishes it beside the others).
    for metric in ("OldestPendingAgeSeconds", "DeliveryFailures", "RiskCheckErrors"):
        assert alarms[metric]["Dimensions"] == [{"Name": "Stage", "Value": {"Ref": "Stage"}}]
    subscription = template["Resources"]["AlarmTopic"]["Properties"]["Subscription"]
    assert subscription["Fn::If"][0] == "HasAlarmEmail"


def test_the_deployed_stages_limit_anonymous_submissions_to_30_a_minute_per_address() -> None:
    """Locally the limit is off (the default); on AWS the stage's config turns it on (SPEC §18)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    variables = config["stages"]["dev"]["environment_variables"]
    assert variables["RATE_LIMIT_SUBMISSIONS_PER_MINUTE"] == "30"
    assert variables["LIMITS_TABLE"] == table_name("dev", "limits")


def test_the_throttling_settings_are_documented_with_their_defaults() -> None:
    from deploy.cli import DEPLOY_SETTINGS_HELP
    from deploy.throttling import VARIABLES

    deploy_page = (ROOT / "docs" / "deploy.md").read_text()
    for name, default in VARIABLES.items():
        assert f"| `{name}` | `{default:g}`" in deploy_page, name
        assert name in DEPLOY_SETTINGS_HELP
    assert "SUBMIT_REQUIRES_CLIENT=true" in deploy_page  # the production recommendation (SPEC §18)
