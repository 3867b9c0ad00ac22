"""Patch to botocore: each service model and data file loaded once per process, not once per session.

moto's ``mock_aws`` gives every test a fresh default boto3 session, and the app makes a session of
its own after each reset; every new session's loader parses botocore's JSON again (endpoints, each
service model): about a third of an in-process test's CPU. A speed patch (``moto_hooks``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from local_runtime.moto_version import require_pinned_moto

_shared: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def share_loaded_botocore_data() -> None:
    """Let loaders with the same search paths and extras share what they load. Idempotent.

    botocore's ``Loader`` keeps what it loads per instance (``instance_cache``), and every client of
    a session already shares those objects, so nothing mutates them after loading. Two loaders
    configured alike (search paths, extras types) would load the same files into the same data: now
    the second gets the first one's, exactly as a second client of one session does.
    """
    require_pinned_moto()
    from botocore.loaders import Loader

    for name in ("load_data_with_path", "load_service_model"):
        original = getattr(Loader, name)
        if getattr(original, "shared_between_loaders", False):
            continue
        setattr(Loader, name, _shared_between_loaders(name, original))


def _shared_between_loaders(name: str, original: Any) -> Any:
    @functools.wraps(original)
    def shared(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = (name, tuple(self.search_paths), tuple(self.extras_types), args, tuple(sorted(kwargs.items())))
        with _lock:
            if key in _shared:
                return _shared[key]
        loaded = original(self, *args, **kwargs)
        with _lock:
            return _shared.setdefault(key, loaded)

    shared.shared_between_loaders = True  # type: ignore[attr-defined]
    return shared
