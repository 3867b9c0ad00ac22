"""Patch to moto's KMS: a key's private key is generated when it is first used, not when the key is created.

moto gives every KMS key an RSA-2048 private key at creation, even a symmetric one, and every
encrypted DynamoDB table creates the account's default ``alias/aws/dynamodb`` key: about 0.1 s
of CPU in each in-process test's stack deploy, for a key nothing here signs with. The key is now
made on first use (``Sign``, ``Verify``, ``GetPublicKey``), from the same key spec, so every answer
is the one moto gives. A speed patch (``moto_hooks``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from local_runtime.moto_version import require_pinned_moto


class LazyPrivateKey:
    """Stands for moto's private key object: made by ``generate`` on the first attribute asked of it."""

    def __init__(self, generate: Any, key_spec: str) -> None:
        self._generate = generate
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # our own fields, or a copy/pickle probe before __init__: never the key's
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


def generate_kms_keys_on_first_use() -> None:
    """Make moto's ``Key`` take a :class:`LazyPrivateKey`. Idempotent."""
    require_pinned_moto()
    import moto.kms.models as kms_models

    original = kms_models.generate_private_key
    if getattr(original, "generates_on_first_use", False):
        return

    @functools.wraps(original)
    def generate_private_key(key_spec: str) -> Any:
        return LazyPrivateKey(original, key_spec)

    generate_private_key.generates_on_first_use = True  # type: ignore[attr-defined]
    kms_models.generate_private_key = generate_private_key
