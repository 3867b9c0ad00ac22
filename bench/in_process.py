"""Shared helper: the app in this process on moto's mock_aws (the stack the tests run on: aws_server.in_process_stack)."""

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

ACCOUNT_ID = "123456789012"  # moto's default account (bench/call_overhead.py reads its backends by it)
REGION = "us-east-1"
STAGE = "bench"
ADMIN_TOKEN = "bench-admin-token"
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
    # No reminder (the default 86400 is past this deadline anyway): the cost figure measures one separately.
    "REVIEW_REMINDER_SECONDS": "0",
    "RISK_CHECK": "on",  # the default, pinned: the figures price the check whatever the caller's environment says
}


@dataclass
class InProcessApp:
    """What a figure needs: the stack's outputs and a chalice.test client driving the real app."""

    outputs: dict[str, str]
    client: Any

    def submit(self, title: str, body: str = "") -> str:
        article = {"title": title, "body": body} if body else {"title": title}
        response = self.client.http.post("/submissions", headers=JSON_HEADERS, body=json.dumps(article))
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
    from chalice.test import Client

    from local_runtime.aws_server import in_process_stack
    from local_runtime.lambda_dispatch import LambdaDispatcher, dispatching

    with _environment(), in_process_stack(stage=STAGE) as outputs:
        import app

        logging.getLogger("chalicelib").setLevel(logging.WARNING)  # the app's JSON event lines would drown the report
        with dispatching(LambdaDispatcher.for_chalice_app(app.app)), Client(app.app, stage_name="bench") as client:
            yield InProcessApp(outputs=outputs, client=client)


# The shared poller, with the benchmarks' shorter interval and TimeoutError for a condition never met.
poll = functools.partial(wait_for, interval=0.02, error=TimeoutError)
