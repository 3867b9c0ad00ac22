"""Settings from the environment, and what the user sees when one is wrong."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from local_runtime.settings import RuntimeSettings, SettingsError, display_host, url_host
from tests.local_runtime.conftest import ROOT


def test_defaults_match_the_spec() -> None:
    settings = RuntimeSettings.from_environ({})
    assert (settings.host, settings.port, settings.ws_port, settings.ws_management_port) == (
        "127.0.0.1",
        8000,
        8001,
        8002,
    )
    assert settings.aws_port == 8003
    assert settings.moderation_words == "forbidden"
    assert settings.review_timeout_seconds == 604800
    assert settings.admin_token_generated and len(settings.admin_token) >= 24
    assert settings.link_signing_secret_generated and settings.link_signing_secret != settings.admin_token


def test_values_from_the_environment_win() -> None:
    settings = RuntimeSettings.from_environ(
        {
            "PORT": "0",
            "WS_PORT": "9001",
            "ADMIN_TOKEN": "mine",
            "MODERATION_WORDS": "spam,scam",
            "REVIEW_TIMEOUT_SECONDS": "60",
        }
    )
    assert settings.port == 0 and settings.ws_port == 9001
    assert settings.admin_token == "mine" and not settings.admin_token_generated
    assert settings.moderation_words == "spam,scam" and settings.review_timeout_seconds == 60


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "http"), ("WS_PORT", "70000"), ("REVIEW_TIMEOUT_SECONDS", "0"), ("REVIEW_TIMEOUT_SECONDS", "1h")],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        RuntimeSettings.from_environ({name: value})


def test_the_stalled_client_limits_default_to_30_s_and_api_gateways_websocket_quotas() -> None:
    settings = RuntimeSettings.from_environ({})
    assert settings.request_read_timeout_seconds == 30
    assert settings.ws_idle_timeout_seconds == 600  # API Gateway: 10 minutes without a message
    assert settings.ws_max_connection_seconds == 7200  # API Gateway: 2 hours per connection


def test_the_stalled_client_limits_take_fractions_of_a_second() -> None:
    settings = RuntimeSettings.from_environ(
        {"REQUEST_READ_TIMEOUT_SECONDS": "0.5", "WS_IDLE_TIMEOUT_SECONDS": "1.5", "WS_MAX_CONNECTION_SECONDS": "3"}
    )
    assert settings.request_read_timeout_seconds == 0.5
    assert (settings.ws_idle_timeout_seconds, settings.ws_max_connection_seconds) == (1.5, 3)


@pytest.mark.parametrize(
    "name", ["REQUEST_READ_TIMEOUT_SECONDS", "WS_IDLE_TIMEOUT_SECONDS", "WS_MAX_CONNECTION_SECONDS"]
)
@pytest.mark.parametrize("value", ["0", "-1", "30s", "nan", "inf"])
def test_a_bad_stalled_client_limit_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        RuntimeSettings.from_environ({name: value})


def test_wildcard_hosts_are_shown_as_loopback() -> None:
    assert display_host("0.0.0.0") == "127.0.0.1"
    assert url_host("::1") == "[::1]"


def run_main(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MOTO_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "local_runtime"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_a_port_in_use_is_named_without_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_main(PORT="0", WS_PORT=str(port), WS_MANAGEMENT_PORT="0", AWS_PORT="0")
    assert result.returncode == 2
    assert f"WS_PORT={port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_stops_before_anything_starts() -> None:
    result = run_main(PORT="eighty")
    assert result.returncode == 2
    assert "PORT must be a port number" in result.stderr
    assert "ready" not in result.stdout


def test_delivery_defaults_generate_a_whsec_secret_and_a_short_local_retry_schedule():
    from local_runtime.settings import RuntimeSettings

    settings = RuntimeSettings.from_environ({})

    assert settings.webhook_url is None
    assert settings.webhook_secret.startswith("whsec_") and settings.webhook_secret_generated
    assert str(settings.local_outbox) == ".local/outbox"
    assert settings.delivery().event_bus_name == "default"
    assert settings.delivery().total_retry_seconds() < 120


@pytest.mark.parametrize("url", ["http://example.com/hook", "not a url"])
def test_a_webhook_url_that_is_not_https_or_loopback_stops_the_start(url):
    from local_runtime.settings import RuntimeSettings, SettingsError

    with pytest.raises(SettingsError, match="WEBHOOK_URL"):
        RuntimeSettings.from_environ({"WEBHOOK_URL": url})
