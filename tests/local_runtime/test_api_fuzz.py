"""schemathesis fuzzes the local runtime from GET /openapi.json: no input gets a 5xx, and no 4xx changes anything.

Each operation gets a bounded, derandomized batch of generated cases (positive and negative data),
with and without the admin token, on made-up ids and on real ones: flagged submissions are seeded
first, so approve, reject and the signed links reach their 200 and 409 paths, not only 404.
Before a case the runtime is let settle (no execution between two states), and every DynamoDB item
and every execution are read through moto; a 4xx must leave all of it unchanged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.local_runtime.conftest import ROOT, RunningRuntime, http, submit, wait_for

DOCUMENT = ROOT / "chalicelib" / "web" / "static" / "openapi.json"
# Per operation, split over positive and negative data: 8 operations with inputs x 30, plus the 4 without.
MAX_EXAMPLES = 30
SETTLE_TIMEOUT = 20.0


def _operations() -> list[tuple[str, str]]:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item]


@dataclass(frozen=True)
class Seeded:
    """Real ids for the fuzzer: a pending review per deciding operation, a signed link's query, a reviewer."""

    submission_id: str
    review_ids: dict[str, str]
    link_query: dict[str, str]
    reviewer_name: str
    # A rejected submission and its submitter token, so an appeal reaches its 202 (then its 409).
    rejected_submission_id: str = ""
    submitter_token: str = ""


class StoredState:
    """Everything the runtime stores: every DynamoDB item and every execution, read through moto."""

    def __init__(self, runtime: RunningRuntime) -> None:
        from deploy.stack import stack_outputs
        from deploy.template import stack_name

        self._dynamodb = runtime.boto3_client("dynamodb")
        self._stepfunctions = runtime.boto3_client("stepfunctions")
        outputs = stack_outputs(runtime.boto3_client("cloudformation"), stack_name("local"))
        self._submissions_table = outputs["SubmissionsTableName"]
        self._reviews_table = outputs["ReviewsTableName"]

    def snapshot(self) -> dict[str, Any]:
        """Every table (not only today's three: a new store is covered too) and every execution.

        Executions are read first: one seen finished (or waiting on a pending review) writes
        nothing more, so the tables read after it are its final state. Read the other way round,
        an execution finishing between the two reads would look settled over stale tables.
        """
        executions = sorted(
            (execution["name"], execution["status"])
            for machine in self._stepfunctions.list_state_machines()["stateMachines"]
            for execution in self._executions(machine["stateMachineArn"])
        )
        tables = {name: self._items(name) for name in self._dynamodb.list_tables()["TableNames"]}
        return {"tables": tables, "executions": executions}

    def settled_snapshot(self) -> dict[str, Any]:
        """The snapshot once every execution is done or waits on a pending review (nothing moves by itself)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            snapshot = self.snapshot()
            if self._is_settled(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                raise AssertionError(f"the runtime did not settle within {SETTLE_TIMEOUT}s: {snapshot['executions']}")
            time.sleep(0.05)

    def _is_settled(self, snapshot: dict[str, Any]) -> bool:
        submissions = {item["submissionId"]["S"]: item["status"]["S"] for item in self._rows(snapshot, "submissions")}
        waiting = {
            item["submissionId"]["S"] for item in self._rows(snapshot, "reviews") if item["status"]["S"] == "PENDING"
        }
        for name, status in snapshot["executions"]:  # named after its submission (an appeal's: appeal-<id>)
            submission_id = name.removeprefix("appeal-")
            if status == "RUNNING" and not (submissions.get(submission_id) == "IN_REVIEW" and submission_id in waiting):
                return False
        return "CHECKING" not in submissions.values()

    def _rows(self, snapshot: dict[str, Any], store: str) -> list[dict[str, Any]]:
        table = self._submissions_table if store == "submissions" else self._reviews_table
        return [json.loads(row) for row in snapshot["tables"].get(table, [])]

    def _items(self, table: str) -> list[str]:
        rows: list[str] = []
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            rows.extend(json.dumps(item, sort_keys=True) for item in page["Items"])
        return sorted(rows)

    def _executions(self, state_machine_arn: str) -> Iterator[dict[str, Any]]:
        for page in self._stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
            yield from page["executions"]


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, short enough to read in a failure."""
    stores = {"executions": (before["executions"], after["executions"])}
    for table in set(before["tables"]) | set(after["tables"]):
        stores[table] = (before["tables"].get(table, []), after["tables"].get(table, []))
    changed: list[str] = []
    for store, (old, new) in sorted(stores.items()):
        changed += [f"{store}: - {entry}" for entry in old if entry not in new]
        changed += [f"{store}: + {entry}" for entry in new if entry not in old]
    return changed


@pytest.fixture(scope="module")
def schema(runtime: RunningRuntime) -> Any:
    """The document as the runtime serves it: the fuzzer tests what clients get."""
    import schemathesis

    result = http("GET", f"{runtime.rest_url}/openapi.json")
    assert result.status == 200, result
    # Bad input may be refused with any 4xx the document lists, 413 (body over 100 KB) included.
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": ["4XX"]}}})
    return schemathesis.openapi.from_dict(result.body, config=config)


@pytest.fixture(scope="module")
def stored_state(runtime: RunningRuntime) -> StoredState:
    return StoredState(runtime)


