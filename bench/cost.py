"""Figure 4: state transitions and Lambda invocations per clean and per flagged submission, and their price."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
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
# Amazon Comprehend, billed per request in units of 100 characters with a 3-unit minimum
# (https://aws.amazon.com/comprehend/pricing/: "1 unit = 100 characters, 3-unit minimum per request").
# The per-unit price is a third-party figure: $0.0001 per unit, quoted for the standard Comprehend NLP
# APIs by https://www.cloudzero.com/blog/amazon-comprehend-pricing/ (check it against the official page).
USD_PER_COMPREHEND_UNIT = 0.0001
COMPREHEND_CHARACTERS_PER_UNIT = 100
COMPREHEND_MINIMUM_UNITS = 3
DETECT_TOXIC_CONTENT = "comprehend.DetectToxicContent"
SUBMISSIONS = 1_000_000
TIMEOUT_SECONDS = 30.0
# (transitions, Lambda invocations) at most. A webhook adds its Map iteration's task: one state, one invocation.
TARGETS = {
    "clean": (5, 2),
    "flagged": (8, 3),
    "clean + webhook": (6, 3),
    "flagged + webhook": (8, 4),
    # SPEC §14: a review decided before its reminder costs what it always did; one that waits past it
    # adds RemindReview, ReminderDue, PublishReminderEvent, DeliverReminderWebhooks and AwaitDecision.
    "flagged, decided before its reminder": (8, 3),
    "flagged, decided after its reminder": (13, 5),
}
# The reminder measurement: a review deadline of REVIEW_TIMEOUT_SECONDS (3600) with a reminder this long before it.
BENCH_REMINDER_SECONDS = 600


@dataclass
class ExecutionCost:
    kind: str
    transitions: int
    invocations: int
    events: Counter[str]
    # AWS API calls made while it ran, by "service.Operation" (the benchmark's own polling excluded).
    calls: Counter[str] = field(default_factory=Counter)
    # Comprehend units billed for its DetectToxicContent requests (see comprehend_units).
    comprehend_units: int = 0

    @property
    def usd_per_million(self) -> float:
        return self.step_functions_usd_per_million + self.lambda_usd_per_million + self.comprehend_usd_per_million

    @property
    def step_functions_usd_per_million(self) -> float:
        return SUBMISSIONS * self.transitions * USD_PER_TRANSITION

    @property
    def lambda_usd_per_million(self) -> float:
        per_invocation = USD_PER_LAMBDA_REQUEST + USD_PER_GB_SECOND * LAMBDA_MEMORY_GB * LAMBDA_SECONDS
        return SUBMISSIONS * self.invocations * per_invocation

    @property
    def comprehend_usd_per_million(self) -> float:
        return SUBMISSIONS * self.comprehend_units * USD_PER_COMPREHEND_UNIT


def request_units(texts: Iterable[str]) -> int:
    """Comprehend units of one request: the characters of its segments, rounded up per 100, at least 3."""
    characters = sum(len(text) for text in texts)
    return max(COMPREHEND_MINIMUM_UNITS, math.ceil(characters / COMPREHEND_CHARACTERS_PER_UNIT))


def detect_toxic_content_texts(params: Any) -> list[str]:
    """The segments' texts of one DetectToxicContent request (its botocore parameters)."""
    return [str(segment["Text"]) for segment in params.get("TextSegments", [])]


def comprehend_units(requests: Iterable[Any]) -> int:
    """Units billed for these DetectToxicContent requests (botocore parameters), each counted on its own."""
    return sum(request_units(detect_toxic_content_texts(params)) for params in requests)


