"""Settings fail fast, naming the variable."""

from __future__ import annotations

import pytest

from chalicelib.config import Settings
from chalicelib.errors import ConfigurationError

REQUIRED = {
    "SUBMISSIONS_TABLE": "s",
    "REVIEWS_TABLE": "r",
    "CONNECTIONS_TABLE": "c",
    "REVIEWERS_TABLE": "rv",
    "HISTORY_TABLE": "h",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:m",
}


def test_defaults_apply_when_optional_settings_are_absent():
    settings = Settings.from_environ(REQUIRED)
    assert settings.review_timeout_seconds == 604800
    assert settings.moderation_words == "forbidden"
    assert settings.region == "us-east-1"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_required_setting_names_the_variable(missing):
    environ = {key: value for key, value in REQUIRED.items() if key != missing}
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_environ(environ)


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_bad_review_timeout_is_refused(value):
    with pytest.raises(ConfigurationError, match="REVIEW_TIMEOUT_SECONDS"):
        Settings.from_environ(REQUIRED | {"REVIEW_TIMEOUT_SECONDS": value})


def test_import_app_does_not_import_boto3():
    import subprocess
    import sys

    code = "import sys, app; print(' '.join(m for m in ('boto3', 'botocore', 'moto') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_a_plain_http_webhook_url_outside_loopback_is_a_configuration_error():
    from chalicelib.config import Settings
    from chalicelib.errors import ConfigurationError

    base = {
        name: "x"
        for name in (
            "SUBMISSIONS_TABLE",
            "REVIEWS_TABLE",
            "CONNECTIONS_TABLE",
            "REVIEWERS_TABLE",
            "HISTORY_TABLE",
            "STATE_MACHINE_ARN",
        )
    }

    with pytest.raises(ConfigurationError, match="WEBHOOK_URL"):
        Settings.from_environ({**base, "WEBHOOK_URL": "http://platform.example.com/hooks"})
    assert Settings.from_environ({**base, "WEBHOOK_URL": "https://platform.example.com/hooks"}).webhook_url
