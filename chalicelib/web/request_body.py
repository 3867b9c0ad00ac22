"""What a request body must be before it is parsed: small enough, of a media type the route reads, valid JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from chalicelib.domain.submission import BODY_MAX_BYTES
from chalicelib.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

JSON_MEDIA_TYPE = "application/json"
# The largest valid request is a submission with a 100 KB body. A JSON encoder that escapes every
# non-ASCII character (Python's json.dumps does by default) writes up to three times its UTF-8
# size (one 2-byte letter becomes the 6 bytes of \u0439), and 64 KiB more covers the title and
# the rest. Anything larger cannot be valid, so it is refused before it is read. On AWS, API
# Gateway itself refuses bodies over 10 MB (and Lambda over 6 MB) before the app sees them.
REQUEST_BODY_MAX_BYTES = 3 * BODY_MAX_BYTES + 64 * 1024


def check_body_size(length: int) -> None:
    """Raise PayloadTooLargeError when a body of ``length`` bytes cannot be a valid request."""
    if length > REQUEST_BODY_MAX_BYTES:
        raise PayloadTooLargeError(
            f"the request body is {length} bytes; at most {REQUEST_BODY_MAX_BYTES} bytes are accepted"
        )


def parse_json_body(raw: bytes | str | None) -> Any:
    """The parsed JSON body, or None when there is none.

    Raises PayloadTooLargeError (over REQUEST_BODY_MAX_BYTES) or BadRequestError (not JSON,
    invalid UTF-8, absurdly deep nesting, or a string holding a lone surrogate such as
    ``"\ud800"``: valid JSON text, but not Unicode, so DynamoDB and every encoder after us
    would refuse it).
    """
    if not raw:
        return None
    check_body_size(len(raw))
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequestError("the request body is not valid JSON") from None
    if _holds_lone_surrogate(value):
        raise BadRequestError("the request body holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode")
    return value


def _holds_lone_surrogate(value: Any) -> bool:
    """Walk the parsed value without recursion (any depth json.loads accepted is fine here)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii() and not _encodes(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unsupported_media_type(content_type: str | None, accepted: Iterable[str]) -> UnsupportedMediaTypeError:
    """The error for a body whose Content-Type the route does not read, saying what to send instead."""
    accepted = list(accepted) or [JSON_MEDIA_TYPE]
    wanted = accepted[0] if len(accepted) == 1 else "one of " + ", ".join(accepted)
    return UnsupportedMediaTypeError(
        f"unsupported Content-Type {content_type or '(none)'!r}; send Content-Type: {wanted}"
    )
