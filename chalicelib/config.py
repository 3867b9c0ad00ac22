"""Settings: one frozen object built from the environment, read lazily and cached."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.errors import ConfigurationError

DEFAULT_MODERATION_WORDS = "forbidden"
DEFAULT_REVIEW_TIMEOUT_SECONDS = 7 * 24 * 3600
# API Gateway closes WebSocket connections after two hours at most.
DEFAULT_CONNECTION_TTL_SECONDS = 2 * 3600


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

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings, raising ConfigurationError that names the first bad variable."""
        return cls(
            stage=environ.get("STAGE", "dev"),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            submissions_table=_required(environ, "SUBMISSIONS_TABLE"),
            reviews_table=_required(environ, "REVIEWS_TABLE"),
            connections_table=_required(environ, "CONNECTIONS_TABLE"),
            reviewers_table=_required(environ, "REVIEWERS_TABLE"),
            history_table=_required(environ, "HISTORY_TABLE"),
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
