"""A reminder observed through the local runtime (SPEC §14): the defaults (7-day deadline, reminder a day
before), reached with ``POST /_local/clock/advance`` exactly like the expiry after it."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from websockets.asyncio.client import connect

from tests.local_runtime.conftest import http, start_runtime, submit, wait_for
from tests.local_runtime.test_end_to_end import WEEK, next_message, pending_reviews

DAY = 86_400  # the runtime's default REVIEW_REMINDER_SECONDS


def test_a_watcher_hears_due_soon_a_day_before_the_deadline_then_the_review_expires_on_time(tmp_path: Path) -> None:
    runtime = start_runtime(tmp_path)  # REVIEW_TIMEOUT_SECONDS and REVIEW_REMINDER_SECONDS unset

    async def scenario() -> None:
        async with connect(runtime.ws_url) as watcher:
            token = runtime.admin_headers["Authorization"].removeprefix("Bearer ")
            await watcher.send(json.dumps({"action": "watchReviews", "token": token}))
            submission_id = submit(runtime, "A forbidden title nobody reviews")
            review = (await asyncio.to_thread(pending_reviews, runtime, submission_id))[submission_id]
            await asyncio.to_thread(wait_for, lambda: runtime.interpreter_clock()["waiting"] == 1)

            advanced = await asyncio.to_thread(runtime.advance_clock, str(WEEK - DAY))

            assert advanced.returncode == 0, advanced.stderr
            assert "1 waiting task(s) timed out" in advanced.stdout, advanced.stdout
            while (message := await next_message(watcher, "review"))["event"] != "due_soon":
                assert message["event"] == "created", message
            assert message["review"]["reviewId"] == review["reviewId"]
            assert message["review"]["deadline"] == review["deadline"]
            await asyncio.to_thread(wait_for, lambda: runtime.interpreter_clock()["waiting"] == 1)
            history = http(
                "GET", f"{runtime.rest_url}/submissions/{submission_id}/history", headers=runtime.admin_headers
            )
            assert "reminded" in [item["event"] for item in history.body["items"]]
            assert http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body["status"] == "IN_REVIEW"

            # The deadline did not move: the day left after the reminder ends it.
            advanced = await asyncio.to_thread(runtime.advance_clock, str(DAY))

            assert "1 waiting task(s) timed out" in advanced.stdout, advanced.stdout
            while (message := await next_message(watcher, "review"))["event"] != "expired":
                pass
            assert message["review"]["reviewId"] == review["reviewId"]
        assert http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body["status"] == "EXPIRED"

    try:
        asyncio.run(scenario())
    except BaseException:
        runtime.stop(signal.SIGKILL, timeout=5)
        raise
    assert runtime.stop(signal.SIGINT, timeout=10) == 0, runtime.output()[-3000:]
    assert "AccessDenied" not in runtime.output()
