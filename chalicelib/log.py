"""Structured logging: one JSON line per event, with the ids that tie it to a submission."""

from __future__ import annotations

import json
import logging
from typing import Any

# Field names that must never reach a log line, whatever a caller passes.
_SECRET_FIELDS = frozenset({"taskToken", "token", "signature", "secret", "authorization"})


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``{"event": event, **fields}`` as one JSON line, dropping secret fields."""
    if not logger.isEnabledFor(level):
        return
    record = {"event": event}
    record.update({key: value for key, value in fields.items() if key not in _SECRET_FIELDS and value is not None})
    logger.log(level, json.dumps(record, default=str, sort_keys=True))


def configure_logging(level: str = "INFO") -> None:
    """Give the service's loggers a level; Lambda's runtime already owns the handler."""
    logging.getLogger("chalicelib").setLevel(level)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
