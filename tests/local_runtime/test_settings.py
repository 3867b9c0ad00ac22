"""Settings from the environment, and what the user sees when one is wrong."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import pytest

from local_runtime.settings import RuntimeSettings, SettingsError, display_host, documented_settings, url_host
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
    assert "ready" not in result.stdout.splitlines()  # the line the runtime prints once it is up


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


class RecordingEnviron(Mapping[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_the_documented_settings_are_every_variable_the_runtime_reads_and_the_apps_risk_thresholds() -> None:
    environ = RecordingEnviron()
    RuntimeSettings.from_environ(environ)
    documented = {setting.name for setting in documented_settings()}

    assert environ.asked and environ.asked <= documented
    assert {"LOG_LEVEL", "RISK_CHECK", "RISK_REVIEW_THRESHOLD", "RISK_REJECT_THRESHOLD"} <= documented
    assert all(setting.default and setting.meaning for setting in documented_settings())


def test_help_lists_the_settings_and_starts_nothing() -> None:
    with socket.socket() as taken:  # were it to start, this port in use would stop it with exit status 2
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "local_runtime", "--help"],
            cwd=ROOT,
            env={**os.environ, "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m local_runtime")
    for setting in documented_settings():
        assert f"  {setting.name} " in result.stdout and f"[{setting.default}]" in result.stdout
    assert "ready" not in result.stdout.splitlines()  # the line the runtime prints once it is up
    imported = {line.rpartition("|")[2].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert not imported & {"moto", "chalice", "boto3", "botocore", "app"}  # -X importtime lists every import
    assert elapsed < 10  # about 0.2 s alone; generous for a loaded 2-core machine
