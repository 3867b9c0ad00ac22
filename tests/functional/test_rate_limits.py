"""Rate limits on moto (SPEC §18): 429 + Retry-After with nothing stored or started; failing closed when throttled."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.conftest import json_headers, submit
from tests.functional.test_clients_api import ARTICLE, _executions, _table_items, create_client


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> Any:
    """Limits set for this test: call it with the variables, then the app reads them afresh."""
    from chalicelib import service

    def apply(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        service.reset()

    return apply


def test_anonymous_submissions_are_unlimited_by_default_and_count_nothing(client, aws):
    for number in range(12):
        submit(client, f"Article {number}", "A clean article")

    assert _table_items(aws, "LimitsTableName") == []


def test_over_the_anonymous_limit_is_429_with_retry_after_and_nothing_stored_or_started(client, aws, limits):
    limits(RATE_LIMIT_SUBMISSIONS_PER_MINUTE="3")
    for number in range(3):
        submit(client, f"Article {number}", "A clean article")

    refused = client.http.post("/submissions", headers=json_headers(), body=ARTICLE)

    assert refused.status_code == 429
    assert refused.json_body["error"]["code"] == "RateLimited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(_table_items(aws, "SubmissionsTableName")) == 3
    assert len(_executions(aws)) == 3
    (counter,) = _table_items(aws, "LimitsTableName")
    assert counter["count"] == {"N": "3"} and "expiresAt" in counter


def test_rate_limited_submissions_are_counted_in_stats_and_as_a_metric(client, admin_headers, limits, capsys):
    limits(RATE_LIMIT_SUBMISSIONS_PER_MINUTE="1")
    submit(client, "Article", "A clean article")
    capsys.readouterr()

    for _ in range(2):
        assert client.http.post("/submissions", headers=json_headers(), body=ARTICLE).status_code == 429

    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"RateLimited"' in line]
    assert [(document["RateLimited"], document["Caller"]) for document in metrics] == [(1, "anonymous")] * 2
    figures = client.http.get("/stats", headers=admin_headers).json_body
    assert figures["last24h"]["rateLimited"] == 2
    assert figures["last24h"]["submitted"] == 1


def test_a_client_is_limited_on_its_own_and_not_by_the_anonymous_limit(client, admin_headers, aws, limits):
    token = create_client(client, admin_headers)
    limits(RATE_LIMIT_SUBMISSIONS_PER_MINUTE="1", CLIENT_SUBMISSIONS_PER_MINUTE="2")
    submit(client, "Anonymous", "A clean article")
    for number in range(2):
        submit(client, f"Client {number}", "A clean article", Authorization=f"Bearer {token}")

    refused = client.http.post("/submissions", headers=json_headers(Authorization=f"Bearer {token}"), body=ARTICLE)

    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert len(_executions(aws)) == 3


def test_a_throttled_limits_table_fails_closed_for_anonymous_callers_and_is_logged(client, aws, limits, caplog):
    from chalicelib.config import get_settings
    from chalicelib.integrations import aws as aws_clients

    caplog.set_level(logging.INFO, logger="chalicelib")
    limits(RATE_LIMIT_SUBMISSIONS_PER_MINUTE="3")
    dynamodb = aws_clients.table(get_settings().limits_table).meta.client
    with Stubber(dynamodb) as stubber:
        stubber.add_client_error(
            "update_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
        )
        refused = client.http.post("/submissions", headers=json_headers(), body=ARTICLE)
        stubber.assert_no_pending_responses()

    assert refused.status_code == 503
    assert refused.json_body["error"]["code"] == "ServiceUnavailable"
    assert _table_items(aws, "SubmissionsTableName") == []
    assert _executions(aws) == []
    logged = [
        json.loads(record.getMessage()) for record in caplog.records if "rate_limit.unavailable" in record.getMessage()
    ]
    assert [entry["caller"] for entry in logged] == ["anonymous"]
    assert "ProvisionedThroughputExceededException" in logged[0]["error"]
