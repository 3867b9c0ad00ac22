"""The local runtime's settings, read once from environment variables with SPEC §6 defaults."""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from local_runtime.sigv4 import AwsCredentials

if TYPE_CHECKING:
    from deploy.definition import DeliverySettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WS_PORT = 8001
DEFAULT_WS_MANAGEMENT_PORT = 8002
DEFAULT_AWS_PORT = 8003
DEFAULT_MODERATION_WORDS = "forbidden"
DEFAULT_REVIEW_TIMEOUT_SECONDS = 7 * 24 * 3600
# The runtime deploys the stack and names the functions for this stage; the app's
# .chalice/config.json has no such stage, so none of its AWS-only variables apply.
LOCAL_STAGE = "local"
# Internal endpoints (moto and the @connections API) are reached only by this process.
LOOPBACK = "127.0.0.1"
DEFAULT_LOCAL_OUTBOX = ".local/outbox"
# The From address of local e-mails; the runtime verifies it in moto's SES, as you would on AWS.
DEFAULT_SENDER_EMAIL = "moderation@content-moderation.localhost"
DEFAULT_EVENT_BUS_NAME = "default"
# Locally a failing webhook is retried after 2, 4, 8, 16 and 32 s (about a minute), not for a day.
DEFAULT_WEBHOOK_RETRY_INTERVAL_SECONDS = 2
DEFAULT_WEBHOOK_RETRY_MAX_ATTEMPTS = 5
DEFAULT_WEBHOOK_RETRY_BACKOFF_RATE = 2.0
DEFAULT_WEBHOOK_RETRY_MAX_DELAY_SECONDS = 60
# How long the REST server waits for a whole request (request line, headers and body) before
# it drops the client (SPEC §19 "Stalled clients").
DEFAULT_REQUEST_READ_TIMEOUT_SECONDS = 30.0
# API Gateway's WebSocket quotas, neither of which can be raised there: 10 minutes without a
# message, 2 hours per connection
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).
DEFAULT_WS_IDLE_TIMEOUT_SECONDS = 600.0
DEFAULT_WS_MAX_CONNECTION_SECONDS = 7200.0


@dataclass(frozen=True)
class DocumentedSetting:
    """One environment variable as ``--help`` lists it: its name, its default in words, what it does."""

    name: str
    default: str
    meaning: str


