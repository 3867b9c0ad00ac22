"""Fixtures, chained: credentials -> moto -> the stateful stack -> the app's Lambda dispatcher -> HTTP client."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from local_runtime.interpreter_clock import ManualClock

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local_runtime.harness import wait_for  # noqa: E402  (the one poller; tests import it from here)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STAGE = "test"
ADMIN_TOKEN = "test-admin-token"
BASE_URL = "http://testserver"
SENDER_EMAIL = "moderation@example.com"
# A realistic review deadline: tests that need it to pass advance the interpreter's clock by it.
REVIEW_TIMEOUT_SECONDS = 3600
# Short webhook retries (the schedule on AWS spans a day): 1 s apart, two retries, three attempts in all.
TEST_DELIVERY = {
    "webhook_retry_interval_seconds": 1,
    "webhook_retry_max_attempts": 2,
    "webhook_retry_backoff_rate": 1.0,
    "webhook_retry_max_delay_seconds": 1,
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and the app's settings; never a real AWS account."""
    from chalicelib import service

    for name in list(__import__("os").environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "MOTO_PORT", "WEBHOOK_URL", "WEBHOOK_SECRET"):
            monkeypatch.delenv(name, raising=False)
    settings = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STAGE": STAGE,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "LINK_SIGNING_SECRET": "test-link-secret",
        "PUBLIC_BASE_URL": BASE_URL,
        "WEBSOCKET_URL": "ws://testserver/ws",
        "MODERATION_WORDS": "forbidden",
        # The risk check runs on (its default), answered by the local classifier behind moto's Comprehend.
        "RISK_MODEL_NAME": "alt-profanity-check 1.7.2 (local)",
        "REVIEW_TIMEOUT_SECONDS": str(REVIEW_TIMEOUT_SECONDS),
        "SENDER_EMAIL": SENDER_EMAIL,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    service.reset()
    yield
    service.reset()


@pytest.fixture
def interpreter_clock() -> Iterator[ManualClock]:
    """The Step Functions interpreter's clock for one test: a task-token deadline passes only when the test advances it.

    Every in-process test runs on it (``aws`` depends on it), so no test waits for a review deadline
    in real time; a test that needs one to pass asks for this fixture (a ``ManualClock``) and
    advances it (see :func:`advance_past_review_deadlines`).
    """
    from local_runtime.interpreter_clock import ManualClock, installed

    clock = ManualClock()
    with installed(clock):
        yield clock


@pytest.fixture
def aws(environment: None, interpreter_clock: ManualClock) -> Iterator[dict[str, str]]:
    """moto with the Step Functions interpreter, and our CloudFormation stack deployed into it."""
    from deploy.definition import DeliverySettings
    from local_runtime.aws_server import in_process_stack

    # SES sends only from a verified identity (in its sandbox, also only to verified ones; moto checks the sender).
    with in_process_stack(
        stage=STAGE, delivery=DeliverySettings(**TEST_DELIVERY), sender_email=SENDER_EMAIL
    ) as outputs:
        yield outputs


@pytest.fixture
def chalice_app(aws: dict[str, str]) -> Any:
    import app

    return app.app


@pytest.fixture
def dispatcher(chalice_app: Any) -> Iterator[Any]:
    """moto's Lambda invocations go to the app's own functions."""
    from local_runtime.lambda_dispatch import LambdaDispatcher, dispatching

    with dispatching(LambdaDispatcher.for_chalice_app(chalice_app)) as active:
        yield active


@pytest.fixture
def client(dispatcher: Any, chalice_app: Any) -> Iterator[Any]:
    from chalice.test import Client

    # A stage absent from .chalice/config.json, so only the test environment applies.
    with Client(chalice_app, stage_name="pytest") as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}


def json_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **extra}


def advance_past_review_deadlines(interpreter_clock: ManualClock, *, waiting: int = 1) -> None:
    """Once ``waiting`` review tasks wait for their token, move the interpreter's clock to their deadline.

    The review item is written (by the RequestApproval Lambda) before its task starts waiting, and a
    wait that starts after an advance counts its deadline from the advanced time, as on AWS: so
    this first waits for the tasks to be waiting (no sleep: the clock signals it), then advances.
    """
    interpreter_clock.wait_until_waiting(waiting)
    timed_out = interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS)
    assert timed_out == waiting, f"{timed_out} of {waiting} waiting review tasks timed out"


def submit(client: Any, title: str, body: str | None = None, **headers: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"title": title}
    if body is not None:
        payload["body"] = body
    response = client.http.post("/submissions", headers=json_headers(**headers), body=json.dumps(payload))
    assert response.status_code == 202, response.body
    return response.json_body


def submission_status(client: Any, submission_id: str) -> str:
    return client.http.get(f"/submissions/{submission_id}").json_body["status"]


def wait_for_status(client: Any, submission_id: str, *statuses: str) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        body = client.http.get(f"/submissions/{submission_id}").json_body
        return body if body["status"] in statuses else None

    return wait_for(current)


def pending_review_for(client: Any, admin_headers: dict[str, str], submission_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        items = client.http.get("/reviews?status=pending&limit=100", headers=admin_headers).json_body["items"]
        return next((item for item in items if item["submissionId"] == submission_id), None)

    return wait_for(find)


EVENTS = Path(__file__).resolve().parent / "events"


def load_event(name: str, **request_context: Any) -> dict[str, Any]:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    event["requestContext"].update(request_context)
    return event


def _lambda_entry_point(handler_string: str) -> Callable[[dict[str, Any], Any], Any]:
    """What Lambda calls for a handler string such as ``app.websocket_connect``."""
    import importlib

    module_name, _, attribute = handler_string.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


class WebsocketClients:
    """Drives the app's WebSocket handlers with API Gateway's events; moto's management API records what is sent."""

    def __init__(self, chalice_app: Any) -> None:
        self._handlers = {
            route: _lambda_entry_point(config.handler_string)
            for route, config in chalice_app.websocket_handlers.items()
        }

    def connect(self, connection_id: str, *, submission_id: str | None = None) -> dict[str, Any]:
        event = load_event("websocket_connect", connectionId=connection_id)
        if submission_id is not None:
            event["queryStringParameters"] = {"submissionId": submission_id}
        return self._handlers["$connect"](event, None)

    def send(self, connection_id: str, body: str | dict[str, Any]) -> dict[str, Any]:
        event = load_event("websocket_message", connectionId=connection_id)
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        return self._handlers["$default"](event, None)

    def disconnect(self, connection_id: str) -> dict[str, Any]:
        event = load_event("websocket_disconnect", connectionId=connection_id)
        return self._handlers["$disconnect"](event, None)

    @staticmethod
    def received(connection_id: str) -> list[dict[str, Any]]:
        """Every message posted to ``connection_id`` through moto's management API, in order."""
        from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

        backend = apigatewaymanagementapi_backends[ACCOUNT_ID][REGION]
        data = backend.connections[connection_id].data.decode() if connection_id in backend.connections else ""
        decoder, messages, position = json.JSONDecoder(), [], 0
        while position < len(data):
            message, position = decoder.raw_decode(data, position)
            messages.append(message)
        return messages

    def decisions(self, connection_id: str) -> list[dict[str, Any]]:
        return [message for message in self.received(connection_id) if message.get("type") == "decision"]


@pytest.fixture
def websockets_clients(chalice_app: Any, dispatcher: Any) -> WebsocketClients:
    return WebsocketClients(chalice_app)