COMPREHEND_METHOD = f"""**Comprehend** (the risk check's `DetectToxicContent`) is billed per request in
units of {COMPREHEND_CHARACTERS_PER_UNIT} characters with a {COMPREHEND_MINIMUM_UNITS}-unit minimum
(https://aws.amazon.com/comprehend/pricing/: "1 unit = 100 characters, 3-unit minimum per request"). Units
are counted for each request the app actually sent (recorded by the call counter): the characters of that
request's segments (Python `len`, code points; the same as bytes for ASCII prose) ÷ 100, rounded up, at
least {COMPREHEND_MINIMUM_UNITS}. **The per-unit price, ${USD_PER_COMPREHEND_UNIT} per unit, is a third-party
figure**: https://www.cloudzero.com/blog/amazon-comprehend-pricing/ quotes it for the standard Comprehend NLP
APIs; check it against the official page for toxicity detection before relying on it."""


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
    is paused with :meth:`paused`. The parameters of the operations named in ``record`` are kept,
    in order, in :attr:`requests` (DetectToxicContent's by default: Comprehend bills by their text).
    """

    def __init__(self, record: Iterable[str] = (DETECT_TOXIC_CONTENT,)) -> None:
        self.calls: Counter[str] = Counter()
        self.requests: dict[str, list[Any]] = {name: [] for name in record}
        self._paused = threading.local()
        self._lock = threading.Lock()

    def __enter__(self) -> CallCounter:
        from botocore.client import BaseClient

        self._original = BaseClient._make_api_call
        counter = self

        def counting(client: Any, operation_name: str, api_params: Any) -> Any:
            if not getattr(counter._paused, "value", False):
                name = f"{client.meta.service_model.service_name}.{operation_name}"
                with counter._lock:
                    counter.calls[name] += 1
                    if name in counter.requests:
                        counter.requests[name].append(api_params)
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
        os.environ.pop("WEBHOOK_URL")
        return (*without, *with_webhook, *_measure_reminders(app))


def _measure_reminders(app: InProcessApp) -> tuple[ExecutionCost, ExecutionCost]:
    """A flagged review approved before its reminder, and one approved after it, on a clock the benchmark advances."""
    import os

    from chalicelib import service
    from local_runtime.interpreter_clock import ManualClock, installed

    os.environ["REVIEW_REMINDER_SECONDS"] = str(BENCH_REMINDER_SECONDS)  # in_process_app restores it
    service.reset()
    first_wait = int(os.environ["REVIEW_TIMEOUT_SECONDS"]) - BENCH_REMINDER_SECONDS
    costs = []
    with installed(ManualClock()) as clock:
        for kind, advance in (("before", first_wait - 1), ("after", first_wait)):
            with CallCounter() as calls:
                submission_id = app.submit(f"A forbidden story decided {kind} its reminder")
                review = calls.paused(_pending_review)(app, submission_id)
                clock.wait_until_waiting(1)
                clock.advance(advance)
                poll(lambda: clock.waiting() == 1, timeout=TIMEOUT_SECONDS)  # the first wait, or the one after it
                app.approve(review["reviewId"])
                if calls.paused(_final)(app, submission_id)["status"] != "APPROVED":
                    raise RuntimeError(f"the review decided {kind} its reminder was not approved")
                arn = calls.paused(_execution_arn)(app, submission_id)
                calls.paused(_succeeded)(arn)
            cost = count(f"flagged, decided {kind} its reminder", history(arn))
            cost.calls = calls.calls
            cost.comprehend_units = comprehend_units(calls.requests[DETECT_TOXIC_CONTENT])
            costs.append(cost)
    return costs[0], costs[1]


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
    clean.comprehend_units = comprehend_units(clean_calls.requests[DETECT_TOXIC_CONTENT])
    flagged.comprehend_units = comprehend_units(flagged_calls.requests[DETECT_TOXIC_CONTENT])
    return clean, flagged


def _pending_review(app: InProcessApp, submission_id: str) -> dict[str, Any]:
    return dict(
        poll(
            lambda: next(
                (item for item in app.pending_page(100)["items"] if item["submissionId"] == submission_id), None
            ),
            timeout=TIMEOUT_SECONDS,
        )
    )


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
                f"+ Lambda {_price(cost.lambda_usd_per_million)} + Comprehend {_price(cost.comprehend_usd_per_million)}"
                f" for {cost.comprehend_units} units)",
            )
        )
    clean, flagged = costs[0], costs[1]
    by_kind = {cost.kind: cost for cost in costs}
    before = by_kind["flagged, decided before its reminder"]
    after = by_kind["flagged, decided after its reminder"]
    reminder_transitions = after.transitions - before.transitions
    reminder_invocations = after.invocations - before.invocations
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
webhook the `DeliverWebhooks` Map has no items (one transition). Last, with `REVIEW_REMINDER_SECONDS`
{BENCH_REMINDER_SECONDS} (SPEC §14) and the interpreter's clock advanced instead of waiting, one flagged review
is approved a second before its reminder and one after it (without a webhook: its reminder's webhook Map has no
items); the difference is what a review that waits past its reminder costs: {reminder_transitions} transitions
(${reminder_transitions * USD_PER_TRANSITION:.6f} on AWS) and {reminder_invocations} Lambda invocations more per
review, plus one transition and one invocation per attempt of the reminder's webhook when `WEBHOOK_URL` is set.
For each execution,
`GetExecutionHistory` is read in full: **state transitions** = events whose type ends in `StateEntered`
(what Standard Workflows bill), **Lambda invocations** = `LambdaFunctionScheduled` events plus
`TaskScheduled` events whose `resourceType` is `lambda`. Events seen:

{event_lines}

Dollars per million submissions at list prices (us-east-1): Standard Workflows $0.025 per 1,000 state
transitions; Lambda $0.20 per million requests plus $0.0000166667 per GB-second. **Assumption**: each
invocation is billed for {1000 * LAMBDA_SECONDS:.0f} ms at {int(LAMBDA_MEMORY_GB * 1024)} MB (the
`lambda_memory_size` in `.chalice/config.json`): ${per_invocation:.10f} per invocation, i.e.
${per_invocation * 1e6:.4f} per million invocations. {COMPREHEND_METHOD}
Not counted: DynamoDB, API Gateway (REST and WebSocket), data transfer, and the admin's approve request. Clean:
{clean.transitions} × $0.000025 + {clean.invocations} × ${per_invocation:.10f} + {clean.comprehend_units} ×
${USD_PER_COMPREHEND_UNIT}; flagged: {flagged.transitions} × $0.000025 + {flagged.invocations} ×
${per_invocation:.10f} + {flagged.comprehend_units} × ${USD_PER_COMPREHEND_UNIT}. These submissions have a title
and no body, so each makes one DetectToxicContent request of one short segment, billed at the minimum; the
risk check figure prices bodies of 1, 10 and 100 KB. Retries would add transitions, invocations and
Comprehend requests; none happened here.

**AWS API calls** are every botocore call made in the process while the submission ran (the app's
handlers and Lambda functions; the interpreter's Lambda invocations are dispatched in-process and are
Step Functions' own requests on AWS, counted above as invocations). The flagged count includes the
reviewer's approve request. `comprehend.DetectToxicContent` is the risk check (SPEC §13), made by the
CheckContent function (answered locally by the packaged classifier). The benchmark's own polling (reading
the submission's status, the pending page, DescribeExecution) is excluded.
"""
    return FigureResult(
        key="cost",
        title="Cost per submission",
        rows=rows,
        method=method,
        seconds=time.perf_counter() - started,
    )
