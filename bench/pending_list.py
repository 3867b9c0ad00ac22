"""Figure 3: one page of 50 pending reviews with 100 and with 100,000 decided reviews in the table."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.in_process import InProcessApp, in_process_app
from bench.report import MISS, PASS, FigureResult, Row, check

PAGE_SIZE = 50
PENDING = 60  # more than a page, so the page is full and carries a nextToken
SMALL = 100
LARGE = 100_000
QUICK_LARGE = 2_000
REPEATS = 5
QUICK_REPEATS = 3
MOTO_REPEATS = 3
BATCH = 25  # BatchWriteItem's maximum
TARGET_RATIO = 1.5
MOTO_QUERY_SOURCE = "moto/dynamodb/models/table.py"


def _review_item(index: int, *, status: str, created: datetime) -> dict[str, Any]:
    """A review item exactly as the app writes it (``review_to_item``), decided or pending."""
    from chalicelib.domain.review import Review
    from chalicelib.stores.reviews import review_to_item

    review_id = str(uuid.uuid4())
    decided = status != "PENDING"
    review = Review(
        review_id=review_id,
        submission_id=str(uuid.uuid4()),
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:content-moderation-bench:{review_id}",
        title=f"Seeded review {index}: a forbidden word",
        matches=[{"field": "title", "word": "forbidden", "text": "forbidden", "start": 20, "end": 29}],
        status=status,
        created_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        deadline=int((created + timedelta(hours=1)).timestamp()),
        deadline_at=(created + timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z"),
        approve_path=f"/reviews/{review_id}/decide?action=approve",
        reject_path=f"/reviews/{review_id}/decide?action=reject",
        task_token=f"token-{review_id}",
        decision="approved" if decided else None,
        decided_by="admin" if decided else None,
        decided_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z") if decided else None,
    )
    return review_to_item(review)


def seed(table_name: str, count: int, *, status: str, first_index: int = 0) -> None:
    """Write ``count`` reviews with BatchWriteItem (25 per call), retrying unprocessed items."""
    import boto3
    from boto3.dynamodb.types import TypeSerializer
    from botocore.config import Config

    serializer = TypeSerializer()
    client = boto3.client("dynamodb", region_name="us-east-1", config=Config(parameter_validation=False))
    base = datetime(2024, 1, 1, tzinfo=UTC)
    with _linear_item_size_check():
        for start in range(0, count, BATCH):
            requests = []
            for index in range(first_index + start, first_index + min(start + BATCH, count)):
                item = _review_item(index, status=status, created=base + timedelta(seconds=index))
                wire = {key: serializer.serialize(value) for key, value in item.items()}
                requests.append({"PutRequest": {"Item": wire}})
            pending: dict[str, Any] = {table_name: requests}
            for _ in range(10):
                unprocessed = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                pending = unprocessed


@contextmanager
def _linear_item_size_check() -> Iterator[None]:
    """Speed moto's writes up while seeding: it re-sums the whole item's size on every attribute set.

    That check (moto's ``LimitedSizeDict``, against the 400 KB item limit) is quadratic in the number
    of attributes and is most of the seeding time; our items are about 1 KB, so it is skipped while
    seeding and restored afterwards. What is stored is unchanged.
    """
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    original = LimitedSizeDict.__setitem__
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[assignment]
    try:
        yield
    finally:
        LimitedSizeDict.__setitem__ = original  # type: ignore[method-assign]


@contextmanager
def counting_calls(dynamodb_client: Any) -> Iterator[list[dict[str, Any]]]:
    """Record every API call ``dynamodb_client`` makes (botocore ``before-parameter-build`` hook)."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append({"operation": model.name, "IndexName": params.get("IndexName"), "Table": params.get("TableName")})

    events = dynamodb_client.meta.events
    events.register("before-parameter-build.dynamodb", record, unique_id="bench-count-calls")
    try:
        yield calls
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id="bench-count-calls")


def _time_page(app: InProcessApp, repeats: int) -> tuple[float, int]:
    """Median seconds for one page through the whole app (route, authorizer, Query, JSON); items per page."""
    samples = []
    items = 0
    for _ in range(repeats):
        started = time.perf_counter()
        page = app.pending_page(PAGE_SIZE)
        samples.append(time.perf_counter() - started)
        items = len(page["items"])
    return statistics.median(samples), items


def _time_moto_query(table_name: str, repeats: int) -> float:
    """Median seconds for the same Query sent straight to moto (no app code), to isolate moto's share."""
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.query(
            TableName=table_name,
            IndexName="pending-by-created",
            KeyConditionExpression="pendingPartition = :p",
            ExpressionAttributeValues={":p": {"S": "PENDING"}},
            Limit=PAGE_SIZE,
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def moto_query_iterates_table() -> bool:
    """Whether moto's Table.query loops over every item of the table, even for an index Query."""
    import inspect

    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "reads_index_members", False):
        return False  # local_runtime.dynamodb_patches.query_gsi_members: an index Query walks the index only
    return "for item in self.all_items()" in inspect.getsource(Table.query)


