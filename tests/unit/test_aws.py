"""The AWS clients' settings that keep a slow endpoint from holding up a Lambda."""

from __future__ import annotations

from chalicelib.integrations import aws
from chalicelib.integrations.notifications import POST_TIMEOUT_SECONDS


def test_the_management_api_client_gives_up_quickly():
    aws.reset_clients()
    try:
        client = aws.client("apigatewaymanagementapi", endpoint_url="http://127.0.0.1:9/local", region="us-east-1")
        config = client.meta.config
        assert config.connect_timeout == aws.MANAGEMENT_API_CONNECT_TIMEOUT_SECONDS <= 3
        assert config.read_timeout == aws.MANAGEMENT_API_READ_TIMEOUT_SECONDS <= 3
        assert config.retries["total_max_attempts"] == aws.MANAGEMENT_API_TOTAL_ATTEMPTS <= 2
        assert POST_TIMEOUT_SECONDS == config.connect_timeout + config.read_timeout
    finally:
        aws.reset_clients()


def test_the_comprehend_client_makes_one_short_attempt_and_leaves_retries_to_the_risk_scorer():
    aws.reset_clients()
    try:
        config = aws.client("comprehend", region="us-east-1").meta.config
        assert config.connect_timeout == aws.COMPREHEND_CONNECT_TIMEOUT_SECONDS <= 2
        assert config.read_timeout == aws.COMPREHEND_READ_TIMEOUT_SECONDS <= 4
        assert config.retries["total_max_attempts"] == 1
    finally:
        aws.reset_clients()
