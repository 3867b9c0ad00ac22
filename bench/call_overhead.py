"""Figure: what one of the app's AWS calls costs in the emulator, against what moto's backend does for it.

Submit throughput is bounded by CPU per submission, and most of a submission's CPU is its AWS calls
(see Cost for how many). This splits one call into the protocol work around it (boto3 and botocore
serialise and sign it, moto rebuilds an HTTP request, parses it, serialises the answer, botocore
parses that) and the backend's own work (the item stored, the condition checked), so BENCHMARKS.md
can say where a millisecond goes rather than guess.
"""

from __future__ import annotations

import time

from bench.in_process import ACCOUNT_ID, REGION, in_process_app
from bench.report import FigureResult, Row

CALLS = 2_000
QUICK_CALLS = 100
WARM_UP = 200
ITEM = {"at": "2026-11-26T03:00:00.000Z", "event": "checked", "flagged": False}


def _per_call_us(calls: int, call: object) -> float:
    """CPU microseconds per call of ``call(index)`` (this thread's CPU time, so waiting is not counted)."""
    started = time.thread_time()
    for index in range(calls):
        call(index)  # type: ignore[operator]
    return 1e6 * (time.thread_time() - started) / calls


def run(quick: bool = False) -> FigureResult:
    import boto3
    from moto.dynamodb.models import dynamodb_backends

    started = time.perf_counter()
    calls = QUICK_CALLS if quick else CALLS
    with in_process_app() as app:
        table_name = app.outputs["HistoryTableName"]
        table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
        backend = dynamodb_backends[ACCOUNT_ID][REGION]
        condition = "attribute_not_exists(eventId)"

        def put_through_boto3(index: int, prefix: str = "a") -> None:
            table.put_item(
                Item={"submissionId": "s", "eventId": f"{prefix}{index}", **ITEM}, ConditionExpression=condition
            )

        def put_in_backend(index: int) -> None:
            backend.put_item(
                table_name,
                {
                    "submissionId": {"S": "s"},
                    "eventId": {"S": f"b{index}"},
                    "at": {"S": ITEM["at"]},
                    "event": {"S": ITEM["event"]},
                    "flagged": {"BOOL": False},
                },
                expected=None,
                condition_expression=condition,
                expression_attribute_names=None,
                expression_attribute_values=None,
            )

        def get_through_boto3(index: int) -> None:
            table.get_item(Key={"submissionId": "s", "eventId": f"a{index}"}, ConsistentRead=True)

        def get_in_backend(index: int) -> None:
            backend.get_item(table_name, {"submissionId": {"S": "s"}, "eventId": {"S": f"b{index}"}})

        for index in range(WARM_UP):
            put_through_boto3(index, prefix="w")
        put_us = _per_call_us(calls, put_through_boto3)
        put_backend_us = _per_call_us(calls, put_in_backend)
        get_us = _per_call_us(calls, get_through_boto3)
        get_backend_us = _per_call_us(calls, get_in_backend)

    rows = [
        Row(
            "One DynamoDB PutItem (conditional) in the emulator",
            f"{put_us:,.0f} µs of CPU, of which moto's backend {put_backend_us:,.0f} µs "
            f"({100 * put_backend_us / put_us:.0f}%)",
        ),
        Row(
            "One DynamoDB GetItem (consistent) in the emulator",
            f"{get_us:,.0f} µs of CPU, of which moto's backend {get_backend_us:,.0f} µs "
            f"({100 * get_backend_us / get_us:.0f}%)",
        ),
    ]
    notes = [
        f"a PutItem costs {put_us:,.0f} µs of CPU here and a GetItem {get_us:,.0f} µs, but moto's backend needs "
        f"only {put_backend_us:,.0f} and {get_backend_us:,.0f} µs of that: the rest is the protocol around it "
        "(boto3's type conversion, botocore's serialising and signing, moto turning the request back into an "
        "HTTP request and parsing it, serialising the answer, botocore parsing it). The app's Lambda functions "
        "pay the same client-side share on AWS; the emulator pays both sides on the same core."
    ]
    method = f"""
In-process (`bench/in_process.py`: `mock_aws`, every local-runtime patch, the stack deployed as the tests
deploy it; no IAM enforcement, no HTTP server). {WARM_UP} untimed PutItems warm the clients, then {calls:,}
conditional PutItems (`attribute_not_exists(eventId)`, an audit-trail event as the app writes it) through a
boto3 `Table`, the same number straight into moto's `DynamoDBBackend.put_item`, and as many consistent GetItems
each way. CPU time of the calling thread (`time.thread_time`) ÷ calls.
"""
    return FigureResult(
        key="call_overhead",
        title="AWS call overhead",
        rows=rows,
        method=method,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
