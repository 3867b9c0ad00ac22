"""Redaction of what the local runtime prints: no signature, token or secret, whatever logs it."""

from __future__ import annotations

import io
import logging

import pytest

from local_runtime.access_log import REDACTED, RedactingFilter, install_redaction, redact_target, redact_text

SIGNATURE = "c759f59b144afd94b9acd76731c35c39244892e699463935c4fd67bdf140a2af"


def test_a_decision_links_signature_is_redacted_and_the_rest_of_the_query_kept() -> None:
    target = f"/reviews/r-1/decide?action=approve&expires=1796258472&signature={SIGNATURE}"

    assert redact_target(target) == f"/reviews/r-1/decide?action=approve&expires=1796258472&signature={REDACTED}"


@pytest.mark.parametrize(
    "name",
    ["signature", "Signature", "X-Amz-Signature", "token", "taskToken", "X-Amz-Security-Token", "secret", "password"],
)
def test_every_secret_looking_parameter_is_redacted(name: str) -> None:
    assert redact_target(f"/path?{name}=s3cr3t&limit=5") == f"/path?{name}={REDACTED}&limit=5"


def test_a_target_without_query_is_unchanged() -> None:
    assert redact_target("/reviews/r-1/approve") == "/reviews/r-1/approve"


@pytest.mark.parametrize(
    "text",
    [
        f'code 400, message Bad request version ("/reviews/x/decide?action=approve&signature={SIGNATURE} HTTP/9")',
        f'127.0.0.1 - - [01/Jan/2026 00:00:00] "GET /?X-Amz-Signature={SIGNATURE}&X-Amz-Expires=60 HTTP/1.1" 200 -',
        f"send_task_success(taskToken='{SIGNATURE}', output='{{}}')",
        f'{{"taskToken": "{SIGNATURE}", "output": "{{}}"}}',
        f"Authorization: Bearer {SIGNATURE}",
        f"/reviews/x/decide%3Faction%3Dapprove%26signature%3D{SIGNATURE}",
    ],
)
def test_free_text_loses_every_secret_value(text: str) -> None:
    redacted = redact_text(text)

    assert SIGNATURE not in redacted
    assert REDACTED in redacted


def test_free_text_without_secrets_is_unchanged() -> None:
    line = '{"event": "review.decided", "reviewId": "r-1", "decision": "approved"}'

    assert redact_text(line) == line


def test_the_filter_redacts_any_library_s_records_and_tracebacks_on_the_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.access_log.werkzeug")
    logger.propagate = False
    logger.addHandler(handler)
    install_redaction(logger)
    install_redaction(logger)  # idempotent
    try:
        logger.warning('"%s" %s', f"GET /reviews/x/decide?signature={SIGNATURE} HTTP/1.1", 200)
        try:
            raise ValueError(f"bad link /reviews/x/decide?action=approve&signature={SIGNATURE}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)

    printed = stream.getvalue()
    assert SIGNATURE not in printed
    assert printed.count(f"signature={REDACTED}") >= 2  # the line, the exception (and its source line)
    assert sum(isinstance(existing, RedactingFilter) for existing in handler.filters) == 1
