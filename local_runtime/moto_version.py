"""The one moto version the local runtime's patches were written against, and the check that enforces it."""

from __future__ import annotations

import functools

# Every patch in local_runtime replaces or wraps a moto internal (a private method, a module
# attribute, a thread it starts). They were read against this release; another one may rename or
# restructure them silently, so the runtime refuses to start instead of misbehaving later.
PINNED_MOTO_VERSION = "5.2.5"


class MotoVersionError(RuntimeError):
    """The installed moto is not the version local_runtime's patches were written for."""


@functools.cache
def installed_moto_version() -> str:
    """Read once per process: every patch checks it, and reading package metadata parses a file each time."""
    from importlib.metadata import version

    return version("moto")


def require_pinned_moto() -> None:
    """Raise :class:`MotoVersionError` unless the installed moto is :data:`PINNED_MOTO_VERSION`."""
    installed = installed_moto_version()
    if installed != PINNED_MOTO_VERSION:
        raise MotoVersionError(
            f"local_runtime patches moto {PINNED_MOTO_VERSION} internals, but moto {installed} is installed: "
            f"install moto=={PINNED_MOTO_VERSION} (requirements-dev.txt), or re-check every patch in "
            "local_runtime/moto_hooks.py and local_runtime/*_patches.py against the new version"
        )
