"""Secrets: a plain setting locally, an SSM SecureString parameter on AWS, read once and cached."""

from __future__ import annotations

import threading

from chalicelib.errors import ConfigurationError
from chalicelib.integrations import aws

_cache: dict[str, str] = {}
_lock = threading.Lock()


def resolve_secret(*, value: str | None, parameter: str | None, setting: str) -> str:
    """Return ``value`` if set, else the decrypted SSM parameter named ``parameter``.

    Raises ConfigurationError naming ``setting`` when neither is configured.
    """
    if value:
        return value
    if not parameter:
        raise ConfigurationError(f"set {setting} or {setting}_PARAMETER")
    with _lock:
        if parameter not in _cache:
            response = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
            _cache[parameter] = response["Parameter"]["Value"]
        return _cache[parameter]


def clear_secret_cache() -> None:
    """Forget cached parameters (tests; a rotated secret reaches warm Lambdas on their next cold start)."""
    with _lock:
        _cache.clear()
