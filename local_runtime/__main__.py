"""``python -m local_runtime`` (``content-moderation run``, ``make run``): start everything, print how to use it, stop on Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from local_runtime.settings import documented_settings, settings_help

READY_LINE = "ready"
DESCRIPTION = """Start the whole system on localhost, with no AWS account: moto in-process, Chalice's local
server, a WebSocket gateway and the @connections API. Prints the URLs, the admin token and the AWS
credentials, then 'ready'; Ctrl-C stops it. Every setting is an environment variable."""


def build_parser(prog: str = "python -m local_runtime") -> argparse.ArgumentParser:
    """The runtime takes no options: ``--help`` lists the environment variables it reads, with their defaults."""
    return argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=settings_help(documented_settings()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def configure_logging() -> None:
    """Warnings from everything; the app's JSON events and the runtime's own lines at LOG_LEVEL (default INFO).

    Set before the app is imported, so its ``configure_logging`` finds a handler and adds none
    (and, reading the same LOG_LEVEL, keeps this level). Every line goes through a redacting
    filter: no signature, token or secret is printed, whichever library logs it.
    """
    from chalicelib.log import configure_logging as configure_service_logging
    from local_runtime.access_log import install_redaction

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    install_redaction()
    level = configure_service_logging()  # an unknown LOG_LEVEL: one warning, then INFO
    logging.getLogger("local_runtime").setLevel(level)


def raise_open_file_limit(wanted: int = 65536) -> None:
    """Lift the soft limit on open files toward the hard one.

    Every WebSocket client holds a file descriptor, and a soft limit of 1,024 (common
    on Linux and macOS) would make the gateway refuse connections long before 1,000 clients.
    """
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m local_runtime") -> int:
    """Parse the (empty) arguments first, so ``--help`` exits before anything is imported or bound; then run."""
    build_parser(prog).parse_args(argv)
    # Imported only now: the runtime pulls in moto and chalice (half a second), which --help must not.
    from local_runtime.runtime import LocalRuntime
    from local_runtime.settings import SettingsError

    configure_logging()
    raise_open_file_limit()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # a second Ctrl-C: the user does not want to wait
            os._exit(130)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    runtime = LocalRuntime()
    try:
        runtime.start()
    except SettingsError as error:  # a bad value or a port in use: say which, no traceback
        print(f"local runtime: {error}", file=sys.stderr, flush=True)
        return 2

    print(runtime.banner(), flush=True)
    print(READY_LINE, flush=True)
    while not stop.wait(0.5):
        pass
    print("stopping...", flush=True)
    runtime.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
