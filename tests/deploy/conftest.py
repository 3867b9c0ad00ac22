"""Fixtures for the deploy checks: moto's server on a free port, a throwaway copy of the Chalice project, a fake chalice."""

from __future__ import annotations

import json
import logging
import shutil
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local_runtime.aws_server import MOTO_CONFIG
from tests.conftest import ACCOUNT_ID, REGION, ROOT

VENV_BIN = ROOT / ".venv" / "bin"
FAKE_REST_URL = "https://rest123abc.execute-api.us-east-1.amazonaws.com/api/"
FAKE_WEBSOCKET_URL = "wss://ws456def.execute-api.us-east-1.amazonaws.com/api/"
# The stage chalice deploys both APIs to (api_gateway_stage in .chalice/config.json).
API_STAGE = "api"
# The Lambda functions chalice creates for app.py (chalice names them content-moderation-{stage}-{name}).
CHALICE_FUNCTIONS = (
    "",  # the REST API handler is content-moderation-{stage}
    "-admin_auth",
    "-websocket_connect",
    "-websocket_message",
    "-websocket_disconnect",
    "-check_content",
    "-request_approval",
    "-record_outcome",
    "-deliver_webhook",
    "-record_delivery_failure",
    "-publish_queue_age",  # the schedule behind the oldest-pending-review alarm
)


def tool(name: str) -> str:
    """A console script from the project's venv (cfn-lint, statelint, chalice)."""
    path = VENV_BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed: run `make test` (it installs requirements-dev.txt)")
        return found
    return str(path)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's HTTP server in a thread on a free port: the deploy module talks to it with real HTTP calls."""
    from moto.server import ThreadedMotoServer

    from local_runtime.moto_hooks import route_cloudformation_state_machines_to_interpreter

    werkzeug_logger = logging.getLogger("werkzeug")  # one access-log line per AWS call otherwise
    level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # The same settings as the in-process tests, and CloudFormation's state machines in the backend
    # the API serves (tests/conftest.py applies the same hook; it is global to the process).
    _post(f"{url}/moto-api/config", MOTO_CONFIG)
    route_cloudformation_state_machines_to_interpreter()
    yield url
    server.stop()
    werkzeug_logger.setLevel(level)


@pytest.fixture
def clients(moto_endpoint: str) -> Any:
    """service name -> boto3 client against the moto server, with fake credentials; moto starts empty."""
    import boto3

    _post(f"{moto_endpoint}/moto-api/reset", None)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=moto_endpoint)
            if service == "apigatewayv2":
                cache[service] = WebSocketStageSettings(cache[service])
        return cache[service]

    return client


class WebSocketStageSettings:
    """moto's apigatewayv2 client plus the UpdateStage moto 5.2.5 lacks: records each call, and get_stage shows it.

    Only ``AccessLogSettings`` and ``DefaultRouteSettings`` (all the deploy command sets); everything else is moto's.
    """

    def __init__(self, moto_client: Any) -> None:
        self._client = moto_client
        self.updates: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_stage(self, *, ApiId: str, StageName: str, **settings: Any) -> dict[str, Any]:
        """Only the settings the deploy command sets: ``AccessLogSettings`` and ``DefaultRouteSettings``."""
        assert set(settings) <= {"AccessLogSettings", "DefaultRouteSettings"}, settings
        self._client.get_stage(ApiId=ApiId, StageName=StageName)  # NotFoundException as on AWS
        self.updates.append({"ApiId": ApiId, "StageName": StageName, **settings})
        return self.get_stage(ApiId=ApiId, StageName=StageName)

    def get_stage(self, *, ApiId: str, StageName: str) -> dict[str, Any]:
        stage = dict(self._client.get_stage(ApiId=ApiId, StageName=StageName))
        for update in self.updates:
            if (update["ApiId"], update["StageName"]) == (ApiId, StageName):
                stage.update({name: value for name, value in update.items() if name not in ("ApiId", "StageName")})
        return stage


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's .chalice folder: the deploy command rewrites config.json there, never in the repo."""
    target = tmp_path / "project"
    (target / ".chalice").mkdir(parents=True)
    for source in (ROOT / ".chalice").glob("*.json"):
        shutil.copy(source, target / ".chalice" / source.name)
    return target


