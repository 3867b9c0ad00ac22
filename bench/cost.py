"""Figure 4: state transitions and Lambda invocations per clean and per flagged submission, and their price."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.in_process import InProcessApp, in_process_app, poll
from bench.report import MISS, PASS, FigureResult, Row

# List prices (us-east-1): Step Functions Standard Workflows, Lambda requests and x86 duration.
USD_PER_TRANSITION = 0.025 / 1_000
USD_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
USD_PER_GB_SECOND = 0.0000166667
LAMBDA_MEMORY_GB = 256 / 1024  # lambda_memory_size in .chalice/config.json
LAMBDA_SECONDS = 0.100  # assumed billed duration per invocation
SUBMISSIONS = 1_000_000
TIMEOUT_SECONDS = 30.0
# (transitions, Lambda invocations) at most. A webhook adds its Map iteration's task: one state, one invocation.
TARGETS = {"clean": (5, 2), "flagged": (8, 3), "clean + webhook": (6, 3), "flagged + webhook": (8, 4)}


@dataclass
class ExecutionCost:
    kind: str
    transitions: int
    invocations: int
    events: Counter[str]
    # AWS API calls made while it ran, by "service.Operation" (the benchmark's own polling excluded).
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def usd_per_million(self) -> float:
        per_invocation = USD_PER_LAMBDA_REQUEST + USD_PER_GB_SECOND * LAMBDA_MEMORY_GB * LAMBDA_SECONDS
        return SUBMISSIONS * (self.transitions * USD_PER_TRANSITION + self.invocations * per_invocation)

    @property
    def step_functions_usd_per_million(self) -> float:
        return SUBMISSIONS * self.transitions * USD_PER_TRANSITION

    @property
    def lambda_usd_per_million(self) -> float:
        return self.usd_per_million - self.step_functions_usd_per_million


def history(execution_arn: str) -> list[dict[str, Any]]:
    """Every event of one execution (GetExecutionHistory, paginated)."""
    import boto3

    client = boto3.client("stepfunctions", region_name="us-east-1")
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def count(kind: str, events: list[dict[str, Any]]) -> ExecutionCost:
    """Transitions = *StateEntered events; Lambda invocations = LambdaFunctionScheduled or a Lambda TaskScheduled."""
    types = Counter(event["type"] for event in events)
    transitions = sum(number for name, number in types.items() if name.endswith("StateEntered"))
    invocations = sum(
        1
        for event in events
        if event["type"] == "LambdaFunctionScheduled"
        or (
            event["type"] == "TaskScheduled"
            and event.get("taskScheduledEventDetails", {}).get("resourceType") == "lambda"
        )
    )
    return ExecutionCost(kind, transitions, invocations, types)


def _execution_arn(app: InProcessApp, submission_id: str) -> str:
    import boto3

    client = boto3.client("stepfunctions", region_name="us-east-1")
    executions = client.list_executions(stateMachineArn=app.outputs["StateMachineArn"])["executions"]
    return next(execution["executionArn"] for execution in executions if execution["name"] == submission_id)


def _final(app: InProcessApp, submission_id: str) -> dict[str, Any]:
    return dict(
        poll(
            lambda: (body := app.submission(submission_id))["status"] not in ("CHECKING", "IN_REVIEW") and body,
            timeout=TIMEOUT_SECONDS,
        )
    )


def _succeeded(execution_arn: str) -> None:
    import boto3

    client = boto3.client("stepfunctions", region_name="us-east-1")
    poll(
        lambda: client.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED", timeout=TIMEOUT_SECONDS
    )


class CallCounter:
    """Counts every AWS API call made by botocore in this process, by "service.Operation".

    Wraps ``BaseClient._make_api_call`` (what every generated client method calls), so the app's
    calls are counted whatever client or resource made them; polling done by the benchmark itself
    is paused with :meth:`paused`.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._paused = threading.local()

    def __enter__(self) -> CallCounter:
        from botocore.client import BaseClient

        self._original = BaseClient._make_api_call
        counter = self

        def counting(client: Any, operation_name: str, api_params: Any) -> Any:
            if not getattr(counter._paused, "value", False):
                counter.calls[f"{client.meta.service_model.service_name}.{operation_name}"] += 1
            return counter._original(client, operation_name, api_params)

        BaseClient._make_api_call = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original  # type: ignore[method-assign]

    def paused(self, function: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            self._paused.value = True
            try:
                return function(*args, **kwargs)
            finally:
                self._paused.value = False

        return run


def measure() -> tuple[ExecutionCost, ...]:
    """Run one clean and one flagged (then approved) submission in-process, without and then with a
    webhook (a local receiver answering 204); count from their histories."""
    with in_process_app() as app:
        without = _measure_pair(app, suffix="")
        with _receiver() as url:
            import base64
            import os

            from chalicelib import service

            os.environ["WEBHOOK_URL"] = url  # in_process_app restores the environment afterwards
            os.environ["WEBHOOK_SECRET"] = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
            service.reset()
            with_webhook = _measure_pair(app, suffix=" + webhook")
        return (*without, *with_webhook)


@contextmanager
def _receiver() -> Iterator[str]:
    """A webhook receiver on loopback that accepts everything (the signature is tested elsewhere)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _measure_pair(app: InProcessApp, *, suffix: str) -> tuple[ExecutionCost, ExecutionCost]:
    with CallCounter() as clean_calls:
        clean_id = app.submit("A quiet local story")
        if _final_with(clean_calls.paused(app.submission), clean_id)["status"] != "APPROVED":
            raise RuntimeError("the clean submission was not approved")
        clean_arn = clean_calls.paused(_execution_arn)(app, clean_id)
        clean_calls.paused(_succeeded)(clean_arn)

    with CallCounter() as flagged_calls:
        flagged_id = app.submit("A story with a forbidden word")
        review = poll(
            flagged_calls.paused(
                lambda: next(
                    (item for item in app.pending_page(100)["items"] if item["submissionId"] == flagged_id), None
                )
            ),
            timeout=TIMEOUT_SECONDS,
        )
        app.approve(review["reviewId"])
        if _final_with(flagged_calls.paused(app.submission), flagged_id)["status"] != "APPROVED":
            raise RuntimeError("the flagged submission was not approved")
        flagged_arn = flagged_calls.paused(_execution_arn)(app, flagged_id)
        flagged_calls.paused(_succeeded)(flagged_arn)
    clean = count("clean" + suffix, history(clean_arn))
    flagged = count("flagged" + suffix, history(flagged_arn))
    clean.calls, flagged.calls = clean_calls.calls, flagged_calls.calls
    return clean, flagged


def _final_with(read: Any, submission_id: str) -> dict[str, Any]:
    return dict(
        poll(
            lambda: (body := read(submission_id))["status"] not in ("CHECKING", "IN_REVIEW") and body,
            timeout=TIMEOUT_SECONDS,
        )
    )


def _price(value: float) -> str:
    return f"${value:,.2f}"


def run(quick: bool = False) -> FigureResult:
    started = time.perf_counter()
    costs = measure()
    rows = []
    for cost in costs:
        max_transitions, max_invocations = TARGETS[cost.kind]
        ok = cost.transitions <= max_transitions and cost.invocations <= max_invocations
        rows.append(
            Row(
                f"Cost per {cost.kind} submission",
                f"{cost.transitions} transitions, {cost.invocations} Lambda invocations",
                f"≤ {max_transitions} transitions, ≤ {max_invocations} invocations",
                PASS if ok else MISS,
            )
        )
    for cost in costs:
        rows.append(
            Row(
                f"AWS API calls per {cost.kind} submission",
                f"{sum(cost.calls.values())}: "
                + ", ".join(f"{name} ×{number}" for name, number in sorted(cost.calls.items())),
            )
        )
    for cost in costs:
        rows.append(
            Row(
                f"USD per million {cost.kind} submissions",
                f"{_price(cost.usd_per_million)} (Step Functions {_price(cost.step_functions_usd_per_million)} "
                f"+ Lambda {_price(cost.lambda_usd_per_million)})",
            )
        )
    clean, flagged = costs[0], costs[1]
    event_lines = "\n".join(
        f"- {cost.kind}: " + ", ".join(f"{name} ×{number}" for name, number in sorted(cost.events.items()))
        for cost in costs
    )
    per_invocation = USD_PER_LAMBDA_REQUEST + USD_PER_GB_SECOND * LAMBDA_MEMORY_GB * LAMBDA_SECONDS
    method = f"""
In-process on moto's `mock_aws` with the Step Functions interpreter running our `statemachine.json`
(deployed by `deploy/stack.py`). One clean submission runs to APPROVED; one flagged submission waits in
review, is approved through `POST /reviews/{{id}}/approve`, and runs to APPROVED; then both again with
`WEBHOOK_URL` set (a receiver on loopback answering 204). Every execution also puts its outcome on the
event bus from the state machine (`PublishEvent`, a direct integration: a transition, no Lambda); without a
webhook the `DeliverWebhooks` Map has no items (one transition). For each execution,
`GetExecutionHistory` is read in full: **state transitions** = events whose type ends in `StateEntered`
(what Standard Workflows bill), **Lambda invocations** = `LambdaFunctionScheduled` events plus
`TaskScheduled` events whose `resourceType` is `lambda`. Events seen:

{event_lines}

Dollars per million submissions at list prices (us-east-1): Standard Workflows $0.025 per 1,000 state
transitions; Lambda $0.20 per million requests plus $0.0000166667 per GB-second. **Assumption**: each
invocation is billed for {1000 * LAMBDA_SECONDS:.0f} ms at {int(LAMBDA_MEMORY_GB * 1024)} MB (the
`lambda_memory_size` in `.chalice/config.json`): ${per_invocation:.10f} per invocation, i.e.
${per_invocation * 1e6:.4f} per million invocations. Not counted: DynamoDB, API Gateway (REST and WebSocket), data
transfer, and the admin's approve request. Clean: {clean.transitions} × $0.000025 + {clean.invocations} ×
${per_invocation:.10f}; flagged: {flagged.transitions} × $0.000025 + {flagged.invocations} × ${per_invocation:.10f}.
Retries would add transitions and invocations; none happened here.

**AWS API calls** are every botocore call made in the process while the submission ran (the app's
handlers and Lambda functions; the interpreter's Lambda invocations are dispatched in-process and are
Step Functions' own requests on AWS, counted above as invocations). The flagged count includes the
reviewer's approve request. The benchmark's own polling (reading the submission's status, the pending
page, DescribeExecution) is excluded.
"""
    return FigureResult(
        key="cost",
        title="Cost per submission",
        rows=rows,
        method=method,
        seconds=time.perf_counter() - started,
    )
