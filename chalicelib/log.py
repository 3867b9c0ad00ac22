"""Structured logging: one JSON line per event, with the ids that tie it to a submission and an invocation."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Field names that must never reach a log line, whatever a caller passes.
_SECRET_FIELDS = frozenset({"taskToken", "token", "signature", "secret", "authorization"})
DEFAULT_LOG_LEVEL = logging.INFO
_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
_LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The Lambda invocation being handled: its request id and function name go on every line. A context
# variable, not a global: the local runtime serves many invocations at once on threads.
_invocation: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("invocation", default=())


@contextmanager
def invocation(*, request_id: str | None, function_name: str | None) -> Iterator[None]:
    """Put ``requestId`` and ``functionName`` on every line logged inside the block (this thread or task only)."""
    fields = {"requestId": request_id, "functionName": function_name}
    token = _invocation.set(tuple((name, value) for name, value in fields.items() if value))
    try:
        yield
    finally:
        _invocation.reset(token)


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``{"event": event, **fields}`` as one JSON line, dropping secret fields."""
    if not logger.isEnabledFor(level):
        return
    record = {"event": event, **dict(_invocation.get())}
    record.update({key: value for key, value in fields.items() if key not in _SECRET_FIELDS and value is not None})
    logger.log(level, json.dumps(record, default=str, sort_keys=True))


def log_level(environ: Mapping[str, str]) -> int:
    """The level ``LOG_LEVEL`` names, in any case (default INFO).

    Raises ValueError naming the variable and the accepted names for anything else.
    """
    name = (environ.get("LOG_LEVEL") or "").strip().upper()
    if not name:
        return DEFAULT_LOG_LEVEL
    if name not in _LEVELS:
        raise ValueError(f"LOG_LEVEL={environ['LOG_LEVEL']!r} is not a level; use one of {', '.join(_LEVEL_NAMES)}")
    return _LEVELS[name]


def configure_logging(environ: Mapping[str, str] | None = None) -> int:
    """Give the service's loggers the level LOG_LEVEL names and return it; Lambda's runtime owns the handler.

    ``app.py`` calls this when it is imported, which makes LOG_LEVEL the one setting read at
    import time (STYLE §4 keeps the rest lazy): the level must be set before the first event is
    logged, and a Lambda's environment does not change during its life. An unknown level falls
    back to INFO with one warning rather than failing every invocation over a typo.
    """
    environ = os.environ if environ is None else environ
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        level = log_level(environ)
    except ValueError as error:
        level = DEFAULT_LOG_LEVEL
        _warn_once(f"{error}; logging at INFO")
    logging.getLogger("chalicelib").setLevel(level)
    return level


@functools.cache
def _warn_once(message: str) -> None:
    log_event(logging.getLogger(__name__), "configuration.warning", level=logging.WARNING, problem=message)
