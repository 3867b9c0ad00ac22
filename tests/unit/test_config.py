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
    "STATS_TABLE": "st",
    "LIMITS_TABLE": "lt",
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
            "STATS_TABLE",
            "LIMITS_TABLE",
            "STATE_MACHINE_ARN",
        )
    }

    with pytest.raises(ConfigurationError, match="WEBHOOK_URL"):
        Settings.from_environ({**base, "WEBHOOK_URL": "http://platform.example.com/hooks"})
    assert Settings.from_environ({**base, "WEBHOOK_URL": "https://platform.example.com/hooks"}).webhook_url


def test_the_risk_check_is_on_with_a_review_threshold_of_one_half_and_no_automatic_refusal_by_default():
    settings = Settings.from_environ(REQUIRED)
    assert settings.risk_check is True
    assert settings.risk_review_threshold == 0.5
    assert settings.risk_reject_threshold is None
    assert settings.risk_model_name == "comprehend:DetectToxicContent"


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("off", False), ("OFF", False), (" on ", True)])
def test_risk_check_takes_on_or_off(value, expected):
    assert Settings.from_environ(REQUIRED | {"RISK_CHECK": value}).risk_check is expected


@pytest.mark.parametrize("value", ["yes", "true", "0", "of"])
def test_any_other_risk_check_value_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match="RISK_CHECK"):
        Settings.from_environ(REQUIRED | {"RISK_CHECK": value})


def test_risk_thresholds_are_read_from_the_environment():
    settings = Settings.from_environ(REQUIRED | {"RISK_REVIEW_THRESHOLD": "0.3", "RISK_REJECT_THRESHOLD": "0.9"})
    assert (settings.risk_review_threshold, settings.risk_reject_threshold) == (0.3, 0.9)
    both_ends = Settings.from_environ(REQUIRED | {"RISK_REVIEW_THRESHOLD": "0", "RISK_REJECT_THRESHOLD": "1"})
    assert (both_ends.risk_review_threshold, both_ends.risk_reject_threshold) == (0.0, 1.0)


@pytest.mark.parametrize("name", ["RISK_REVIEW_THRESHOLD", "RISK_REJECT_THRESHOLD"])
@pytest.mark.parametrize("value", ["-0.1", "1.5", "high", "nan", "inf"])
def test_a_risk_threshold_outside_zero_to_one_is_refused_naming_the_variable(name, value):
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_environ(REQUIRED | {name: value})


def test_a_reject_threshold_below_the_review_threshold_is_refused():
    with pytest.raises(ConfigurationError, match="RISK_REJECT_THRESHOLD"):
        Settings.from_environ(REQUIRED | {"RISK_REJECT_THRESHOLD": "0.4"})  # below the default 0.5
    with pytest.raises(ConfigurationError, match="RISK_REJECT_THRESHOLD"):
        Settings.from_environ(REQUIRED | {"RISK_REVIEW_THRESHOLD": "0.8", "RISK_REJECT_THRESHOLD": "0.7"})
    equal = Settings.from_environ(REQUIRED | {"RISK_REVIEW_THRESHOLD": "0.8", "RISK_REJECT_THRESHOLD": "0.8"})
    assert equal.risk_reject_threshold == 0.8


def test_the_risk_model_name_can_name_another_backend():
    settings = Settings.from_environ(REQUIRED | {"RISK_MODEL_NAME": "local:toxicity-classifier"})
    assert settings.risk_model_name == "local:toxicity-classifier"


def test_rejection_categories_default_to_spec_15s_list():
    assert Settings.from_environ(REQUIRED).rejection_categories == (
        "spam",
        "hate",
        "harassment",
        "violence",
        "sexual",
        "illegal",
        "off-topic",
        "other",
    )


def test_rejection_categories_keep_their_order_without_blanks_or_repeats():
    settings = Settings.from_environ({**REQUIRED, "REJECTION_CATEGORIES": " scam, other,,scam , fake-news"})
    assert settings.rejection_categories == ("scam", "other", "fake-news")


@pytest.mark.parametrize("value", ["spam,hate", "Spam,other", "spam other,other", "-x,other", "x" * 41 + ",other"])
def test_rejection_categories_without_other_or_with_a_bad_name_are_refused(value):
    with pytest.raises(ConfigurationError, match="REJECTION_CATEGORIES"):
        Settings.from_environ({**REQUIRED, "REJECTION_CATEGORIES": value})


def test_the_appeal_window_defaults_to_14_days_and_refuses_a_bad_value():
    assert Settings.from_environ(REQUIRED).appeal_window_seconds == 14 * 24 * 3600
    assert Settings.from_environ(REQUIRED | {"APPEAL_WINDOW_SECONDS": "3600"}).appeal_window_seconds == 3600
    for value in ("0", "two weeks"):
        with pytest.raises(ConfigurationError, match="APPEAL_WINDOW_SECONDS"):
            Settings.from_environ(REQUIRED | {"APPEAL_WINDOW_SECONDS": value})


def test_anonymous_submissions_are_allowed_unless_submit_requires_client_is_true():
    assert Settings.from_environ(REQUIRED).submit_requires_client is False
    assert Settings.from_environ(REQUIRED | {"SUBMIT_REQUIRES_CLIENT": "true"}).submit_requires_client is True
    assert Settings.from_environ(REQUIRED | {"SUBMIT_REQUIRES_CLIENT": "False"}).submit_requires_client is False
    with pytest.raises(ConfigurationError, match="SUBMIT_REQUIRES_CLIENT"):
        Settings.from_environ(REQUIRED | {"SUBMIT_REQUIRES_CLIENT": "yes"})


def test_rate_limits_and_caps_default_to_off_600_and_20_and_refuse_negative_values():
    settings = Settings.from_environ(REQUIRED)
    assert settings.rate_limit_submissions_per_minute == 0
    assert settings.client_submissions_per_minute == 600
    assert settings.notify_max_per_recipient_per_day == 20
    assert (
        Settings.from_environ(REQUIRED | {"RATE_LIMIT_SUBMISSIONS_PER_MINUTE": "30"}).rate_limit_submissions_per_minute
        == 30
    )
    for name in (
        "RATE_LIMIT_SUBMISSIONS_PER_MINUTE",
        "CLIENT_SUBMISSIONS_PER_MINUTE",
        "NOTIFY_MAX_PER_RECIPIENT_PER_DAY",
    ):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_environ(REQUIRED | {name: "-1"})
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_environ(REQUIRED | {name: "many"})


def test_a_reviewers_claim_lasts_fifteen_minutes_unless_claim_seconds_says_otherwise():
    assert Settings.from_environ(REQUIRED).claim_seconds == 900
    assert Settings.from_environ(REQUIRED | {"CLAIM_SECONDS": "120"}).claim_seconds == 120


@pytest.mark.parametrize("value", ["0", "-5", "soon", "1.5"])
def test_a_bad_claim_seconds_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match="CLAIM_SECONDS"):
        Settings.from_environ(REQUIRED | {"CLAIM_SECONDS": value})
