"""`make run` texts outcomes: each SMS the app sends through SNS is also an .sms file in LOCAL_OUTBOX (SPEC §15)."""

from __future__ import annotations

from pathlib import Path

from tests.local_runtime.conftest import http, start_runtime, wait_for
from tests.local_runtime.test_end_to_end import pending_reviews

PHONE = "+447700900123"


def test_a_rejection_is_texted_under_the_deploy_policy_and_written_to_the_outbox_without_leaking(
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    runtime = start_runtime(tmp_path / "runtime", LOCAL_OUTBOX=str(outbox))
    try:
        created = http(
            "POST", f"{runtime.rest_url}/submissions", {"title": "Totally forbidden offer", "notifyPhone": PHONE}
        )
        assert created.status == 202, created
        submission_id = created.body["submissionId"]
        review = pending_reviews(runtime, submission_id)[submission_id]
        rejected = http(
            "POST",
            f"{runtime.rest_url}/reviews/{review['reviewId']}/reject",
            {"reason": "buy now!", "category": "spam"},
            runtime.admin_headers,
        )
        assert rejected.status == 200, rejected
        (path,) = wait_for(lambda: sorted(outbox.glob("*.sms")))
        history = wait_for(
            lambda: (
                (
                    found := http(
                        "GET", f"{runtime.rest_url}/submissions/{submission_id}/history", None, runtime.admin_headers
                    )
                )
                and any(item.get("channel") == "sms" for item in found.body["items"])
                and found.body["items"]
            )
        )
        shown = http("GET", f"{runtime.rest_url}/submissions/{submission_id}")
    finally:
        assert runtime.stop() == 0

    number, blank, text = path.read_text(encoding="utf-8").split("\n", 2)
    assert (number, blank) == (PHONE, "")
    assert "rejected" in text and "category: spam" in text and "buy now!" in text
    # Sent with the deployed policy's sns:Publish (the local runtime enforces it): delivered, not failed.
    assert [item["event"] for item in history if item.get("channel") == "sms"] == ["delivered"]
    assert shown.body["category"] == "spam" and shown.body["automated"] is False
    printed = runtime.printed_after_banner()
    assert path.name in printed  # one line announces the file...
    assert PHONE not in printed and PHONE.removeprefix("+") not in printed  # ...without the number
    assert PHONE not in str(history) and PHONE not in str(shown.body)