def run(quick: bool = False) -> FigureResult:
    large = QUICK_LARGE if quick else LARGE
    repeats = QUICK_REPEATS if quick else REPEATS
    started = time.perf_counter()
    with in_process_app() as app:
        from chalicelib import service
        from chalicelib.integrations import aws

        table_name = app.outputs["ReviewsTableName"]
        seed(table_name, PENDING, status="PENDING", first_index=0)
        seed(table_name, SMALL, status="APPROVED", first_index=PENDING)
        app.pending_page(PAGE_SIZE)  # warm-up: the first request builds the app's services and clients
        small_seconds, small_items = _time_page(app, repeats)
        small_moto = _time_moto_query(table_name, MOTO_REPEATS)

        seeding_started = time.perf_counter()
        seed(table_name, large - SMALL, status="APPROVED", first_index=PENDING + SMALL)
        seeding_seconds = time.perf_counter() - seeding_started
        large_seconds, large_items = _time_page(app, repeats)
        large_moto = _time_moto_query(table_name, MOTO_REPEATS)

        service.use_cases()  # the app's clients exist now: count what one page costs
        with counting_calls(aws.table(table_name).meta.client) as calls:
            app.pending_page(PAGE_SIZE)
    queries = [call for call in calls if call["operation"] == "Query"]
    scans = [call for call in calls if call["operation"] == "Scan"]
    on_index = all(call["IndexName"] == "pending-by-created" for call in queries)
    iterates = moto_query_iterates_table()

    ratio = large_seconds / small_seconds
    calls_text = (
        f"{len(calls)} DynamoDB call(s): {len(queries)} Query"
        f"{' on IndexName=pending-by-created' if queries and on_index else ''}, {len(scans)} Scan"
    )
    design_ok = len(queries) == 1 and not scans and on_index and len(calls) == 1
    rows = [
        Row(
            f"Pending page ({PAGE_SIZE}), {SMALL} decided in table",
            f"{1000 * small_seconds:.1f} ms ({small_items} items)",
        ),
        Row(
            f"Pending page ({PAGE_SIZE}), {large:,} decided in table",
            f"{1000 * large_seconds:.1f} ms ({large_items} items)",
        ),
        Row(
            f"Pending page ratio {large:,} / {SMALL}",
            f"{ratio:.2f}" + (" (moto scans the table on every index Query)" if iterates else ""),
            f"≤ {TARGET_RATIO}",
            check(ratio, at_most=TARGET_RATIO),
        ),
        Row(
            "Pending page: AWS calls per page", calls_text, "1 Query on the index, 0 Scan", PASS if design_ok else MISS
        ),
    ]
    notes = []
    if not iterates:
        notes.append(
            f"moto {_moto_version()}'s own `Table.query` loops over every item of the table for a GSI Query "
            f"(`{MOTO_QUERY_SOURCE}`); the local runtime's `query_gsi_members` patch "
            "(`local_runtime/dynamodb_patches.py`) keeps the set of items in each queried index, so the page "
            f"walks only the pending reviews: the same Query sent straight to moto takes {1000 * small_moto:.1f} ms "
            f"with {SMALL} decided reviews and {1000 * large_moto:.1f} ms with {large:,}. Our code path makes "
            f"exactly {calls_text} per page."
        )
    if iterates:
        notes.append(
            f"moto {_moto_version()} implements Query on a GSI by looping over every item of the table "
            f"(`{MOTO_QUERY_SOURCE}`, `Table.query`: `for item in self.all_items()`), so the ratio measures moto, "
            f"not our design: the same Query sent straight to moto takes {1000 * small_moto:.1f} ms with {SMALL} "
            f"decided reviews and {1000 * large_moto:.1f} ms with {large:,} ({large_moto / small_moto:.0f}x). "
            f"Our code path makes exactly {calls_text} per page; on DynamoDB that Query reads only the sparse "
            f"index, which holds pending reviews alone, so its cost does not depend on how many are decided."
        )
    method = f"""
In-process on moto's `mock_aws` (the app, the stack and the Lambda dispatcher wired as in
`tests/conftest.py`). {PENDING} pending reviews (with `pendingPartition="PENDING"`, so in the sparse
index `pending-by-created`) and {SMALL} decided ones (no `pendingPartition`) are written with
`BatchWriteItem` in the app's own item shape (`review_to_item`). `GET /reviews?status=pending&limit={PAGE_SIZE}&order=oldest`
with the admin token goes through the whole app (chalice test client: routing, authorizer, the
Query, JSON); one warm-up, then the median of {repeats} (the direct moto Query: median of {MOTO_REPEATS}). Then {large - SMALL:,} more decided reviews are
written (took {seeding_seconds:.0f} s; moto's quadratic per-attribute item-size check is bypassed while
seeding, the stored items are the same) and the page is timed again; the ratio is large ÷ small. To
separate our design from the emulator, the same Query is also sent straight to moto, and a botocore
`before-parameter-build` hook on the app's DynamoDB client records every call made while serving one
page (operation and IndexName).
"""
    return FigureResult(
        key="pending_list",
        title="Pending list at scale",
        rows=rows,
        method=method,
        notes=notes,
        seconds=time.perf_counter() - started,
    )


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")
