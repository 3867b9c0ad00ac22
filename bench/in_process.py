"""Shared helper: the app in this process on moto's mock_aws, wired as tests/conftest.py does."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_runtime.harness import wait_for

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STAGE = "bench"
ADMIN_TOKEN = "bench-admin-token"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
JSON_HEADERS = {"Content-Type": "application/json"}
SETTINGS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "STAGE": STAGE,
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "LINK_SIGNING_SECRET": "bench-link-secret",
    "PUBLIC_BASE_URL": "http://bench.invalid",
    "WEBSOCKET_URL": "ws://bench.invalid/ws",
    "MODERATION_WORDS": "forbidden",
    "REVIEW_TIMEOUT_SECONDS": "3600",
}


@dataclass
class InProcessApp:
    """What a figure needs: the stack's outputs and a chalice.test client driving the real app."""

    outputs: dict[str, str]
    client: Any

    def submit(self, title: str) -> str:
        response = self.client.http.post("/submissions", headers=JSON_HEADERS, body=json.dumps({"title": title}))
        if response.status_code != 202:
            raise RuntimeError(f"POST /submissions answered {response.status_code}: {response.body!r}")
        return str(response.json_body["submissionId"])

    def submission(self, submission_id: str) -> dict[str, Any]:
        return dict(self.client.http.get(f"/submissions/{submission_id}").json_body)

    def pending_page(self, limit: int = 50) -> dict[str, Any]:
        response = self.client.http.get(f"/reviews?status=pending&limit={limit}&order=oldest", headers=ADMIN_HEADERS)
        if response.status_code != 200:
            raise RuntimeError(f"GET /reviews answered {response.status_code}: {response.body!r}")
        return dict(response.json_body)

    def approve(self, review_id: str) -> None:
        response = self.client.http.post(f"/reviews/{review_id}/approve", headers=ADMIN_HEADERS, body="{}")
        if response.status_code != 200:
            raise RuntimeError(f"approve answered {response.status_code}: {response.body!r}")


@contextmanager
def _environment() -> Iterator[None]:
    """Fake credentials and the app's settings, restored afterwards; never a real AWS account."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "MOTO_PORT":
            del os.environ[name]
    os.environ.update(SETTINGS)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def in_process_app() -> Iterator[InProcessApp]:
    """mock_aws with the Step Functions interpreter, our stack deployed, Lambda routed to the app."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import service
    from deploy.stack import app_environment, deploy_stack
    from local_runtime.lambda_dispatch import LambdaDispatcher, dispatching
    from local_runtime.moto_hooks import install_moto_patches

    with _environment(), mock_aws(config=MOTO_CONFIG):
        install_moto_patches()
        outputs = deploy_stack(
            boto3.client("cloudformation", region_name=REGION), stage=STAGE, region=REGION, account_id=ACCOUNT_ID
        )
        os.environ.update(app_environment(outputs))
        service.reset()
        import app

        logging.getLogger("chalicelib").setLevel(logging.WARNING)  # the app's JSON event lines would drown the report
        try:
            with dispatching(LambdaDispatcher.for_chalice_app(app.app)), Client(app.app, stage_name="bench") as client:
                yield InProcessApp(outputs=outputs, client=client)
        finally:
            _stop_running_executions(outputs["StateMachineArn"])
            service.reset()


def _stop_running_executions(state_machine_arn: str) -> None:
    """Executions run on moto's threads: stop them before the mock goes."""
    import boto3

    client = boto3.client("stepfunctions", region_name=REGION)
    running = client.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING")["executions"]
    for execution in running:
        client.stop_execution(executionArn=execution["executionArn"])


# The shared poller, with the benchmarks' shorter interval and TimeoutError for a condition never met.
poll = functools.partial(wait_for, interval=0.02, error=TimeoutError)
