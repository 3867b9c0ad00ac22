"""`python -m deploy`: arguments, and one-line errors instead of tracebacks (no AWS reached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli import main, parse_arguments


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_destroy_keeps_data_unless_delete_data_is_given() -> None:
    assert parse_arguments(["destroy", "--stage", "prod"]).delete_data is False
    assert parse_arguments(["destroy", "--stage", "prod", "--delete-data"]).delete_data is True
    assert parse_arguments(["deploy"]).stage == "dev"


def test_deploy_without_a_region_says_how_to_set_one(
    no_aws_configuration: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--stage", "dev"]) == 1
    assert "set AWS_REGION" in capsys.readouterr().err


def test_unknown_profile_is_one_line_not_a_traceback(
    no_aws_configuration: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--profile", "no-such-profile", "--region", "eu-west-1"]) == 1
    assert capsys.readouterr().err.strip() == "error: The config profile (no-such-profile) could not be found"


def test_deploy_keeps_access_logs_30_days_unless_told_a_period_cloudwatch_offers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_arguments(["deploy"]).access_log_retention_days == 30
    assert parse_arguments(["deploy", "--access-log-retention-days", "90"]).access_log_retention_days == 90
    with pytest.raises(SystemExit):
        parse_arguments(["deploy", "--access-log-retention-days", "31"])
    assert "invalid choice" in capsys.readouterr().err
