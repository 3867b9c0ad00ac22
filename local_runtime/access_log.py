"""What the local runtime prints about requests: paths and queries with secret values redacted.

A signed decision link is a bearer credential for seven days: its ``signature=`` must never reach
a log line (SPEC §2), and neither may a token or a secret. Two layers keep them out: the servers
log a request's target through :func:`redact_target`, and :class:`RedactingFilter`, on every
handler the runtime installs, scrubs whatever else a library might print (werkzeug, websockets,
a traceback with a URL in it).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

REDACTED = "REDACTED"
# A query parameter (or ``name=value`` in free text) is secret when its name contains one of
# these, in any case: signature, X-Amz-Signature, token, taskToken, X-Amz-Security-Token, secret,
# password, X-Amz-Credential. nextToken (a page cursor) is caught too: nothing is lost by hiding it.
_SECRET_NAME_PARTS = ("signature", "token", "secret", "password", "credential")
_SECRET_NAME = "|".join(_SECRET_NAME_PARTS)
_SECRET_ASSIGNMENT = re.compile(
    rf"(?P<name>[\w.-]*(?:{_SECRET_NAME})[\w.-]*)(?P<separator>=|%3D)(?P<quote>[\"']?)(?P<value>[^&\s\"'<>;,)\]}}]+)",
    re.IGNORECASE,
)
_SECRET_JSON_FIELD = re.compile(
    rf"(?P<name>\"[\w.-]*(?:{_SECRET_NAME})[\w.-]*\"\s*:\s*)\"(?P<value>[^\"\\]*(?:\\.[^\"\\]*)*)\"",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<scheme>\bBearer\s+)[^\s\"',;]+", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a query parameter or field of this name holds something no log may show."""
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_NAME_PARTS)


def redact_target(target: str) -> str:
    """A request target (path and query) fit for a log line: secret query values become ``REDACTED``.

    The other parameters stay readable (``action=approve``, ``expires=…``), so the line still
    says what the request was.
    """
    parts = urlsplit(target)
    if not parts.query:
        return target
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not pairs:  # not a query string we can read: keep no part of it
        return f"{parts.path}?{REDACTED}"
    query = urlencode([(name, REDACTED if is_secret_name(name) else value) for name, value in pairs], safe="")
    return f"{parts.path}?{query}"


def redact_text(text: str) -> str:
    """Any text with ``secret=value``, ``"secret": "value"`` and ``Bearer value`` redacted."""
    text = _SECRET_ASSIGNMENT.sub(lambda match: f"{match['name']}{match['separator']}{match['quote']}{REDACTED}", text)
    text = _SECRET_JSON_FIELD.sub(lambda match: f'{match["name"]}"{REDACTED}"', text)
    return _BEARER.sub(lambda match: f"{match['scheme']}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) through :func:`redact_text`; drops nothing.

    Put on handlers rather than loggers: a handler's filters see every record it prints,
    whichever library's logger it came from.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RedactingFilter` to each of ``logger``'s handlers (default: the root's); idempotent."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
