"""The real chalice CLI: `chalice package` for the dev stage, and how far `chalice deploy` gets against moto."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from deploy.chalice_project import load_config, websocket_stage
from deploy.commands import DeployError, deploy
from deploy.definition import FUNCTION_PLACEHOLDERS, function_name
from deploy.names import Target
from deploy.policy import render_function_policy, render_policy
from tests.conftest import ACCOUNT_ID, REGION, ROOT
from tests.deploy.conftest import function_names, tool


def offline_environment(**extra: str) -> dict[str, str]:
    """Fake credentials only: chalice must never reach a real account from a test."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION, **extra)
    return env


@pytest.fixture(scope="module")
def sam_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`chalice package --stage dev` run from the repository root, as a user would."""
    out = tmp_path_factory.mktemp("chalice-package") / "out"
    completed = subprocess.run(
        [tool("chalice"), "package", "--stage", "dev", str(out)],
        cwd=ROOT,
        env=offline_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    yield out / "sam.json"


def test_chalice_package_succeeds_and_its_template_passes_cfn_lint(sam_template: Path) -> None:
    assert (sam_template.parent / "deployment.zip").exists()
    completed = subprocess.run(
        [tool("cfn-lint"), "--regions", REGION, "--", str(sam_template)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_lambda_bundle_holds_the_app_and_nothing_of_the_local_runtime_or_its_model(sam_template: Path) -> None:
    """The local Comprehend stand-in (a scikit-learn model) and the runtime are dev-only: never shipped."""
    import zipfile

    with zipfile.ZipFile(sam_template.parent / "deployment.zip") as bundle:
        names = bundle.namelist()
    tops = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib"} <= tops
    forbidden = {"local_runtime", "profanity_check", "sklearn", "scipy", "numpy", "joblib", "deploy", "tests", "bench"}
    assert tops & forbidden == set()
    assert "chalicelib/integrations/toxicity.py" in names  # the Comprehend caller ships
    assert "chalicelib/domain/content_check/confusables_table.py" in names  # the generated look-alike table ships
    assert (
        sum(info.file_size for info in zipfile.ZipFile(sam_template.parent / "deployment.zip").infolist()) < 2_000_000
    )


def test_packaged_functions_get_the_hand_written_policy_and_the_stage_environment(sam_template: Path) -> None:
    resources = json.loads(sam_template.read_text())["Resources"]
    config = load_config(ROOT)
    policy = json.loads((ROOT / ".chalice" / config["stages"]["dev"]["iam_policy_file"]).read_text())

    own_policies = {
        function: json.loads((ROOT / ".chalice" / settings["iam_policy_file"]).read_text())
        for function, settings in config["stages"]["dev"]["lambda_functions"].items()
    }
    assert set(own_policies) == {"check_content", "record_outcome"}

    roles = {name: resource for name, resource in resources.items() if resource["Type"] == "AWS::IAM::Role"}
    functions = {
        name: resource for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"
    }
    assert len(functions) == len(function_names("dev"))
    assert len(roles) == len(functions)  # autogen_policy false: one role per function, each with our policy
    for function in functions.values():
        (role_name, _) = function["Properties"]["Role"]["Fn::GetAtt"]
        (inline,) = roles[role_name]["Properties"]["Policies"]
        # check_content's and record_outcome's own policies (the shared one plus Comprehend, or SNS's
        # Publish), the shared one for every other.
        own_by_role = {"CheckContentRole": "check_content", "RecordOutcomeRole": "record_outcome"}
        expected = own_policies[own_by_role[role_name]] if role_name in own_by_role else policy
        assert inline["PolicyDocument"] == expected, role_name
        assert function["Properties"]["Environment"]["Variables"] == config["stages"]["dev"]["environment_variables"]
    assert "CheckContentRole" in roles and "RecordOutcomeRole" in roles


def test_packaged_websocket_api_stage_is_the_one_the_policy_lets_the_app_post_to(sam_template: Path) -> None:
    resources = json.loads(sam_template.read_text())["Resources"]
    api = resources["WebsocketAPI"]["Properties"]
    assert api["ProtocolType"] == "WEBSOCKET"
    routes = sorted(
        resource["Properties"]["RouteKey"]
        for resource in resources.values()
        if resource["Type"] == "AWS::ApiGatewayV2::Route"
    )
    assert routes == ["$connect", "$default", "$disconnect"]
    # chalice 1.34 names the WebSocket stage after api_gateway_stage; ManageConnections is scoped to it.
    stage_name = resources["WebsocketAPIStage"]["Properties"]["StageName"]
    assert stage_name == websocket_stage(load_config(ROOT), "dev")
    assert f"*/{stage_name}/POST/@connections/*" in json.dumps(resources)


class CapturingRunner:
    """Runs the real command and keeps its output (the deploy module streams it to a terminal instead)."""

    def __init__(self) -> None:
        self.output = ""

    def __call__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        completed = subprocess.run(list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=300)
        self.output += completed.stdout + completed.stderr
        if completed.returncode != 0:
            raise DeployError(f"{argv[1]} failed with exit status {completed.returncode}")


def test_chalice_deploy_itself_cannot_run_against_moto(clients: Any, moto_endpoint: str, tmp_path: Path) -> None:
    """The real `chalice deploy`, pointed at moto's server, fails at the REST API: that is why the
    deploy-command tests replace it with a fake.

    moto 5.2.5's ImportRestApi accepts only OpenAPI 3 documents; chalice uploads Swagger 2.0
    (it also expects info.description, which chalice does not send). Everything chalice does
    before that runs for real, so this still checks that chalice creates the Lambda functions
    under the names the state machine calls, with the hand-written policy and the stack's
    table names and state machine ARN. If this starts passing, moto has caught up: replace the
    fake in test_deploy_command.py with the real chalice.
    """
    project = tmp_path / "project"
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", project / "app.py")
    (project / ".chalice").mkdir()
    shutil.copy(ROOT / ".chalice" / "config.json", project / ".chalice" / "config.json")
    # No third-party packages: the zip's contents are not under test and packaging them needs PyPI.
    (project / "requirements.txt").write_text("")
    runner = CapturingRunner()

    with pytest.raises(DeployError):
        deploy(
            "dev",
            clients=clients,
            project_dir=project,
            run_command=runner,
            chalice=tool("chalice"),
            echo=lambda line: None,
            environment=offline_environment(AWS_ENDPOINT_URL=moto_endpoint),
        )

    assert "ImportRestApi" in runner.output, runner.output
    lambda_client, iam = clients("lambda"), clients("iam")
    created = {function["FunctionName"] for function in lambda_client.list_functions()["Functions"]}
    # The names the state machine definition and its role use (deploy/definition.py) are chalice's.
    assert {function_name("dev", function) for function in FUNCTION_PLACEHOLDERS.values()} <= created
    config = load_config(project)
    target = Target(stage="dev", region=REGION, account_id=ACCOUNT_ID)
    policy = render_policy(target, websocket_stage="api")
    own_policies = {
        function_name("dev", function): render_function_policy(target, function, websocket_stage="api")
        for function in ("check_content", "record_outcome")
    }
    assert set(own_policies) <= created
    for name in sorted(created):
        configuration = lambda_client.get_function_configuration(FunctionName=name)
        assert configuration["Environment"]["Variables"] == config["stages"]["dev"]["environment_variables"]
        role = configuration["Role"].rsplit("/", 1)[-1]
        documents = [
            iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            for policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        ]
        expected = own_policies.get(name, policy)
        assert [_as_dict(document) for document in documents] == [expected], name


def _as_dict(document: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(document) if isinstance(document, str) else document


def test_every_packaged_function_traces_with_x_ray_and_the_queue_age_runs_every_five_minutes(
    sam_template: Path,
) -> None:
    """`"xray": true` in .chalice/config.json: chalice packages each function with active tracing
    (and the REST API stage with tracing on); the hand-written policy grants what the tracer sends."""
    import json

    resources = json.loads(sam_template.read_text())["Resources"]
    functions = {
        name: resource for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"
    }
    assert functions and all(function["Properties"]["Tracing"] == "Active" for function in functions.values())
    schedule = functions["PublishQueueAge"]["Properties"]["Events"]
    assert [event["Properties"]["Schedule"] for event in schedule.values()] == ["rate(5 minutes)"]
    policy = json.loads((ROOT / ".chalice" / "policy-dev.json").read_text())
    granted = {
        action
        for statement in policy["Statement"]
        for action in statement["Action"]
        if isinstance(statement["Action"], list)
    }
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= granted
