"""The README's story, over real sockets: submit, review, decide, and see the decisions arrive live."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from chalicelib.clock import parse_iso
from tests.local_runtime.conftest import RunningRuntime, http, start_runtime, submit, wait_for

MESSAGE_TIMEOUT = 30.0
WEEK = 604_800  # the runtime's default REVIEW_TIMEOUT_SECONDS


async def next_message(socket: ClientConnection, message_type: str) -> dict[str, Any]:
    """The next message of ``message_type`` (others, like the subscribe's status reply, are skipped)."""
    async with asyncio.timeout(MESSAGE_TIMEOUT):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == message_type:
                return message


def pending_reviews(runtime: RunningRuntime, *submission_ids: str, order: str = "oldest") -> dict[str, dict[str, Any]]:
    """The pending reviews of these submissions, once all of them are listed."""

    def find() -> dict[str, dict[str, Any]] | None:
        url = f"{runtime.rest_url}/reviews?status=pending&limit=100&order={order}"
        result = http("GET", url, headers=runtime.admin_headers)
        assert result.status == 200, result
        found = {item["submissionId"]: item for item in result.body["items"] if item["submissionId"] in submission_ids}
        return found if len(found) == len(submission_ids) else None

    return wait_for(find)


async def moderate_live(runtime: RunningRuntime) -> None:
    clean = submit(runtime, "A lovely day at the beach")
    flagged_approved = submit(runtime, "This is forbidden")
    flagged_rejected = submit(runtime, "Totally FORBIDDEN content")

    # One socket subscribed through the URL, two through a subscribe message.
    async with (
        connect(f"{runtime.ws_url}/?submissionId={flagged_approved}") as by_url,
        connect(runtime.ws_url) as by_message,
        connect(runtime.ws_url) as clean_socket,
    ):
        await by_message.send(json.dumps({"action": "subscribe", "submissionId": flagged_rejected}))
        status = await next_message(by_message, "status")
        assert status["submissionId"] == flagged_rejected
        assert status["status"] in ("CHECKING", "IN_REVIEW")

        await clean_socket.send(json.dumps({"action": "subscribe", "submissionId": clean}))
        # Clean content is published at once: either the subscribe reply carries the
        # decision (already decided) or it is pushed a moment later.
        clean_decision = await next_message(clean_socket, "decision")
        assert clean_decision["submissionId"] == clean
        assert clean_decision["decision"] == "approved"

        reviews = await asyncio.to_thread(pending_reviews, runtime, flagged_approved, flagged_rejected)
        assert clean not in reviews
        assert "taskToken" not in json.dumps(reviews)

        approve = await asyncio.to_thread(
            http,
            "POST",
            f"{runtime.rest_url}/reviews/{reviews[flagged_approved]['reviewId']}/approve",
            None,
            runtime.admin_headers,
        )
        assert approve.status == 200, approve
        assert approve.body["decision"] == "approved"
        reject = await asyncio.to_thread(
            http,
            "POST",
            f"{runtime.rest_url}/reviews/{reviews[flagged_rejected]['reviewId']}/reject",
            {"reason": "off-topic"},
            runtime.admin_headers,
        )
        assert reject.status == 200, reject
        assert reject.body["decision"] == "rejected"

        approved = await next_message(by_url, "decision")
        assert approved["submissionId"] == flagged_approved
        assert approved["decision"] == "approved"
        assert approved["decidedAt"]

        rejected = await next_message(by_message, "decision")
        assert rejected["submissionId"] == flagged_rejected
        assert rejected["decision"] == "rejected"
        assert rejected["reason"] == "off-topic"

    final = http("GET", f"{runtime.rest_url}/submissions/{flagged_rejected}")
    assert final.body["status"] == "REJECTED"


def test_submit_review_decide_and_receive_live_then_ctrl_c(tmp_path: Path) -> None:
    runtime = start_runtime(tmp_path)
    try:
        asyncio.run(moderate_live(runtime))
    except BaseException:
        runtime.stop(signal.SIGKILL, timeout=5)
        raise
    exit_status = runtime.stop(signal.SIGINT, timeout=10)
    assert exit_status == 0, runtime.output()[-3000:]
    assert "stopped" in runtime.stdout_path.read_text()


def test_the_risk_model_sends_abuse_to_a_human_and_the_queue_orders_by_risk_under_the_deployed_policy(
    tmp_path: Path,
) -> None:
    """The check function's Comprehend call and the risk index's Query, under the IAM policy make deploy gives."""
    runtime = start_runtime(tmp_path)
    try:
        abusive = submit(runtime, "you are a worthless idiot and I hate you")
        listed = submit(runtime, "forbidden fruit salad recipe")
        clean = submit(runtime, "How to kill a process in Linux")
        found = pending_reviews(runtime, abusive, listed, order="risk")
        assert found[abusive]["risk"]["score"] >= 0.5 > found[listed]["risk"]["score"]
        assert found[abusive]["risk"]["model"] == "alt-profanity-check 1.7.2 (local)"
        result = http("GET", f"{runtime.rest_url}/reviews?status=pending&order=risk", headers=runtime.admin_headers)
        ordered = [item["submissionId"] for item in result.body["items"]]
        assert ordered.index(abusive) < ordered.index(listed)

        def published() -> bool:
            return http("GET", f"{runtime.rest_url}/submissions/{clean}").body["status"] == "APPROVED"

        wait_for(published)
    finally:
        runtime.stop(signal.SIGINT, timeout=10)
    assert "AccessDenied" not in runtime.output()


def test_an_undecided_review_expires_at_its_deadline_then_sigterm(tmp_path: Path) -> None:
    """The default 7-day deadline, reached by advancing the runtime's Step Functions clock: the Catch makes it EXPIRED."""
    runtime = start_runtime(tmp_path)  # REVIEW_TIMEOUT_SECONDS unset: 604800

    async def scenario() -> None:
        submission_id = submit(runtime, "Nobody will review this forbidden title")
        review = (await asyncio.to_thread(pending_reviews, runtime, submission_id))[submission_id]
        assert parse_iso(review["deadline"]) - parse_iso(review["createdAt"]) == pytest.approx(WEEK, abs=5)
        # The review is stored before its task waits for the token: advance only once it waits.
        await asyncio.to_thread(wait_for, lambda: runtime.interpreter_clock()["waiting"] == 1)
        assert http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body["status"] == "IN_REVIEW"

        advanced = await asyncio.to_thread(runtime.advance_clock, str(WEEK))

        assert advanced.returncode == 0, advanced.stderr
        assert "1 waiting task(s) timed out" in advanced.stdout, advanced.stdout
        async with connect(runtime.ws_url) as socket:
            # Subscribing by message gets the decision whether it is already made or not.
            await socket.send(json.dumps({"action": "subscribe", "submissionId": submission_id}))
            expired = await next_message(socket, "decision")
        assert expired["submissionId"] == submission_id
        assert expired["decision"] == "expired"
        # The link's own expiry is the app's clock (real time), so it is the review's expiry that refuses it.
        late = await asyncio.to_thread(
            http, "POST", review["approveUrl"], None, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert late.status == 410, late

    try:
        asyncio.run(scenario())
    except BaseException:
        runtime.stop(signal.SIGKILL, timeout=5)
        raise
    assert runtime.stop(signal.SIGTERM, timeout=10) == 0, runtime.output()[-3000:]


def decide_by_signed_link_and_by_admin(runtime: RunningRuntime) -> list[str]:
    """A flagged submission decided through its signed link (GET, then POST), another by an admin; their review ids."""
    by_link = submit(runtime, "A forbidden title for the link")
    by_admin = submit(runtime, "Another forbidden title")
    reviews = pending_reviews(runtime, by_link, by_admin)
    link = reviews[by_link]["approveUrl"]

    page = http("GET", link)
    assert page.status == 200 and "<form" in page.body, page
    tampered = http("POST", link[:-4] + "0000", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert tampered.status == 403, tampered
    decided = http("POST", link, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert decided.status == 200 and "approved" in decided.body, decided
    rejected = http(
        "POST",
        f"{runtime.rest_url}/reviews/{reviews[by_admin]['reviewId']}/reject",
        {"reason": "off-topic"},
        runtime.admin_headers,
    )
    assert rejected.status == 200, rejected
    wrong_token = http(
        "GET", f"{runtime.rest_url}/reviews?status=pending", headers={"Authorization": "Bearer not-the-token"}
    )
    assert wrong_token.status == 401, wrong_token

    def both_decided() -> bool:
        statuses = {http("GET", f"{runtime.rest_url}/submissions/{sid}").body["status"] for sid in (by_link, by_admin)}
        return statuses == {"APPROVED", "REJECTED"}

    wait_for(both_decided)
    return [reviews[by_link]["reviewId"], reviews[by_admin]["reviewId"]]


def test_no_signature_task_token_or_secret_is_printed_while_links_and_admins_decide(tmp_path: Path) -> None:
    runtime = start_runtime(tmp_path)
    try:
        review_ids = decide_by_signed_link_and_by_admin(runtime)
        known_secrets = runtime.known_secrets()
    except BaseException:
        runtime.stop(signal.SIGKILL, timeout=5)
        raise
    assert runtime.stop(signal.SIGINT, timeout=10) == 0, runtime.output()[-3000:]

    printed = runtime.printed_after_banner()
    # The requests were logged (so the check below looks at real access lines) ...
    assert f"/reviews/{review_ids[0]}/decide" in printed, printed[-3000:]
    # ... and every task token and every signature of both reviews is known to the check.
    assert sum(label.startswith("task token") for label in known_secrets) == 2, known_secrets.keys()
    assert sum(label.startswith("signature") for label in known_secrets) == 4, known_secrets.keys()
    runtime.assert_printed_no_secret(known_secrets)


def test_log_level_warning_keeps_the_app_events_and_access_lines_out_of_the_output(tmp_path: Path) -> None:
    """The runtime sets LOG_LEVEL before the app is imported; importing the app must not reset it to INFO."""
    runtime = start_runtime(tmp_path, LOG_LEVEL="WARNING")
    try:
        submission_id = submit(runtime, "A lovely day at the beach")
        wait_for(lambda: http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body["status"] == "APPROVED")
    except BaseException:
        runtime.stop(signal.SIGKILL, timeout=5)
        raise
    assert runtime.stop(signal.SIGINT, timeout=10) == 0, runtime.output()[-3000:]

    printed = runtime.printed_after_banner()
    assert "submission.accepted" not in printed, printed[-3000:]
    assert "outcome.recorded" not in printed, printed[-3000:]
    assert "/submissions" not in printed, printed[-3000:]
    assert "stopped" in printed