@pytest.fixture(scope="module")
def seeded(runtime: RunningRuntime) -> Seeded:
    uses = ("approve", "reject", "decide", "claim")  # claim: a review the approve cases do not decide
    submissions = {use: submit(runtime, f"fuzz seed: forbidden ({use})") for use in uses}

    def reviews() -> dict[str, dict[str, Any]] | None:
        listed = http("GET", f"{runtime.rest_url}/reviews?limit=100", headers=runtime.admin_headers).body["items"]
        found = {item["submissionId"]: item for item in listed if item["submissionId"] in submissions.values()}
        return found if len(found) == len(submissions) else None

    found = wait_for(reviews)
    link = urlsplit(found[submissions["decide"]]["rejectUrl"])
    reviewer = http("POST", f"{runtime.rest_url}/reviewers", {"name": "fuzz-seed"}, headers=runtime.admin_headers)
    assert reviewer.status == 201, reviewer
    rejected, submitter_token = _rejected_submission(runtime)
    return Seeded(
        submission_id=submissions["approve"],
        review_ids={use: found[submission_id]["reviewId"] for use, submission_id in submissions.items()},
        link_query=dict(parse_qsl(link.query)),
        reviewer_name="fuzz-seed",
        rejected_submission_id=rejected,
        submitter_token=submitter_token,
    )


def _rejected_submission(runtime: RunningRuntime) -> tuple[str, str]:
    """A flagged submission the admin rejected, and its submitter token."""
    created = http("POST", f"{runtime.rest_url}/submissions", {"title": "fuzz seed: forbidden (appeal)"})
    assert created.status == 202, created
    submission_id = created.body["submissionId"]

    def review() -> dict[str, Any] | None:
        listed = http("GET", f"{runtime.rest_url}/reviews?limit=100", headers=runtime.admin_headers).body["items"]
        return next((item for item in listed if item["submissionId"] == submission_id), None)

    rejected = http(
        "POST", f"{runtime.rest_url}/reviews/{wait_for(review)['reviewId']}/reject", {}, runtime.admin_headers
    )
    assert rejected.status == 200, rejected
    wait_for(lambda: http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body["status"] == "REJECTED")
    return submission_id, str(created.body["submitterToken"])


def _strategy(operation: Any, seeded: Seeded) -> Any:
    """Positive and negative cases, each on made-up ids and on a seeded one, and whether to send the token."""
    from hypothesis import strategies
    from schemathesis import GenerationMode

    path = operation.path
    fixed: list[dict[str, Any]] = [{}]
    if "{name}" in path and path.startswith("/reviewers"):
        fixed.append({"path_parameters": {"name": seeded.reviewer_name}})
    elif path.endswith("/appeal"):  # its Bearer is the submitter token, not a reviewer's
        fixed.append(
            {
                "path_parameters": {"submissionId": seeded.rejected_submission_id},
                "headers": {"Authorization": f"Bearer {seeded.submitter_token}"},
            }
        )
    elif "{submissionId}" in path:
        fixed.append({"path_parameters": {"submissionId": seeded.submission_id}})
    elif path.endswith("/decide"):
        fixed.append({"path_parameters": {"reviewId": seeded.review_ids["decide"]}, "query": seeded.link_query})
    elif "{reviewId}" in path:
        use = path.rsplit("/", 1)[-1] if path.endswith(("/approve", "/reject", "/claim")) else "approve"
        fixed.append({"path_parameters": {"reviewId": seeded.review_ids[use]}})
    cases = strategies.one_of(
        [operation.as_strategy(generation_mode=mode, **values) for mode in GenerationMode for values in fixed]
    )
    # Mostly with the token, so the cases reach past the authorizer (each operation must succeed once).
    with_token = (
        strategies.sampled_from([True, True, True, False])
        if operation.definition.raw.get("security")
        else strategies.just(False)
    )
    return strategies.tuples(cases, with_token)


@pytest.mark.parametrize(("method", "path"), _operations())
def test_fuzzed_requests_get_no_5xx_and_4xx_change_nothing(
    method: str, path: str, runtime: RunningRuntime, schema: Any, stored_state: StoredState, seeded: Seeded
) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.generation.meta import negated_parameters
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ignored_auth,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
        ignored_auth,  # with the token: the same request without it, or with a wrong one, must get 401
    ]
    label = f"{method} {path}"
    statuses: list[int] = []
    # After a 4xx nothing changed, so its snapshot is the next case's "before" (half the reads).
    known: dict[str, Any] = {}

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=_strategy(schema[path][method], seeded))
    def run(drawn: tuple[Any, bool]) -> None:
        case, with_token = drawn
        negated = set(negated_parameters(case.meta))
        # A case whose point is a missing or malformed Authorization header is sent as generated.
        with_token = with_token and ("Authorization", ParameterLocation.HEADER) not in negated
        headers = {"Authorization": f"Bearer {runtime.admin_token}"} if with_token else None
        before = known.pop("snapshot", None) or stored_state.settled_snapshot()
        response = case.call(base_url=runtime.rest_url, headers=headers, timeout=30)
        statuses.append(response.status_code)
        case.validate_response(response, checks=checks, headers=headers)
        if 400 <= response.status_code < 500:
            after = stored_state.snapshot()
            assert after == before, f"{label} answered {response.status_code} and changed {_changes(before, after)}"
            known["snapshot"] = after

    run()
    assert any(200 <= status < 300 for status in statuses), f"{label} never succeeded: {sorted(statuses)}"
    print(f"{label}: {len(statuses)} cases, statuses {sorted(set(statuses))}")
