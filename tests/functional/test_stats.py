"""GET /stats on moto: figures from counters kept as events happen, each event counted exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.clock import iso
from tests.conftest import pending_review_for, submit, wait_for, wait_for_status
from tests.functional.test_reviewers_api import bearer, create_reviewer

CONCURRENT_SUBMISSIONS = 1000


def _stats(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = client.http.get("/stats", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body


def test_stats_needs_a_reviewer_token(client):
    assert client.http.get("/stats").status_code == 401
    wrong = client.http.get("/stats", headers=bearer("not-a-token"))
    assert wrong.status_code == 401
    assert wrong.json_body["error"]["code"] == "Unauthorized"


def test_stats_count_what_happened_through_the_workflow(client, admin_headers):
    ana = create_reviewer(client, admin_headers, "ana")
    assert _stats(client, bearer(ana)) == {
        "pending": 0,
        "oldestPendingAgeSeconds": None,
        "last24h": {
            "submitted": 0,
            "flagged": 0,
            "approved": 0,
            "rejected": 0,
            "expired": 0,
            "appealed": 0,
            "rateLimited": 0,
            "notificationsSkipped": 0,
        },
        "medianTimeToDecisionSeconds24h": None,
        "byReviewer7d": [],
    }
    clean = submit(client, "A lovely day")
    flagged = submit(client, "This is forbidden")
    wait_for_status(client, clean["submissionId"], "APPROVED")
    review = pending_review_for(client, admin_headers, flagged["submissionId"])
    waiting = _stats(client, bearer(ana))
    assert waiting["pending"] == 1 and waiting["oldestPendingAgeSeconds"] >= 0

    decided = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=bearer(ana), body="{}")
    assert decided.status_code == 200, decided.body
    wait_for_status(client, flagged["submissionId"], "REJECTED")

    figures = wait_for(lambda: (found := _stats(client, bearer(ana)))["last24h"]["rejected"] == 1 and found)
    assert figures["last24h"] == {
        "submitted": 2,
        "flagged": 1,
        "approved": 1,
        "rejected": 1,
        "expired": 0,
        "appealed": 0,
        "rateLimited": 0,
        "notificationsSkipped": 0,
    }
    assert figures["pending"] == 0 and figures["oldestPendingAgeSeconds"] is None
    assert 0 <= figures["medianTimeToDecisionSeconds24h"] <= 30  # decided within seconds: the first bucket
    assert figures["byReviewer7d"] == [{"name": "ana", "decisions": 1}]


def test_a_thousand_concurrent_submissions_are_each_counted_exactly_once(aws):
    """Intake on the DynamoDB stores (moto) from 16 threads, every submission sent twice (a client retry)."""
    from chalicelib.integrations import aws as aws_clients
    from chalicelib.service import compose_use_cases
    from chalicelib.stores.history import DynamoDBHistoryStore
    from chalicelib.stores.review_holds import DynamoDBReviewHoldStore
    from chalicelib.stores.reviews import DynamoDBReviewStore
    from chalicelib.stores.stats import DynamoDBStatsStore
    from chalicelib.stores.submissions import DynamoDBSubmissionStore
    from chalicelib.web.requests import parse_article_request
    from tests.fakes import RecordingMetrics, RecordingNotifier, RecordingWorkflow

    metrics, workflow = RecordingMetrics(), RecordingWorkflow()
    use_cases = compose_use_cases(
        submissions=DynamoDBSubmissionStore(aws_clients.table(aws["SubmissionsTableName"])),
        reviews=DynamoDBReviewStore(aws_clients.table(aws["ReviewsTableName"])),
        holds=DynamoDBReviewHoldStore(aws_clients.table(aws["ReviewsTableName"])),
        history=DynamoDBHistoryStore(aws_clients.table(aws["HistoryTableName"])),
        stats_store=DynamoDBStatsStore(aws_clients.table(aws["StatsTableName"])),
        metrics=metrics,
        workflow=workflow,  # the executions are not what this test is about: no state machine runs
        notifier=RecordingNotifier(),
        word_list_source=lambda: ["forbidden"],
        link_secret=lambda: "secret",
        review_timeout_seconds=3600,
        clock=lambda: 1_800_000_000.0,  # one hour for all: every add goes to the same counter item
    )

    def submit_twice(number: int) -> None:
        article = parse_article_request({"title": f"Article {number}"})
        key = f"key-{number:04d}"
        for _attempt in range(2):
            use_cases.intake.submit(article, idempotency_key=key)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(submit_twice, range(CONCURRENT_SUBMISSIONS)))

    counters = DynamoDBStatsStore(aws_clients.table(aws["StatsTableName"])).read(["hour#2027-01-15T08"])
    assert counters == {"hour#2027-01-15T08": {"submitted": CONCURRENT_SUBMISSIONS}}
    assert len(metrics.values("Submissions")) == CONCURRENT_SUBMISSIONS


def test_the_check_task_invoked_twice_is_counted_once(aws, chalice_app):
    import app
    from chalicelib import service
    from chalicelib.web.requests import parse_article_request
    from tests.fakes import RecordingWorkflow

    # The submission only, no execution: this test invokes the task itself, twice, as a retry would.
    workflow = RecordingWorkflow()
    submission = service.build_use_cases(workflow=workflow).intake.submit(
        parse_article_request({"title": "This is forbidden"}), idempotency_key=None
    )
    event = {
        "submissionId": submission.submission_id,
        "executionArn": workflow.execution_arn_for(submission.submission_id),
        "enteredTime": iso(1_800_000_000.0),
    }
    first, second = app.check_content(event, None), app.check_content(event, None)
    assert first == second and first["route"] == "review"
    from chalicelib.integrations import aws as aws_clients
    from chalicelib.stores.stats import DynamoDBStatsStore

    counters = DynamoDBStatsStore(aws_clients.table(aws["StatsTableName"])).read(["hour#2027-01-15T08"])
    assert counters == {"hour#2027-01-15T08": {"flagged": 1}}
