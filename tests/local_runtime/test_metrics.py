"""The local runtime prints the app's EMF metric lines on its stdout, as Lambda does, and its log lines name the invocation."""

from __future__ import annotations

import json
from typing import Any

from tests.local_runtime.conftest import RunningRuntime, http, submit, wait_for
from tests.unit.test_stats import parse_emf


def _emf_documents(runtime: RunningRuntime) -> list[dict[str, Any]]:
    lines = runtime.printed_after_banner().splitlines()
    return [parse_emf(line) for line in lines if line.startswith('{"_aws"')]


def _json_lines(runtime: RunningRuntime) -> list[dict[str, Any]]:
    found = []
    for line in runtime.printed_after_banner().splitlines():
        if line.startswith("{") and not line.startswith('{"_aws"'):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def test_a_flagged_submission_shows_as_metric_lines_stats_and_logs_of_its_invocations(runtime: RunningRuntime):
    submission_id = submit(runtime, "This is forbidden")

    def pending() -> dict[str, Any] | None:
        answer = http("GET", f"{runtime.rest_url}/stats", headers=runtime.admin_headers)
        assert answer.status == 200, answer
        return answer.body if answer.body["pending"] == 1 else None

    figures = wait_for(pending)
    assert figures["last24h"]["submitted"] == 1 and figures["last24h"]["flagged"] == 1

    def metric_names(documents: list[dict[str, Any]]) -> list[str]:
        return [document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for document in documents]

    # The API's Submissions line and CheckContent's Flagged come from two threads: in either order.
    documents = wait_for(
        lambda: (found := _emf_documents(runtime)) and {"Submissions", "Flagged"} <= set(metric_names(found)) and found
    )
    names = metric_names(documents)
    assert names.count("Submissions") == 1 and names.count("Flagged") == 1, names
    assert all(document["Stage"] == "local" for document in documents)
    assert {document["_aws"]["CloudWatchMetrics"][0]["Namespace"] for document in documents} == {"ContentModeration"}

    checked = [line for line in _json_lines(runtime) if line.get("event") == "content.checked"]
    assert [line["submissionId"] for line in checked] == [submission_id]
    assert checked[0]["functionName"].endswith("check_content") and checked[0]["requestId"]
    accepted = [line for line in _json_lines(runtime) if line.get("event") == "submission.accepted"]
    assert accepted and accepted[0]["requestId"] and accepted[0]["functionName"]
