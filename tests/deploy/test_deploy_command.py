"""`python -m deploy deploy|destroy` end to end against moto's server, with chalice replaced by a recording fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.stores.connections import WATCHERS_INDEX
from chalicelib.stores.reviews import DEADLINE_INDEX, DECIDED_INDEX, PENDING_INDEX, RISK_INDEX, STATUS_INDEX
from deploy.chalice_project import load_config
from deploy.commands import DeployError, DeployResult, deploy, destroy
from deploy.definition import DeliverySettings, definition_values, function_arns, render_definition
from deploy.names import Target, all_parameter_names, parameter_name, secret_parameter_names, table_name
from deploy.policy import policy_text, render_function_policy, render_policy
from deploy.stack import deploy_stack
from deploy.template import stack_name
from tests.conftest import ACCOUNT_ID, REGION, ROOT
from tests.deploy.conftest import FAKE_REST_URL, FAKE_WEBSOCKET_URL, FakeChalice, function_names

STAGE = "dev"
MANAGED_VARIABLES = {
    "STAGE",
    "SUBMISSIONS_TABLE",
    "REVIEWS_TABLE",
    "CONNECTIONS_TABLE",
    "REVIEWERS_TABLE",
    "HISTORY_TABLE",
    "STATS_TABLE",
    "LIMITS_TABLE",
    "STATE_MACHINE_ARN",
    "ADMIN_TOKEN_PARAMETER",
    "LINK_SIGNING_SECRET_PARAMETER",
    "WEBSOCKET_URL_PARAMETER",
    "WEBHOOK_SECRET_PARAMETER",
    "EVENT_BUS_NAME",
}


def run_deploy(clients: Any, project: Path, fake_chalice: FakeChalice, stage: str = STAGE) -> tuple[DeployResult, str]:
    printed: list[str] = []
    result = deploy(
        stage, clients=clients, project_dir=project, run_command=fake_chalice, chalice="chalice", echo=printed.append
    )
    return result, "\n".join(printed)


def run_destroy(clients: Any, project: Path, fake_chalice: FakeChalice, *, delete_data: bool) -> str:
    printed: list[str] = []
    destroy(
        STAGE,
        clients=clients,
        project_dir=project,
        run_command=fake_chalice,
        chalice="chalice",
        echo=printed.append,
        delete_data=delete_data,
    )
    return "\n".join(printed)


def parameter_versions(clients: Any, stage: str = STAGE) -> dict[str, int]:
    response = clients("ssm").get_parameters(Names=all_parameter_names(stage))
    return {parameter["Name"]: parameter["Version"] for parameter in response["Parameters"]}


def test_deploy_creates_the_stack_and_secrets_then_runs_chalice_deploy(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    result, printed = run_deploy(clients, project, fake_chalice)

    stack = clients("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {item["ParameterKey"]: item["ParameterValue"] for item in stack["Parameters"]}[
        "DeletionProtection"
    ] == "true"
    assert result.target == Target(stage=STAGE, region=REGION, account_id=ACCOUNT_ID, partition="aws")
    # The stack is up before chalice runs, and chalice deploys into the same region.
    assert fake_chalice.commands() == [["deploy", "--stage", STAGE]]
    assert fake_chalice.calls[0]["cwd"] == project
    assert fake_chalice.calls[0]["env"]["AWS_DEFAULT_REGION"] == REGION
    assert sorted(result.created_parameters) == sorted(secret_parameter_names(STAGE))


def test_deploy_stores_secrets_as_securestring_and_never_prints_them(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    _, printed = run_deploy(clients, project, fake_chalice)

    ssm = clients("ssm")
    described = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"/content-moderation/{STAGE}/"]}]
    )["Parameters"]
    types = {parameter["Name"]: parameter["Type"] for parameter in described}
    assert types == {
        parameter_name(STAGE, "admin-token"): "SecureString",
        parameter_name(STAGE, "link-signing-secret"): "SecureString",
        parameter_name(STAGE, "websocket-url"): "String",
        parameter_name(STAGE, "webhook-secret"): "SecureString",
    }
    for name in secret_parameter_names(STAGE):
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        assert len(value) >= 43  # secrets.token_urlsafe(32)
        assert value not in printed
    webhook_secret = ssm.get_parameter(Name=parameter_name(STAGE, "webhook-secret"), WithDecryption=True)
    assert webhook_secret["Parameter"]["Value"].startswith("whsec_")  # what standardwebhooks verifiers take
    assert ssm.get_parameter(Name=parameter_name(STAGE, "websocket-url"))["Parameter"]["Value"] == FAKE_WEBSOCKET_URL


def test_deploy_prints_both_urls_and_the_admin_token_command(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    _, printed = run_deploy(clients, project, fake_chalice)

    assert f"REST API:      {FAKE_REST_URL}" in printed
    assert f"WebSocket API: {FAKE_WEBSOCKET_URL}" in printed
    assert (
        f"aws ssm get-parameter --region {REGION} --name /content-moderation/{STAGE}/admin-token "
        "--with-decryption --query Parameter.Value --output text"
    ) in printed


def test_deploy_writes_the_stack_outputs_into_a_copy_of_config_json_and_keeps_the_rest(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    repository_config = (ROOT / ".chalice" / "config.json").read_bytes()
    before = load_config(project)

    result, _ = run_deploy(clients, project, fake_chalice)

    after = load_config(project)
    variables = after["stages"][STAGE]["environment_variables"]
    assert variables["STATE_MACHINE_ARN"] == result.outputs["StateMachineArn"]
    assert variables["SUBMISSIONS_TABLE"] == result.outputs["SubmissionsTableName"]
    assert variables["REVIEWS_TABLE"] == result.outputs["ReviewsTableName"]
    assert variables["CONNECTIONS_TABLE"] == result.outputs["ConnectionsTableName"]
    assert variables["ADMIN_TOKEN_PARAMETER"] == parameter_name(STAGE, "admin-token")
    # Everything the deploy command does not own is as it was.
    for name, value in before["stages"][STAGE]["environment_variables"].items():
        if name not in MANAGED_VARIABLES:
            assert variables[name] == value
    assert {key: value for key, value in after.items() if key != "stages"} == {
        key: value for key, value in before.items() if key != "stages"
    }
    # The policy names this account; the repository's own files are untouched.
    target = Target(stage=STAGE, region=REGION, account_id=ACCOUNT_ID)
    assert (project / ".chalice" / "policy-dev.json").read_text() == policy_text(
        render_policy(target, websocket_stage="api")
    )
    for function in ("check_content", "record_outcome"):
        assert (project / ".chalice" / f"policy-dev-{function}.json").read_text() == policy_text(
            render_function_policy(target, function, websocket_stage="api")
        )
    assert (ROOT / ".chalice" / "config.json").read_bytes() == repository_config


def test_deploy_is_idempotent_on_second_run(clients: Any, project: Path, fake_chalice: FakeChalice) -> None:
    first, _ = run_deploy(clients, project, fake_chalice)
    config_after_first = (project / ".chalice" / "config.json").read_text()
    versions_after_first = parameter_versions(clients)
    secrets_after_first = {
        name: clients("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        for name in secret_parameter_names(STAGE)
    }

    second, _ = run_deploy(clients, project, fake_chalice)

    assert second.outputs == first.outputs
    assert second.created_parameters == []
    assert not second.config_changed and not second.policy_changed and not second.websocket_url_changed
    stack = clients("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"  # no update was started
    assert (project / ".chalice" / "config.json").read_text() == config_after_first
    assert parameter_versions(clients) == versions_after_first
    assert {
        name: clients("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        for name in secret_parameter_names(STAGE)
    } == secrets_after_first
    # chalice deploy runs every time: it is how code changes ship, and it is idempotent itself.
    assert fake_chalice.commands() == [["deploy", "--stage", STAGE]] * 2


def test_deploy_updates_the_stack_when_the_template_changes(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    # The stack as an earlier version deployed it: the same resources, parameters and tags, and a
    # state machine with another webhook retry schedule (only the template differs).
    earlier = deploy_stack(
        clients("cloudformation"),
        stage=STAGE,
        region=REGION,
        account_id=ACCOUNT_ID,
        delivery=DeliverySettings(webhook_retry_max_attempts=3),
    )

    result, _ = run_deploy(clients, project, fake_chalice)

    stack = clients("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert result.outputs == earlier
    machine = clients("stepfunctions").describe_state_machine(stateMachineArn=result.outputs["StateMachineArn"])
    deliver = json.loads(machine["definition"])["States"]["DeliverWebhooks"]["ItemProcessor"]["States"]
    assert deliver["DeliverWebhook"]["Retry"][0]["MaxAttempts"] == DeliverySettings().webhook_retry_max_attempts


def test_stack_tables_have_the_keys_and_indexes_the_app_uses(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    result, _ = run_deploy(clients, project, fake_chalice)
    dynamodb = clients("dynamodb")

    def describe(output: str) -> dict[str, Any]:
        return dynamodb.describe_table(TableName=result.outputs[output])["Table"]

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(key["AttributeName"], key["KeyType"]) for key in schema]

    def indexes(table: dict[str, Any]) -> dict[str, tuple[list[tuple[str, str]], str]]:
        return {
            index["IndexName"]: (keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
            for index in table.get("GlobalSecondaryIndexes", [])
        }

    submissions, reviews, connections = (
        describe("SubmissionsTableName"),
        describe("ReviewsTableName"),
        describe("ConnectionsTableName"),
    )
    # The keys chalicelib reads and writes with (Key={...} in submissions.py, reviews.py, connections.py).
    assert keys(submissions["KeySchema"]) == [("submissionId", "HASH")]
    assert keys(reviews["KeySchema"]) == [("reviewId", "HASH")]
    assert keys(connections["KeySchema"]) == [("connectionId", "HASH"), ("subscription", "RANGE")]
    assert indexes(submissions) == {}
    assert indexes(reviews) == {
        PENDING_INDEX: ([("pendingPartition", "HASH"), ("createdAt", "RANGE")], "ALL"),
        RISK_INDEX: ([("pendingPartition", "HASH"), ("riskRank", "RANGE")], "ALL"),
        DEADLINE_INDEX: ([("pendingPartition", "HASH"), ("deadline", "RANGE")], "ALL"),
        DECIDED_INDEX: ([("decidedPartition", "HASH"), ("decidedAt", "RANGE")], "ALL"),
        STATUS_INDEX: ([("status", "HASH"), ("decidedAt", "RANGE")], "ALL"),
    }
    # Subscribers live on the submission item, read consistently; only the reviewers' live queue has an index.
    assert indexes(connections) == {WATCHERS_INDEX: ([("watchPartition", "HASH"), ("connectionId", "RANGE")], "ALL")}
    reviewers, history = describe("ReviewersTableName"), describe("HistoryTableName")
    assert keys(reviewers["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert keys(history["KeySchema"]) == [("submissionId", "HASH"), ("eventId", "RANGE")]
    assert reviewers["DeletionProtectionEnabled"] and history["DeletionProtectionEnabled"]
    for table in (submissions, reviews, connections):
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert submissions["DeletionProtectionEnabled"] and reviews["DeletionProtectionEnabled"]
    assert [table["TableName"] for table in (submissions, reviews, connections)] == [
        table_name(STAGE, name) for name in ("submissions", "reviews", "connections")
    ]


def test_stack_state_machine_runs_the_rendered_definition_as_a_role_that_invokes_only_its_functions(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    result, _ = run_deploy(clients, project, fake_chalice)

    machine = clients("stepfunctions").describe_state_machine(stateMachineArn=result.outputs["StateMachineArn"])

    expected = render_definition(definition_values(STAGE, region=REGION, account_id=ACCOUNT_ID))
    assert machine["definition"] == expected
    assert json.loads(machine["definition"]) == json.loads(expected)
    assert machine["name"] == f"content-moderation-{STAGE}"
    # moto's CloudFormation drops StateMachineType and LoggingConfiguration: test_static_checks.py
    # checks them in the template instead.
    # The role the machine runs as may invoke exactly the three functions it names.
    iam = clients("iam")
    role_name = machine["roleArn"].rsplit("/", 1)[-1]
    policies = {
        name: _policy_document(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    }
    invoke = [
        statement
        for document in policies.values()
        for statement in document["Statement"]
        if "lambda:InvokeFunction" in _as_list(statement["Action"])
    ]
    assert len(invoke) == 1
    assert sorted(invoke[0]["Resource"]) == sorted(function_arns(STAGE, region=REGION, account_id=ACCOUNT_ID).values())
    # ... and put events on exactly one bus: the default one, unless EVENT_BUS_NAME says otherwise.
    put_events = [
        statement
        for document in policies.values()
        for statement in document["Statement"]
        if "events:PutEvents" in _as_list(statement["Action"])
    ]
    assert [statement["Resource"] for statement in put_events] == [
        f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"
    ]


def test_destroy_without_delete_data_keeps_the_tables_and_parameters(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    result, _ = run_deploy(clients, project, fake_chalice)

    printed = run_destroy(clients, project, fake_chalice, delete_data=False)

    assert fake_chalice.commands()[-1] == ["delete", "--stage", STAGE]
    assert "Kept the data" in printed
    stack = clients("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    tables = clients("dynamodb").list_tables()["TableNames"]
    for output in (
        "SubmissionsTableName",
        "ReviewsTableName",
        "ConnectionsTableName",
        "ReviewersTableName",
        "HistoryTableName",
    ):
        assert result.outputs[output] in tables
    assert set(parameter_versions(clients)) == set(all_parameter_names(STAGE))


def test_destroy_with_delete_data_removes_the_stack_tables_parameters_and_logs(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    run_deploy(clients, project, fake_chalice)
    logs = clients("logs")
    for function in function_names(STAGE):  # what the functions would have logged
        logs.create_log_group(logGroupName=f"/aws/lambda/{function}")
    logs.create_log_group(logGroupName="/aws/lambda/someone-elses-function")

    run_destroy(clients, project, fake_chalice, delete_data=True)

    assert fake_chalice.commands()[-1] == ["delete", "--stage", STAGE]
    stacks = clients("cloudformation").list_stacks()["StackSummaries"]
    assert all(
        summary["StackStatus"] == "DELETE_COMPLETE" for summary in stacks if summary["StackName"] == stack_name(STAGE)
    )
    # Submissions and reviews have DeletionPolicy Retain: destroy deletes them itself.
    assert clients("dynamodb").list_tables()["TableNames"] == []
    assert parameter_versions(clients) == {}
    remaining = [group["logGroupName"] for group in logs.describe_log_groups()["logGroups"]]
    assert remaining == ["/aws/lambda/someone-elses-function"]


def test_deploy_after_destroy_with_delete_data_starts_fresh(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    run_deploy(clients, project, fake_chalice)
    run_destroy(clients, project, fake_chalice, delete_data=True)

    result, _ = run_deploy(clients, project, fake_chalice)

    assert sorted(result.created_parameters) == sorted(secret_parameter_names(STAGE))
    assert len(clients("dynamodb").list_tables()["TableNames"]) == 7  # six state tables and the limits table


def test_deploy_refuses_a_plain_text_secret_in_config_json(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    config = load_config(project)
    config["stages"][STAGE]["environment_variables"]["ADMIN_TOKEN"] = "oops"
    (project / ".chalice" / "config.json").write_text(json.dumps(config))

    with pytest.raises(DeployError, match="ADMIN_TOKEN in plain text"):
        run_deploy(clients, project, fake_chalice)
    # Refused before anything was created.
    assert fake_chalice.calls == []
    assert clients("cloudformation").list_stacks()["StackSummaries"] == []
    assert clients("ssm").describe_parameters()["Parameters"] == []


def test_deploy_of_a_new_stage_adds_it_to_config_json_with_its_own_policy(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    result, _ = run_deploy(clients, project, fake_chalice, stage="prod")

    config = load_config(project)
    prod = config["stages"]["prod"]
    assert prod["iam_policy_file"] == "policy-prod.json"
    assert prod["api_gateway_stage"] == config["stages"][STAGE]["api_gateway_stage"]
    assert prod["environment_variables"]["STATE_MACHINE_ARN"] == result.outputs["StateMachineArn"]
    assert prod["environment_variables"]["ADMIN_TOKEN_PARAMETER"] == "/content-moderation/prod/admin-token"
    assert config["stages"][STAGE] == load_config(ROOT)["stages"][STAGE]
    policy = json.loads((project / ".chalice" / "policy-prod.json").read_text())
    assert "content-moderation-prod-submissions" in json.dumps(policy)
    assert "content-moderation-dev" not in json.dumps(policy)
    # check_content's and record_outcome's own policy files are the new stage's too, never dev's.
    assert prod["lambda_functions"] == {
        "check_content": {"iam_policy_file": "policy-prod-check_content.json"},
        "record_outcome": {"iam_policy_file": "policy-prod-record_outcome.json"},
    }
    check_policy = json.loads((project / ".chalice" / "policy-prod-check_content.json").read_text())
    assert "content-moderation-prod-submissions" in json.dumps(check_policy)
    assert "content-moderation-dev" not in json.dumps(check_policy)
    assert "comprehend:DetectToxicContent" in json.dumps(check_policy)
    assert "comprehend:" not in json.dumps(policy)
    outcome_policy = json.loads((project / ".chalice" / "policy-prod-record_outcome.json").read_text())
    assert "content-moderation-prod-submissions" in json.dumps(outcome_policy)
    assert "sns:Publish" in json.dumps(outcome_policy) and "sns:" not in json.dumps(policy)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _policy_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """boto3 decodes IAM's JSON; moto 5.2.5 stores a CloudFormation role's inline policy as a Python repr."""
    if isinstance(document, dict):
        return document
    import ast

    return ast.literal_eval(document)


def test_deploy_takes_the_outcome_settings_into_the_stage_the_policy_and_the_role(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    settings = {
        "EVENT_BUS_NAME": "platform",
        "WEBHOOK_URL": "https://platform.example.com/hooks",
        "SENDER_EMAIL": "moderation@example.com",
    }
    clients("events").create_event_bus(Name="platform")

    result = deploy(
        STAGE,
        clients=clients,
        project_dir=project,
        run_command=fake_chalice,
        chalice="chalice",
        echo=lambda line: None,
        settings=settings,
    )

    variables = load_config(project)["stages"][STAGE]["environment_variables"]
    assert {name: variables[name] for name in settings} == settings
    assert variables["WEBHOOK_SECRET_PARAMETER"] == parameter_name(STAGE, "webhook-secret")
    policy = json.loads((project / ".chalice" / f"policy-{STAGE}.json").read_text())
    (send,) = [statement for statement in policy["Statement"] if statement["Action"] == "ses:SendEmail"]
    assert send["Resource"] == [
        f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/moderation@example.com",
        f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/example.com",
    ]
    check_policy = json.loads((project / ".chalice" / f"policy-{STAGE}-check_content.json").read_text())
    assert send in check_policy["Statement"]  # the function with its own policy keeps the shared grants
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "moderation@example.com"}}
    machine = clients("stepfunctions").describe_state_machine(stateMachineArn=result.outputs["StateMachineArn"])
    entry = json.loads(machine["definition"])["States"]["PublishEvent"]["Parameters"]["Entries"][0]
    assert entry["EventBusName"] == "platform"
    # A second deploy without the settings keeps them.
    deploy(
        STAGE, clients=clients, project_dir=project, run_command=fake_chalice, chalice="chalice", echo=lambda line: None
    )
    assert load_config(project)["stages"][STAGE]["environment_variables"]["WEBHOOK_URL"] == settings["WEBHOOK_URL"]


def test_deploy_passes_the_alarm_settings_to_the_stack_and_a_later_deploy_keeps_them(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    def parameters() -> dict[str, str]:
        (stack,) = clients("cloudformation").describe_stacks(StackName=f"content-moderation-{STAGE}-state")["Stacks"]
        return {item["ParameterKey"]: item["ParameterValue"] for item in stack["Parameters"]}

    settings = {"ALARM_EMAIL": "oncall@example.com", "ALARM_PENDING_AGE_SECONDS": "3600"}
    result = deploy(
        STAGE,
        clients=clients,
        project_dir=project,
        run_command=fake_chalice,
        chalice="chalice",
        echo=lambda line: None,
        settings=settings,
    )

    assert (parameters()["AlarmEmail"], parameters()["AlarmPendingAgeSeconds"]) == ("oncall@example.com", "3600")
    topic = result.outputs["AlarmTopicArn"]
    subscriptions = clients("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(item["Protocol"], item["Endpoint"]) for item in subscriptions] == [("email", "oncall@example.com")]
    deploy(
        STAGE, clients=clients, project_dir=project, run_command=fake_chalice, chalice="chalice", echo=lambda line: None
    )
    assert (parameters()["AlarmEmail"], parameters()["AlarmPendingAgeSeconds"]) == ("oncall@example.com", "3600")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_URL", "http://platform.example.com/hooks"),
        ("SENDER_EMAIL", "not-an-address"),
        ("EVENT_BUS_NAME", "no spaces"),
        ("ALARM_EMAIL", "not-an-address"),
        ("ALARM_PENDING_AGE_SECONDS", "soon"),
    ],
)
def test_deploy_refuses_a_plain_http_webhook_or_a_bad_sender_before_touching_aws(
    clients: Any, project: Path, fake_chalice: FakeChalice, name: str, value: str
) -> None:
    with pytest.raises(DeployError, match=name):
        deploy(
            STAGE,
            clients=clients,
            project_dir=project,
            run_command=fake_chalice,
            chalice="chalice",
            echo=lambda line: None,
            settings={name: value},
        )

    assert fake_chalice.commands() == []


# --- access logs (SPEC §19: on by default, the documented formats, a retention period) ---------


def _deployed_api_ids(project: Path, stage: str = STAGE) -> tuple[str, str]:
    from deploy.chalice_project import read_deployed

    deployed = read_deployed(project, stage)
    assert deployed is not None
    return deployed.rest_api_id, deployed.websocket_api_id


def _log_group(clients: Any, name: str) -> dict[str, Any]:
    groups = clients("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next(group for group in groups if group["logGroupName"] == name)


def test_deploy_turns_on_access_logs_for_both_api_stages_in_the_documented_formats(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    result, printed = run_deploy(clients, project, fake_chalice)

    rest_api_id, websocket_api_id = _deployed_api_ids(project)
    log_groups = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/apigateway/content-moderation-{STAGE}"
    rest = clients("apigateway").get_stage(restApiId=rest_api_id, stageName="api")
    assert rest["accessLogSettings"] == {
        "destinationArn": f"{log_groups}/rest-access",
        "format": (ROOT / "deploy" / "access-log-format-rest.json").read_text().strip(),
    }
    websocket = clients("apigatewayv2").get_stage(ApiId=websocket_api_id, StageName="api")
    assert websocket["AccessLogSettings"] == {
        "DestinationArn": f"{log_groups}/websocket-access",
        "Format": (ROOT / "deploy" / "access-log-format-websocket.json").read_text().strip(),
    }
    assert result.access_logs_changed
    assert f"/aws/apigateway/content-moderation-{STAGE}/rest-access" in printed and "kept 30 days" in printed


def test_access_log_groups_are_the_stacks_with_the_retention_period(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    from deploy.names import access_log_group_name

    result, _ = run_deploy(clients, project, fake_chalice)

    for output, api in (("RestAccessLogGroupName", "rest"), ("WebSocketAccessLogGroupName", "websocket")):
        assert result.outputs[output] == access_log_group_name(STAGE, api)  # the name the stages point at
        assert _log_group(clients, result.outputs[output])["retentionInDays"] == 30


def test_deploy_keeps_access_logs_as_long_as_it_is_told(clients: Any, project: Path, fake_chalice: FakeChalice) -> None:
    from deploy.names import access_log_group_name

    # A first deploy: moto 5.2.5 applies no in-place update to a log group (AWS does; see docs/deploy.md).
    deploy(
        STAGE,
        clients=clients,
        project_dir=project,
        run_command=fake_chalice,
        chalice="chalice",
        echo=lambda line: None,
        access_log_retention_days=90,
    )

    for api in ("rest", "websocket"):
        assert _log_group(clients, access_log_group_name(STAGE, api))["retentionInDays"] == 90


def test_deploy_sets_the_account_logging_role_when_the_account_has_none(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    from deploy.access_logs import ACCOUNT_STACK_NAME

    assert "cloudwatchRoleArn" not in clients("apigateway").get_account()

    result, printed = run_deploy(clients, project, fake_chalice)

    role_arn = clients("apigateway").get_account()["cloudwatchRoleArn"]
    assert result.logging_role is not None and result.logging_role.arn == role_arn
    assert result.logging_role.set_by_this_run and "account-wide" in printed
    outputs = clients("cloudformation").describe_stacks(StackName=ACCOUNT_STACK_NAME)["Stacks"][0]["Outputs"]
    assert {output["OutputKey"]: output["OutputValue"] for output in outputs} == {"CloudWatchRoleArn": role_arn}
    role_name = role_arn.rsplit("/", 1)[-1]
    trust = clients("iam").get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [statement["Principal"] for statement in trust["Statement"]] == [{"Service": "apigateway.amazonaws.com"}]
    # Its managed policy: moto's CloudFormation does not attach ManagedPolicyArns (test_static_checks reads the template).


def test_deploy_keeps_a_logging_role_the_account_already_has(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    from deploy.access_logs import ACCOUNT_STACK_NAME

    theirs = clients("iam").create_role(RoleName="someone-elses-apigateway-logs", AssumeRolePolicyDocument="{}")
    arn = theirs["Role"]["Arn"]
    clients("apigateway").update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
    )

    result, printed = run_deploy(clients, project, fake_chalice)

    assert clients("apigateway").get_account()["cloudwatchRoleArn"] == arn
    assert result.logging_role is not None and not result.logging_role.set_by_this_run
    assert "account-wide" not in printed
    stacks = clients("cloudformation").list_stacks()["StackSummaries"]
    assert ACCOUNT_STACK_NAME not in {stack["StackName"] for stack in stacks}


def test_deploy_replaces_an_account_logging_role_that_no_longer_exists(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    gone = f"arn:aws:iam::{ACCOUNT_ID}:role/deleted-apigateway-logs"
    clients("apigateway").update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": gone}]
    )

    result, _ = run_deploy(clients, project, fake_chalice)

    assert result.logging_role is not None and result.logging_role.set_by_this_run
    assert clients("apigateway").get_account()["cloudwatchRoleArn"] == result.logging_role.arn != gone


def test_access_logs_are_left_alone_on_a_second_run(clients: Any, project: Path, fake_chalice: FakeChalice) -> None:
    from deploy.access_logs import ACCOUNT_STACK_NAME, LoggingRole

    first, _ = run_deploy(clients, project, fake_chalice)
    account_stack = clients("cloudformation").describe_stacks(StackName=ACCOUNT_STACK_NAME)["Stacks"][0]

    second, printed = run_deploy(clients, project, fake_chalice)

    assert not second.access_logs_changed and "(unchanged)" in printed
    assert first.logging_role is not None and first.logging_role.set_by_this_run
    assert second.logging_role == LoggingRole(arn=first.logging_role.arn, set_by_this_run=False)
    # The WebSocket stage was updated by the first run only: once for its access logs, once for its throttling.
    assert len(clients("apigatewayv2").updates) == 2
    again = clients("cloudformation").describe_stacks(StackName=ACCOUNT_STACK_NAME)["Stacks"][0]
    assert again.get("LastUpdatedTime") == account_stack.get("LastUpdatedTime")


def test_a_logging_role_api_gateway_refuses_at_first_is_retried_until_it_propagates() -> None:
    from botocore.exceptions import ClientError

    from deploy.access_logs import _set_account_role

    class NewRoleNotYetAssumable:
        def __init__(self) -> None:
            self.calls = 0

        def update_account(self, *, patchOperations: list[dict[str, str]]) -> None:
            self.calls += 1
            if self.calls < 3:
                error = {"Error": {"Code": "BadRequestException", "Message": "The role ARN does not have ..."}}
                raise ClientError(error, "UpdateAccount")  # type: ignore[arg-type]

    apigateway, slept = NewRoleNotYetAssumable(), []
    _set_account_role(apigateway, "arn:aws:iam::123456789012:role/new", sleep=slept.append)

    assert apigateway.calls == 3 and slept == [5.0, 5.0]


def test_deploy_throttles_both_api_stages_with_the_documented_defaults(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    from deploy.throttling import DEFAULT_REST_BURST_LIMIT, DEFAULT_REST_RATE_LIMIT

    result, printed = run_deploy(clients, project, fake_chalice)

    rest_api_id, websocket_api_id = _deployed_api_ids(project)
    every_method = clients("apigateway").get_stage(restApiId=rest_api_id, stageName="api")["methodSettings"]["*/*"]
    assert (every_method["throttlingRateLimit"], every_method["throttlingBurstLimit"]) == (
        DEFAULT_REST_RATE_LIMIT,
        DEFAULT_REST_BURST_LIMIT,
    )
    routes = clients("apigatewayv2").get_stage(ApiId=websocket_api_id, StageName="api")["DefaultRouteSettings"]
    assert (routes["ThrottlingRateLimit"], routes["ThrottlingBurstLimit"]) == (50.0, 100)
    assert result.throttling_changed and "throttling: REST API 50 requests/s (bursts of 100)" in printed


def test_deploy_takes_the_throttling_from_the_environment_and_a_second_run_changes_nothing(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    settings = {
        "API_THROTTLE_RATE_LIMIT": "5",
        "API_THROTTLE_BURST_LIMIT": "10",
        "WEBSOCKET_THROTTLE_RATE_LIMIT": "2.5",
        "WEBSOCKET_THROTTLE_BURST_LIMIT": "7",
    }

    def deploy_with(environment: dict[str, str]) -> tuple[Any, str]:
        printed: list[str] = []
        result = deploy(
            STAGE,
            clients=clients,
            project_dir=project,
            run_command=fake_chalice,
            chalice="chalice",
            echo=printed.append,
            settings=environment,
        )
        return result, "\n".join(printed)

    first, _ = deploy_with(settings)
    second, printed = deploy_with(settings)

    rest_api_id, websocket_api_id = _deployed_api_ids(project)
    every_method = clients("apigateway").get_stage(restApiId=rest_api_id, stageName="api")["methodSettings"]["*/*"]
    assert (every_method["throttlingRateLimit"], every_method["throttlingBurstLimit"]) == (5.0, 10)
    routes = clients("apigatewayv2").get_stage(ApiId=websocket_api_id, StageName="api")["DefaultRouteSettings"]
    assert (routes["ThrottlingRateLimit"], routes["ThrottlingBurstLimit"]) == (2.5, 7)
    assert first.throttling_changed and not second.throttling_changed
    assert "bursts of 7) (unchanged)" in printed


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_THROTTLE_RATE_LIMIT", "0"),
        ("API_THROTTLE_RATE_LIMIT", "fast"),
        ("API_THROTTLE_BURST_LIMIT", "1.5"),
        ("WEBSOCKET_THROTTLE_BURST_LIMIT", "0"),
        ("WEBSOCKET_THROTTLE_RATE_LIMIT", "-3"),
    ],
)
def test_deploy_refuses_a_bad_throttling_setting_before_touching_aws(
    clients: Any, project: Path, fake_chalice: FakeChalice, name: str, value: str
) -> None:
    with pytest.raises(DeployError, match=name):
        deploy(
            STAGE,
            clients=clients,
            project_dir=project,
            run_command=fake_chalice,
            chalice="chalice",
            echo=lambda line: None,
            settings={name: value},
        )
    assert fake_chalice.calls == []
    assert clients("cloudformation").list_stacks()["StackSummaries"] == []
