"""`make run` handles an appeal end to end: real sockets, the real state machine, the outbox."""

from __future__ import annotations

import email
import json
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.local_runtime.conftest import RunningRuntime, http, start_runtime, wait_for

ADDRESS = "author@example.org"


def _pending(runtime: RunningRuntime, submission_id: str, kind: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        result = http("GET", f"{runtime.rest_url}/reviews?status=pending&limit=100", headers=runtime.admin_headers)
        return next((i for i in result.body["items"] if i["submissionId"] == submission_id and i["kind"] == kind), None)

    return wait_for(find)


def _decision(socket: Any) -> dict[str, Any]:
    while True:
        message = json.loads(socket.recv(timeout=30))
        if message.get("type") == "decision":
            return dict(message)


def test_an_appeal_is_overturned_live_on_the_socket_and_both_outcomes_are_mailed(tmp_path: Path) -> None:
    outbox = tmp_path / "mail"
    runtime = start_runtime(tmp_path / "runtime", LOCAL_OUTBOX=str(outbox))
    try:
        created = http("POST", f"{runtime.rest_url}/submissions", {"title": "forbidden rice", "notifyEmail": ADDRESS})
        assert created.status == 202, created
        submission_id, token = created.body["submissionId"], created.body["submitterToken"]
        with connect(f"{runtime.ws_url}/?submissionId={submission_id}") as socket:
            review = _pending(runtime, submission_id, "submission")
            rejected = http(
                "POST",
                f"{runtime.rest_url}/reviews/{review['reviewId']}/reject",
                {"reason": "spam"},
                runtime.admin_headers,
            )
            assert rejected.status == 200, rejected
            assert _decision(socket)["decision"] == "rejected"
            wait_for(lambda: len(list(outbox.glob("*.eml"))) == 1)
            appealed = http(
                "POST",
                f"{runtime.rest_url}/submissions/{submission_id}/appeal",
                {"message": "Black rice is called forbidden rice."},
                {"Authorization": f"Bearer {token}"},
            )
            assert appealed.status == 202, appealed
            appeal_review = _pending(runtime, submission_id, "appeal")
            created_reviewer = http(
                "POST", f"{runtime.rest_url}/reviewers", {"name": "second", "role": "reviewer"}, runtime.admin_headers
            )
            second = {"Authorization": f"Bearer {created_reviewer.body['token']}"}
            refused = http(
                "POST", f"{runtime.rest_url}/reviews/{appeal_review['reviewId']}/approve", {}, runtime.admin_headers
            )
            approved = http("POST", f"{runtime.rest_url}/reviews/{appeal_review['reviewId']}/approve", {}, second)
            overturned = _decision(socket)
        mails = wait_for(lambda: files if len(files := sorted(outbox.glob("*.eml"))) == 2 else None)
    finally:
        assert runtime.stop() == 0

    assert refused.status == 403 and approved.status == 200, (refused, approved)
    assert (overturned["decision"], overturned["appeal"]) == ("approved", "overturned")
    bodies = [email.message_from_bytes(path.read_bytes()).get_payload() for path in mails]
    assert sum("Appeal: overturned" in body for body in bodies) == 1
    printed = runtime.printed_after_banner()
    assert token not in printed and ADDRESS not in printed