def documented_settings() -> tuple[DocumentedSetting, ...]:
    """Every variable ``python -m local_runtime`` reads, then the app's own that pass through it unchanged.

    The runtime sets the app's tables, secrets, URLs and model name itself; what is left of
    chalicelib/config.py's settings (the risk check's, the word file, the connection TTL, the appeal window,
    the rejection categories) and LOG_LEVEL come from the user's shell.
    """
    from chalicelib.config import (
        DEFAULT_APPEAL_WINDOW_SECONDS,
        DEFAULT_CLAIM_SECONDS,
        DEFAULT_CLIENT_SUBMISSIONS_PER_MINUTE,
        DEFAULT_CONNECTION_TTL_SECONDS,
        DEFAULT_NOTIFY_MAX_PER_RECIPIENT_PER_DAY,
        DEFAULT_RATE_LIMIT_SUBMISSIONS_PER_MINUTE,
        DEFAULT_REVIEW_REMINDER_SECONDS,
        DEFAULT_RISK_REVIEW_THRESHOLD,
        DEFAULT_SMS_MAX_PER_DAY,
    )
    from chalicelib.domain.review import DEFAULT_REJECTION_CATEGORIES

    return (
        DocumentedSetting("HOST", DEFAULT_HOST, "interface of the REST server and the WebSocket gateway"),
        DocumentedSetting("PORT", str(DEFAULT_PORT), "REST API and pages (0: any free port)"),
        DocumentedSetting("WS_PORT", str(DEFAULT_WS_PORT), "WebSocket API (0: any free port)"),
        DocumentedSetting(
            "WS_MANAGEMENT_PORT", str(DEFAULT_WS_MANAGEMENT_PORT), "the internal @connections API (0: any free port)"
        ),
        DocumentedSetting("AWS_PORT", str(DEFAULT_AWS_PORT), "the local AWS endpoint (0: any free port)"),
        DocumentedSetting(
            "LOCAL_AWS_ACCESS_KEY_ID", "generated, printed", "the runtime's key pair (set both or neither)"
        ),
        DocumentedSetting("LOCAL_AWS_SECRET_ACCESS_KEY", "generated, printed", "the secret of that key pair"),
        DocumentedSetting("ADMIN_TOKEN", "generated, printed", "the bootstrap admin's bearer token"),
        DocumentedSetting("LINK_SIGNING_SECRET", "generated", "HMAC key of the signed approve/reject links"),
        DocumentedSetting("MODERATION_WORDS", DEFAULT_MODERATION_WORDS, "comma-separated words the check flags"),
        DocumentedSetting(
            "REVIEW_TIMEOUT_SECONDS", str(DEFAULT_REVIEW_TIMEOUT_SECONDS), "the review deadline (7 days)"
        ),
        DocumentedSetting(
            "CLAIM_SECONDS",
            str(DEFAULT_CLAIM_SECONDS),
            "a reviewer's claim on a review lapses this long after it was last taken or renewed",
        ),
        DocumentedSetting(
            "REVIEW_REMINDER_SECONDS",
            str(DEFAULT_REVIEW_REMINDER_SECONDS),
            "a pending review is announced due soon this long before its deadline (0: never)",
        ),
        DocumentedSetting("WEBHOOK_URL", "unset", "where outcomes are POSTed (https://, or http:// to loopback)"),
        DocumentedSetting("WEBHOOK_SECRET", "generated whsec_..., printed", "the webhooks' signing secret"),
        DocumentedSetting(
            "WEBHOOK_RETRY_INTERVAL_SECONDS",
            str(DEFAULT_WEBHOOK_RETRY_INTERVAL_SECONDS),
            "first wait before a failed webhook is retried",
        ),
        DocumentedSetting(
            "WEBHOOK_RETRY_MAX_ATTEMPTS", str(DEFAULT_WEBHOOK_RETRY_MAX_ATTEMPTS), "retries of a failed webhook"
        ),
        DocumentedSetting(
            "WEBHOOK_RETRY_BACKOFF_RATE", str(DEFAULT_WEBHOOK_RETRY_BACKOFF_RATE), "growth of the wait (at least 1.0)"
        ),
        DocumentedSetting("EVENT_BUS_NAME", DEFAULT_EVENT_BUS_NAME, "the local bus outcome events go on"),
        DocumentedSetting(
            "LOCAL_OUTBOX", DEFAULT_LOCAL_OUTBOX, "folder every e-mail (.eml) and SMS (.sms) sent is written to"
        ),
        DocumentedSetting("SENDER_EMAIL", DEFAULT_SENDER_EMAIL, "From address of the e-mails"),
        DocumentedSetting(
            "REQUEST_READ_TIMEOUT_SECONDS",
            f"{DEFAULT_REQUEST_READ_TIMEOUT_SECONDS:g}",
            "a REST client that sends no complete request by then is dropped",
        ),
        DocumentedSetting(
            "WS_IDLE_TIMEOUT_SECONDS", f"{DEFAULT_WS_IDLE_TIMEOUT_SECONDS:g}", "a quiet WebSocket is closed (1001)"
        ),
        DocumentedSetting(
            "WS_MAX_CONNECTION_SECONDS",
            f"{DEFAULT_WS_MAX_CONNECTION_SECONDS:g}",
            "a WebSocket is closed after this long (1001)",
        ),
        DocumentedSetting("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        DocumentedSetting("RISK_CHECK", "on", "off: the word list alone decides"),
        DocumentedSetting(
            "RISK_REVIEW_THRESHOLD", str(DEFAULT_RISK_REVIEW_THRESHOLD), "a risk score at or above it goes to a person"
        ),
        DocumentedSetting(
            "RISK_REJECT_THRESHOLD", "unset (never)", "a risk score at or above it is refused without a person"
        ),
        DocumentedSetting("MODERATION_WORDS_FILE", "unset", "a file with more words, one a line or comma-separated"),
        DocumentedSetting(
            "CONNECTION_TTL_SECONDS", str(DEFAULT_CONNECTION_TTL_SECONDS), "TTL of stored WebSocket connections"
        ),
        DocumentedSetting(
            "REJECTION_CATEGORIES",
            ",".join(DEFAULT_REJECTION_CATEGORIES),
            "the categories a rejection may name, in order (must include other)",
        ),
        DocumentedSetting(
            "APPEAL_WINDOW_SECONDS", str(DEFAULT_APPEAL_WINDOW_SECONDS), "how long a refusal may be appealed (14 days)"
        ),
        DocumentedSetting("SUBMIT_REQUIRES_CLIENT", "false", "true: only platform clients' tokens may submit"),
        DocumentedSetting(
            "RATE_LIMIT_SUBMISSIONS_PER_MINUTE",
            str(DEFAULT_RATE_LIMIT_SUBMISSIONS_PER_MINUTE),
            "anonymous submissions a minute per source IP (0: off; 30 on AWS)",
        ),
        DocumentedSetting(
            "NOTIFY_MAX_PER_RECIPIENT_PER_DAY",
            str(DEFAULT_NOTIFY_MAX_PER_RECIPIENT_PER_DAY),
            "outcome e-mails a day to one address, and texts to one number (0: off)",
        ),
        DocumentedSetting("SMS_ALLOWED_PREFIXES", "unset (any number)", "E.164 prefixes texts may go to, e.g. +44,+1"),
        DocumentedSetting("SMS_MAX_PER_DAY", str(DEFAULT_SMS_MAX_PER_DAY), "texts a day for the whole stage (0: off)"),
        DocumentedSetting(
            "CLIENT_SUBMISSIONS_PER_MINUTE",
            str(DEFAULT_CLIENT_SUBMISSIONS_PER_MINUTE),
            "submissions a minute per platform client (0: off)",
        ),
    )


def settings_help(settings: tuple[DocumentedSetting, ...]) -> str:
    """The settings as an aligned table for an argparse epilog."""
    width = max(len(setting.name) for setting in settings)
    lines = ["environment variables (default in brackets):"]
    lines += [f"  {setting.name:<{width}}  [{setting.default}] {setting.meaning}" for setting in settings]
    return "\n".join(lines)


class SettingsError(ValueError):
    """A setting has a value the runtime cannot use; the message names the variable."""


class PortInUseError(SettingsError):
    """A port setting names a port another process holds; the message says which and what to do."""

    def __init__(self, setting: str, port: int) -> None:
        super().__init__(
            f"{setting}={port} is already in use: stop the other process, or set {setting} "
            "to another port (0 picks any free port)"
        )


@dataclass(frozen=True)
class RuntimeSettings:
    """Everything ``python -m local_runtime`` can be told through the environment.

    Ports of 0 mean "any free port": tests use that, and the real ports are printed.
    The two secrets are generated when unset, and ``*_generated`` says so, so the banner
    can tell the user which token to use.
    """

    host: str
    port: int
    ws_port: int
    ws_management_port: int
    aws_port: int
    admin_token: str
    admin_token_generated: bool
    link_signing_secret: str
    link_signing_secret_generated: bool
    moderation_words: str
    review_timeout_seconds: int
    webhook_url: str | None = None
    webhook_secret: str = ""
    webhook_secret_generated: bool = False
    local_outbox: Path = Path(DEFAULT_LOCAL_OUTBOX)
    sender_email: str = DEFAULT_SENDER_EMAIL
    event_bus_name: str = DEFAULT_EVENT_BUS_NAME
    webhook_retry_interval_seconds: int = DEFAULT_WEBHOOK_RETRY_INTERVAL_SECONDS
    webhook_retry_max_attempts: int = DEFAULT_WEBHOOK_RETRY_MAX_ATTEMPTS
    webhook_retry_backoff_rate: float = DEFAULT_WEBHOOK_RETRY_BACKOFF_RATE
    request_read_timeout_seconds: float = DEFAULT_REQUEST_READ_TIMEOUT_SECONDS
    ws_idle_timeout_seconds: float = DEFAULT_WS_IDLE_TIMEOUT_SECONDS
    ws_max_connection_seconds: float = DEFAULT_WS_MAX_CONNECTION_SECONDS
    aws_credentials: AwsCredentials = field(default_factory=AwsCredentials.generate)
    aws_credentials_generated: bool = True
    stage: str = LOCAL_STAGE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RuntimeSettings:
        admin_token = environ.get("ADMIN_TOKEN") or ""
        link_secret = environ.get("LINK_SIGNING_SECRET") or ""
        webhook_secret = environ.get("WEBHOOK_SECRET") or ""
        credentials = _aws_credentials(environ)
        return cls(
            host=environ.get("HOST") or DEFAULT_HOST,
            port=_port(environ, "PORT", DEFAULT_PORT),
            ws_port=_port(environ, "WS_PORT", DEFAULT_WS_PORT),
            ws_management_port=_port(environ, "WS_MANAGEMENT_PORT", DEFAULT_WS_MANAGEMENT_PORT),
            aws_port=_port(environ, "AWS_PORT", DEFAULT_AWS_PORT),
            admin_token=admin_token or secrets.token_urlsafe(24),
            admin_token_generated=not admin_token,
            link_signing_secret=link_secret or secrets.token_urlsafe(32),
            link_signing_secret_generated=not link_secret,
            moderation_words=environ.get("MODERATION_WORDS") or DEFAULT_MODERATION_WORDS,
            review_timeout_seconds=_positive_int(environ, "REVIEW_TIMEOUT_SECONDS", DEFAULT_REVIEW_TIMEOUT_SECONDS),
            webhook_url=_webhook_url(environ),
            webhook_secret=webhook_secret or "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
            webhook_secret_generated=not webhook_secret,
            local_outbox=Path(environ.get("LOCAL_OUTBOX") or DEFAULT_LOCAL_OUTBOX),
            sender_email=environ.get("SENDER_EMAIL") or DEFAULT_SENDER_EMAIL,
            event_bus_name=environ.get("EVENT_BUS_NAME") or DEFAULT_EVENT_BUS_NAME,
            webhook_retry_interval_seconds=_positive_int(
                environ, "WEBHOOK_RETRY_INTERVAL_SECONDS", DEFAULT_WEBHOOK_RETRY_INTERVAL_SECONDS
            ),
            webhook_retry_max_attempts=_positive_int(
                environ, "WEBHOOK_RETRY_MAX_ATTEMPTS", DEFAULT_WEBHOOK_RETRY_MAX_ATTEMPTS
            ),
            webhook_retry_backoff_rate=_backoff_rate(environ),
            request_read_timeout_seconds=_positive_seconds(
                environ, "REQUEST_READ_TIMEOUT_SECONDS", DEFAULT_REQUEST_READ_TIMEOUT_SECONDS
            ),
            ws_idle_timeout_seconds=_positive_seconds(
                environ, "WS_IDLE_TIMEOUT_SECONDS", DEFAULT_WS_IDLE_TIMEOUT_SECONDS
            ),
            ws_max_connection_seconds=_positive_seconds(
                environ, "WS_MAX_CONNECTION_SECONDS", DEFAULT_WS_MAX_CONNECTION_SECONDS
            ),
            aws_credentials=credentials or AwsCredentials.generate(),
            aws_credentials_generated=credentials is None,
        )

    def delivery(self) -> DeliverySettings:
        """The state machine's delivery settings: the local bus and the short local retry schedule."""
        from deploy.definition import DeliverySettings

        return DeliverySettings(
            event_bus_name=self.event_bus_name,
            webhook_retry_interval_seconds=self.webhook_retry_interval_seconds,
            webhook_retry_max_attempts=self.webhook_retry_max_attempts,
            webhook_retry_backoff_rate=self.webhook_retry_backoff_rate,
            webhook_retry_max_delay_seconds=max(
                DEFAULT_WEBHOOK_RETRY_MAX_DELAY_SECONDS, self.webhook_retry_interval_seconds
            ),
        )


def _webhook_url(environ: Mapping[str, str]) -> str | None:
    from chalicelib.errors import WebhookUrlError
    from chalicelib.integrations.webhooks import validate_webhook_url

    raw = environ.get("WEBHOOK_URL") or ""
    if not raw.strip():
        return None
    try:
        return validate_webhook_url(raw)
    except WebhookUrlError as error:
        raise SettingsError(f"WEBHOOK_URL {error}") from None


def _backoff_rate(environ: Mapping[str, str]) -> float:
    raw = environ.get("WEBHOOK_RETRY_BACKOFF_RATE")
    if raw is None or raw.strip() == "":
        return DEFAULT_WEBHOOK_RETRY_BACKOFF_RATE
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"WEBHOOK_RETRY_BACKOFF_RATE must be a number of at least 1.0, got {raw!r}") from None
    if value < 1.0:
        raise SettingsError(f"WEBHOOK_RETRY_BACKOFF_RATE must be at least 1.0, got {value}")
    return value


