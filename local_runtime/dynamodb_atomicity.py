"""Give moto's DynamoDB the one guarantee our decisions rely on: a conditional write is atomic.

moto checks a ``ConditionExpression`` and applies the write in two unlocked steps, so two
threads can both pass the check (real DynamoDB never allows that). The local runtime is
threaded, so without this an approve racing a reject could both "win" locally.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_WRITE_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()
_installed = False


def serialize_dynamodb_writes() -> None:
    """Run every moto DynamoDB write under one lock (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITE_METHODS:
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    _installed = True


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return wrapper
