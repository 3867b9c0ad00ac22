"""Settings: one frozen object built from the environment, read lazily and cached."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.domain.review import DEFAULT_CATEGORY, DEFAULT_REJECTION_CATEGORIES
from chalicelib.domain.risk import DEFAULT_MODEL_NAME
from chalicelib.errors import ConfigurationError

DEFAULT_MODERATION_WORDS = "forbidden"
DEFAULT_REVIEW_TIMEOUT_SECONDS = 7 * 24 * 3600
# SPEC §15: a refusal may be appealed for 14 days after it was decided.
DEFAULT_APPEAL_WINDOW_SECONDS = 14 * 24 * 3600
# SPEC §14: a reviewer's claim on a review lapses this long after it was last taken or renewed.
DEFAULT_CLAIM_SECONDS = 900
# SPEC §14: a pending review is announced as due soon this long before its deadline (0: never).
DEFAULT_REVIEW_REMINDER_SECONDS = 24 * 3600
# API Gateway closes WebSocket connections after two hours at most.
DEFAULT_CONNECTION_TTL_SECONDS = 2 * 3600
# SPEC §13: at or above the review threshold a human looks; no automatic refusal unless set.
DEFAULT_RISK_REVIEW_THRESHOLD = 0.5
# SPEC §18: anonymous submissions are unlimited unless set (the deploy sets 30 a minute per address);
# a platform client may send 600 a minute.
DEFAULT_RATE_LIMIT_SUBMISSIONS_PER_MINUTE = 0
DEFAULT_CLIENT_SUBMISSIONS_PER_MINUTE = 600
# Messages a UTC day to one address (SPEC §18); past it they are skipped, the submission goes on.
DEFAULT_NOTIFY_MAX_PER_RECIPIENT_PER_DAY = 20
# Text messages a UTC day for the whole stage (SPEC §18), whatever the recipients.
DEFAULT_SMS_MAX_PER_DAY = 1000
_SWITCHES = {"on": True, "off": False}
# A rejection category: lower-case words joined by hyphens, short enough for an SMS and a select.
_CATEGORY_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CATEGORY_MAX_CHARACTERS = 40
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, validated once."""

    stage: str
    region: str
    submissions_table: str
    reviews_table: str
    connections_table: str
    reviewers_table: str
    history_table: str
    stats_table: str
    limits_table: str
    state_machine_arn: str
    review_timeout_seconds: int
    connection_ttl_seconds: int
    moderation_words: str
    moderation_words_file: str | None
    public_base_url: str | None
    websocket_url: str | None
    websocket_url_parameter: str | None
    admin_token: str | None
    admin_token_parameter: str | None
    link_signing_secret: str | None
    link_signing_secret_parameter: str | None
    management_endpoint: str | None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_secret_parameter: str | None = None
    sender_email: str | None = None
    risk_check: bool = True
    risk_review_threshold: float = DEFAULT_RISK_REVIEW_THRESHOLD
    risk_reject_threshold: float | None = None
    risk_model_name: str = DEFAULT_MODEL_NAME
    rejection_categories: tuple[str, ...] = DEFAULT_REJECTION_CATEGORIES
    appeal_window_seconds: int = DEFAULT_APPEAL_WINDOW_SECONDS
    submit_requires_client: bool = False
    rate_limit_submissions_per_minute: int = DEFAULT_RATE_LIMIT_SUBMISSIONS_PER_MINUTE
    client_submissions_per_minute: int = DEFAULT_CLIENT_SUBMISSIONS_PER_MINUTE
    notify_max_per_recipient_per_day: int = DEFAULT_NOTIFY_MAX_PER_RECIPIENT_PER_DAY
    sms_allowed_prefixes: tuple[str, ...] = ()
    sms_max_per_day: int = DEFAULT_SMS_MAX_PER_DAY
    claim_seconds: int = DEFAULT_CLAIM_SECONDS
    review_reminder_seconds: int = DEFAULT_REVIEW_REMINDER_SECONDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings, raising ConfigurationError that names the first bad variable."""
        review_threshold = _fraction(environ, "RISK_REVIEW_THRESHOLD")
        if review_threshold is None:
            review_threshold = DEFAULT_RISK_REVIEW_THRESHOLD
        return cls(
            stage=environ.get("STAGE", "dev"),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            submissions_table=_required(environ, "SUBMISSIONS_TABLE"),
            reviews_table=_required(environ, "REVIEWS_TABLE"),
            connections_table=_required(environ, "CONNECTIONS_TABLE"),
            reviewers_table=_required(environ, "REVIEWERS_TABLE"),
            history_table=_required(environ, "HISTORY_TABLE"),
            stats_table=_required(environ, "STATS_TABLE"),
            limits_table=_required(environ, "LIMITS_TABLE"),
            state_machine_arn=_required(environ, "STATE_MACHINE_ARN"),
            review_timeout_seconds=_positive_int(environ, "REVIEW_TIMEOUT_SECONDS", DEFAULT_REVIEW_TIMEOUT_SECONDS),
            connection_ttl_seconds=_positive_int(environ, "CONNECTION_TTL_SECONDS", DEFAULT_CONNECTION_TTL_SECONDS),
            moderation_words=environ.get("MODERATION_WORDS") or DEFAULT_MODERATION_WORDS,
            moderation_words_file=environ.get("MODERATION_WORDS_FILE") or None,
            public_base_url=(environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            websocket_url=environ.get("WEBSOCKET_URL") or None,
            websocket_url_parameter=environ.get("WEBSOCKET_URL_PARAMETER") or None,
            admin_token=environ.get("ADMIN_TOKEN") or None,
            admin_token_parameter=environ.get("ADMIN_TOKEN_PARAMETER") or None,
            link_signing_secret=environ.get("LINK_SIGNING_SECRET") or None,
            link_signing_secret_parameter=environ.get("LINK_SIGNING_SECRET_PARAMETER") or None,
            management_endpoint=environ.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI") or None,
            webhook_url=_webhook_url(environ),
            webhook_secret=environ.get("WEBHOOK_SECRET") or None,
            webhook_secret_parameter=environ.get("WEBHOOK_SECRET_PARAMETER") or None,
            sender_email=environ.get("SENDER_EMAIL") or None,
            risk_check=_switch(environ, "RISK_CHECK", default=True),
            risk_review_threshold=review_threshold,
            risk_reject_threshold=_reject_threshold(environ, review_threshold),
            risk_model_name=environ.get("RISK_MODEL_NAME") or DEFAULT_MODEL_NAME,
            rejection_categories=_rejection_categories(environ),
            appeal_window_seconds=_positive_int(environ, "APPEAL_WINDOW_SECONDS", DEFAULT_APPEAL_WINDOW_SECONDS),
            submit_requires_client=_boolean(environ, "SUBMIT_REQUIRES_CLIENT", default=False),
            rate_limit_submissions_per_minute=_non_negative_int(
                environ, "RATE_LIMIT_SUBMISSIONS_PER_MINUTE", DEFAULT_RATE_LIMIT_SUBMISSIONS_PER_MINUTE
            ),
            client_submissions_per_minute=_non_negative_int(
                environ, "CLIENT_SUBMISSIONS_PER_MINUTE", DEFAULT_CLIENT_SUBMISSIONS_PER_MINUTE
            ),
            notify_max_per_recipient_per_day=_non_negative_int(
                environ, "NOTIFY_MAX_PER_RECIPIENT_PER_DAY", DEFAULT_NOTIFY_MAX_PER_RECIPIENT_PER_DAY
            ),
            sms_allowed_prefixes=_sms_prefixes(environ),
            sms_max_per_day=_non_negative_int(environ, "SMS_MAX_PER_DAY", DEFAULT_SMS_MAX_PER_DAY),
            claim_seconds=_positive_int(environ, "CLAIM_SECONDS", DEFAULT_CLAIM_SECONDS),
            review_reminder_seconds=_non_negative_int(
                environ, "REVIEW_REMINDER_SECONDS", DEFAULT_REVIEW_REMINDER_SECONDS
            ),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings.from_environ(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is required")
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"environment variable {name} must be positive, got {value}")
    return value


def _non_negative_int(environ: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, 0 or more (0 switches a limit off)."""
    raw = environ.get(name)
    if not raw or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"environment variable {name} must be 0 or more, got {value}")
    return value


