"""The one moto version the local runtime's patches were written against, and the check that enforces it."""

from __future__ import annotations

# Every patch in local_runtime replaces or wraps a moto internal (a private method, a module
# attribute, a thread it starts). They were read against this release; another one may rename or
# restructure them silently, so the runtime refuses to start instead of misbehaving later.
PINNED_MOTO_VERSION = "5.2.5"


class MotoVersionError(RuntimeError):
    """The installed moto is not the version local_runtime's patches were written for."""


def require_pinned_moto() -> None:
    """Raise :class:`MotoVersionError` unless the installed moto is :data:`PINNED_MOTO_VERSION`."""
    from importlib.metadata import version

    installed = version("moto")
    if installed != PINNED_MOTO_VERSION:
        raise MotoVersionError(
            f"local_runtime patches moto {PINNED_MOTO_VERSION} internals, but moto {installed} is installed: "
            f"install moto=={PINNED_MOTO_VERSION} (requirements-dev.txt), or re-check every patch in "
            "local_runtime/moto_hooks.py and local_runtime/*_patches.py against the new version"
        )
