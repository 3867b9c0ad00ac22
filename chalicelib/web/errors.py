"""The one error mapping: any exception a view raises → (HTTP status, stable code, message).

The JSON and HTML responses of ``app.py`` both use it, so a domain error reads the same in the
API and on a signed-link page; anything unexpected is logged once and becomes a plain 500.
"""

from __future__ import annotations

import logging

from chalicelib.errors import ConfigurationError, ServiceError
from chalicelib.log import log_event

logger = logging.getLogger(__name__)


def error_reply(error: Exception, *, where: str) -> tuple[int, str, str]:
    """The status, code and message the client gets for ``error`` raised in ``where`` (a view's name)."""
    if isinstance(error, ServiceError):
        return error.status_code, error.code, error.message
    if isinstance(error, ConfigurationError):
        log_event(logger, "configuration.error", level=logging.ERROR, error=str(error), view=where)
        return 500, "InternalError", "the service is misconfigured"
    logger.error("unhandled error in %s", where, exc_info=error)
    return 500, "InternalError", "an internal error occurred"