def _switch(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = environ.get(name)
    if not raw:
        return default
    value = _SWITCHES.get(raw.strip().lower())
    if value is None:
        raise ConfigurationError(f"environment variable {name} must be 'on' or 'off', got {raw!r}")
    return value


def _boolean(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = environ.get(name)
    if not raw or not raw.strip():
        return default
    value = _BOOLEANS.get(raw.strip().lower())
    if value is None:
        raise ConfigurationError(f"environment variable {name} must be 'true' or 'false', got {raw!r}")
    return value


def _fraction(environ: Mapping[str, str], name: str) -> float | None:
    """A number from 0 to 1, or None when the variable is unset or empty."""
    raw = environ.get(name)
    if not raw or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be a number from 0 to 1, got {raw!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"environment variable {name} must be from 0 to 1, got {raw!r}")
    return value


def _reject_threshold(environ: Mapping[str, str], review_threshold: float) -> float | None:
    """RISK_REJECT_THRESHOLD: unset means never refuse automatically; below the review threshold is a mistake."""
    value = _fraction(environ, "RISK_REJECT_THRESHOLD")
    if value is not None and value < review_threshold:
        raise ConfigurationError(
            f"environment variable RISK_REJECT_THRESHOLD ({value}) must be at least "
            f"RISK_REVIEW_THRESHOLD ({review_threshold})"
        )
    return value


def _sms_prefixes(environ: Mapping[str, str]) -> tuple[str, ...]:
    from chalicelib.domain.sms import parse_prefixes

    try:
        return parse_prefixes(environ.get("SMS_ALLOWED_PREFIXES") or "")
    except ValueError as error:
        raise ConfigurationError(f"environment variable SMS_ALLOWED_PREFIXES: {error}") from None


def _webhook_url(environ: Mapping[str, str]) -> str | None:
    from chalicelib.errors import WebhookUrlError
    from chalicelib.integrations.webhooks import validate_webhook_url

    raw = environ.get("WEBHOOK_URL") or None
    if raw is None:
        return None
    try:
        return validate_webhook_url(raw)
    except WebhookUrlError as error:
        raise ConfigurationError(f"environment variable WEBHOOK_URL: {error}") from None


def _rejection_categories(environ: Mapping[str, str]) -> tuple[str, ...]:
    """REJECTION_CATEGORIES: comma-separated names, in the order the dashboard offers them; must include ``other``."""
    raw = environ.get("REJECTION_CATEGORIES") or ""
    if not raw.strip():
        return DEFAULT_REJECTION_CATEGORIES
    categories = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    for name in categories:
        if len(name) > CATEGORY_MAX_CHARACTERS or not _CATEGORY_PATTERN.fullmatch(name):
            raise ConfigurationError(
                f"environment variable REJECTION_CATEGORIES: {name!r} is not lower-case words joined by hyphens"
                f" (at most {CATEGORY_MAX_CHARACTERS} characters)"
            )
    if DEFAULT_CATEGORY not in categories:  # what a rejection without a category gets
        raise ConfigurationError(f"environment variable REJECTION_CATEGORIES must include {DEFAULT_CATEGORY!r}")
    return categories
