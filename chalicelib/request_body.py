"""Request bodies: JSON that is valid all the way down, or a 400 that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import BadRequestError


def parse_json(raw: bytes | str | None) -> Any:
    """The JSON value of a request body; None for an empty body.

    Raises BadRequestError for invalid JSON, invalid UTF-8, nesting too deep to parse, and
    strings holding a lone surrogate (``"\\ud800"``): valid JSON text, but not Unicode, so
    DynamoDB and every encoder after us would refuse it.
    """
    if not raw:
        return None
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