def _aws_credentials(environ: Mapping[str, str]) -> AwsCredentials | None:
    """The key pair from LOCAL_AWS_ACCESS_KEY_ID / LOCAL_AWS_SECRET_ACCESS_KEY, or None to generate one.

    Not from AWS_ACCESS_KEY_ID: in a developer's shell that is often a real key, which the
    runtime would then print in its banner and accept on its ports.
    """
    access_key = environ.get("LOCAL_AWS_ACCESS_KEY_ID") or ""
    secret = environ.get("LOCAL_AWS_SECRET_ACCESS_KEY") or ""
    if not access_key and not secret:
        return None
    if not access_key or not secret:
        raise SettingsError("set both LOCAL_AWS_ACCESS_KEY_ID and LOCAL_AWS_SECRET_ACCESS_KEY, or neither")
    return AwsCredentials(access_key, secret)


def display_host(host: str) -> str:
    """The host to put in printed URLs: a wildcard bind address is not something to browse to."""
    return LOOPBACK if host in ("", "0.0.0.0", "::") else host


def url_host(host: str) -> str:
    """``host`` as it goes in a URL (IPv6 literals need brackets)."""
    shown = display_host(host)
    return f"[{shown}]" if ":" in shown else shown


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a port number (0 for any free port), got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise SettingsError(f"{name} must be between 0 and 65535, got {value}")
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _positive_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds, fractions allowed (tests use half a second)."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name} must be a positive number of seconds, got {raw.strip()}")
    return value
