"""Concurrent decisions over real HTTP on the local runtime: exactly one caller is told it won."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.local_runtime.conftest import RunningRuntime, http, submit, wait_for

CONCURRENT_DECISIONS = 50


def _pending_review(runtime: RunningRuntime, submission_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        result = http("GET", f"{runtime.rest_url}/reviews?status=pending&limit=100", headers=runtime.admin_headers)
        return next((item for item in result.body["items"] if item["submissionId"] == submission_id), None)

    return wait_for(find)


def _decide_all_at_once(runtime: RunningRuntime, review_id: str) -> list[tuple[str, str, Any]]:
    """Send 50 decisions (approve and reject, each with its own reason) released by one barrier."""
    barrier = threading.Barrier(CONCURRENT_DECISIONS)
    results: list[tuple[str, str, Any]] = [("", "", None)] * CONCURRENT_DECISIONS

    def decide(index: int) -> None:
        action = "approve" if index % 2 else "reject"
        reason = f"reason {index}"
        barrier.wait()
        result = http(
            "POST",
            f"{runtime.rest_url}/reviews/{review_id}/{action}",
            {"reason": reason},
            headers=runtime.admin_headers,
        )
        results[index] = (action, reason, result)

    threads = [threading.Thread(target=decide, args=(index,)) for index in range(CONCURRENT_DECISIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("trial", range(10))
def test_fifty_concurrent_decisions_give_exactly_one_200(runtime: RunningRuntime, trial: int) -> None:
    submission_id = submit(runtime, f"forbidden race {trial}")
    review = _pending_review(runtime, submission_id)

    results = _decide_all_at_once(runtime, review["reviewId"])

    statuses = sorted(result.status for _, _, result in results)
    assert statuses == [200] + [409] * (CONCURRENT_DECISIONS - 1), statuses
    ((_, reason, won),) = [(action, reason, result) for action, reason, result in results if result.status == 200]
    decision = won.body["decision"]
    assert won.body == {"reviewId": review["reviewId"], "decision": decision, "decidedBy": "admin"}
    for _, _, result in results:
        if result.status == 409:
            assert result.body["error"]["code"] == "AlreadyDecided"
            assert decision in result.body["error"]["message"], json.dumps(result.body)

    def decided() -> dict[str, Any] | None:
        body = http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body
        return body if body["status"] in ("APPROVED", "REJECTED") else None

    final = wait_for(decided)
    assert final["decision"] == decision
    assert final["reason"] == reason
