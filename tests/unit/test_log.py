"""Logging: LOG_LEVEL is honoured from `import app` on, an unknown level falls back loudly, secrets are dropped."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from chalicelib.log import configure_logging, log_event, log_level
from tests.conftest import ROOT

PROBE = """
import logging
import app
from chalicelib.log import log_event
logger = logging.getLogger("chalicelib.probe")
log_event(logger, "probe.info")
log_event(logger, "probe.warning", level=logging.WARNING)
"""


def _import_app_and_log(log_level_value: str | None) -> str:
    """What a fresh interpreter prints when it imports the app (as Lambda does) and logs two events."""
    env = {name: value for name, value in os.environ.items() if name != "LOG_LEVEL"}
    if log_level_value is not None:
        env["LOG_LEVEL"] = log_level_value
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout + result.stderr


def test_log_level_warning_keeps_info_events_out_after_import_app() -> None:
    printed = _import_app_and_log("WARNING")

    assert "probe.warning" in printed
    assert "probe.info" not in printed


def test_without_log_level_info_events_are_logged() -> None:
    printed = _import_app_and_log(None)

    assert "probe.info" in printed and "probe.warning" in printed


def test_an_unknown_log_level_falls_back_to_info_with_a_warning_naming_it() -> None:
    printed = _import_app_and_log("LOUD")

    assert "LOG_LEVEL" in printed and "LOUD" in printed and "INFO" in printed
    assert printed.count("LOUD") == 1  # warned once, not once per configure_logging call
    assert "probe.info" in printed


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (None, logging.INFO),
        ("", logging.INFO),
        ("debug", logging.DEBUG),
        (" Warning ", logging.WARNING),
        ("WARN", logging.WARNING),
        ("ERROR", logging.ERROR),
        ("critical", logging.CRITICAL),
    ],
)
def test_log_level_reads_a_level_name_in_any_case(value: str | None, level: int) -> None:
    assert log_level({} if value is None else {"LOG_LEVEL": value}) == level


@pytest.mark.parametrize("value", ["LOUD", "10", "NOTSET", "info,debug"])
def test_log_level_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        log_level({"LOG_LEVEL": value})


def test_configure_logging_applies_the_level_to_the_service_loggers() -> None:
    service_logger = logging.getLogger("chalicelib")
    before = service_logger.level
    try:
        configure_logging({"LOG_LEVEL": "ERROR"})
        assert not logging.getLogger("chalicelib.usecases.decisions").isEnabledFor(logging.WARNING)
        configure_logging({})
        assert service_logger.level == logging.INFO
    finally:
        service_logger.setLevel(before)


def test_secret_fields_never_reach_the_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="chalicelib.probe"):
        log_event(logging.getLogger("chalicelib.probe"), "probe", taskToken="t0k3n", signature="s1g", reviewId="r-1")

    assert "r-1" in caplog.text
    assert "t0k3n" not in caplog.text and "s1g" not in caplog.text


def test_each_line_carries_its_invocations_request_id_and_function_name_and_threads_do_not_mix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import json
    import threading

    from chalicelib.log import invocation

    logger = logging.getLogger("chalicelib.probe")
    inside = threading.Barrier(2)

    def handle(number: int) -> None:
        with invocation(request_id=f"request-{number}", function_name=f"content-moderation-dev-f{number}"):
            inside.wait(timeout=5)  # both invocations are open at once
            log_event(logger, "probe.threaded", number=number)

    with caplog.at_level(logging.INFO, logger="chalicelib"):
        threads = [threading.Thread(target=handle, args=(number,)) for number in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log_event(logger, "probe.outside")

    lines = [json.loads(record.getMessage()) for record in caplog.records]
    threaded = sorted((line for line in lines if line["event"] == "probe.threaded"), key=lambda line: line["number"])
    assert [(line["requestId"], line["functionName"]) for line in threaded] == [
        ("request-1", "content-moderation-dev-f1"),
        ("request-2", "content-moderation-dev-f2"),
    ]
    (outside,) = [line for line in lines if line["event"] == "probe.outside"]
    assert "requestId" not in outside and "functionName" not in outside