@dataclass
class FakeChalice:
    """Stands in for the `chalice` subprocess, which cannot run against moto.

    moto 5.2.5 rejects chalice's REST API (ImportRestApi accepts OpenAPI 3 only; chalice sends
    Swagger 2.0), see test_chalice_deploy_itself_cannot_run_against_moto. So this fake records
    each call and writes or removes .chalice/deployed/{stage}.json the way chalice does, so the
    steps after `chalice deploy` (URLs, the WebSocket URL parameter) run for real.
    """

    clients: Any = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        self.calls.append({"argv": list(argv), "cwd": cwd, "env": dict(env)})
        command, stage = argv[1], argv[argv.index("--stage") + 1]
        record = cwd / ".chalice" / "deployed" / f"{stage}.json"
        if command == "deploy":
            # Like chalice: the first deploy creates both APIs with their stage, a later one keeps them.
            api_ids = _recorded_api_ids(record) or self._create_apis(stage)
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(_deployed_record(stage, *api_ids), indent=2))
        elif command == "delete":
            record.unlink(missing_ok=True)

    def _create_apis(self, stage: str) -> tuple[str, str]:
        """A REST API and a WebSocket API in moto, each with the stage chalice gives it ("api")."""
        if self.clients is None:
            return "rest123abc", "ws456def"
        rest = self.clients("apigateway").create_rest_api(name=f"content-moderation-{stage}")
        self.clients("apigateway").create_stage(restApiId=rest["id"], stageName=API_STAGE, deploymentId="chalice")
        websocket = self.clients("apigatewayv2").create_api(
            Name=f"content-moderation-{stage}-websocket-api",
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
        )
        self.clients("apigatewayv2").create_stage(ApiId=websocket["ApiId"], StageName=API_STAGE)
        return rest["id"], websocket["ApiId"]

    def commands(self) -> list[list[str]]:
        """Each call's arguments after the executable."""
        return [call["argv"][1:] for call in self.calls]


@pytest.fixture
def fake_chalice(clients: Any) -> FakeChalice:
    return FakeChalice(clients=clients)


def function_names(stage: str) -> list[str]:
    return [f"content-moderation-{stage}{suffix}" for suffix in CHALICE_FUNCTIONS]


def _recorded_api_ids(record: Path) -> tuple[str, str] | None:
    if not record.exists():
        return None
    resources = {resource["name"]: resource for resource in json.loads(record.read_text())["resources"]}
    return resources["rest_api"]["rest_api_id"], resources["websocket_api"]["websocket_api_id"]


def _deployed_record(stage: str, rest_api_id: str, websocket_api_id: str) -> dict[str, Any]:
    """The shape of chalice 1.34's .chalice/deployed/{stage}.json (only the fields the deploy module reads)."""
    functions = [
        {
            "name": name.removeprefix(f"content-moderation-{stage}").lstrip("-") or "api_handler",
            "resource_type": "lambda_function",
            "lambda_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
        }
        for name in function_names(stage)
    ]
    return {
        "schema_version": "2.0",
        "backend": "api",
        "resources": [
            *functions,
            {
                "name": "rest_api",
                "resource_type": "rest_api",
                "rest_api_id": rest_api_id,
                "rest_api_url": FAKE_REST_URL,
            },
            {
                "name": "websocket_api",
                "resource_type": "websocket_api",
                "websocket_api_id": websocket_api_id,
                "websocket_api_url": FAKE_WEBSOCKET_URL,
            },
        ],
    }


def _post(url: str, body: Any) -> None:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
