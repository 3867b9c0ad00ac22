"""The REST API and pages, served by Chalice's own local server in a thread, sized for bursts."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, ThreadedHTTPServer

from local_runtime.access_log import redact_target, redact_text

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
# socketserver's default backlog is 5: a burst of 64 clients then sees connection resets.
LISTEN_BACKLOG = 128


class BurstTolerantHTTPServer(ThreadedHTTPServer):
    """Chalice's threaded server with a listen backlog large enough for a burst of clients.

    One thread per connection (daemon, so a browser's idle keep-alive connection never
    holds up shutdown).
    """

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a request that failed outside the app through logging (redacted), not raw to stderr."""
        logger.exception("error while serving a request from %s", client_address[0] if client_address else "?")


class QuietChaliceRequestHandler(ChaliceRequestHandler):
    """Chalice's handler, with access lines sent to logging instead of raw stderr, secrets redacted.

    The stock line is the raw request line, and a decision link's ``signature=`` in a log
    is a way to decide for seven days: the line shows the path with secret values redacted.
    """

    # Headers and body go out in separate writes; with Nagle's algorithm on, each answer
    # waits ~40 ms for the client's delayed ACK (GET /health: 44 ms -> under 1 ms).
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, HTTPStatus):  # log its number, as the stock handler does
            code = code.value
        logger.info(
            '%s "%s %s %s" %s %s',
            self.address_string(),
            self.command,
            redact_target(self.path),
            self.request_version,
            code,
            size,
        )

    def log_message(self, format: str, *args: Any) -> None:
        # Errors (log_error) may quote the raw request line: redact the whole text.
        logger.info("%s %s", self.address_string(), redact_text(format % args))


def load_stage_config(stage: str, environ: MutableMapping[str, str] | None = None) -> tuple[Any, Any]:
    """Chalice's config for ``stage`` and the app it loads, the way ``chalice local`` does.

    ``CLIFactory`` writes the stage's ``environment_variables`` into the mapping it is
    given when it loads the app. Given a scratch dict, the caller decides which of them
    to apply (the runtime's own values must win over a stage file's).
    """
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_routes

    factory = CLIFactory(str(PROJECT_DIR), environ=environ if environ is not None else os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    chalice_app = config.chalice_app
    validate_routes(chalice_app.routes)  # what `chalice deploy` would refuse, refuse here too
    return config, chalice_app


def make_request_local(chalice_app: Any) -> None:
    """Give the app a thread-local ``current_request``, as ``chalice.local.create_local_server`` does.

    Without it, concurrent requests on the threaded server would read each other's request.
    Idempotent, so the runtime can be started more than once in one process (tests).
    """
    if isinstance(chalice_app, LocalChalice):
        return
    local_class = type("LocalRuntimeChalice", (LocalChalice, chalice_app.__class__), {})
    chalice_app.__class__ = local_class


class RestServer:
    """Binds at construction (so the real port is known early) and serves from :meth:`start`."""

    def __init__(self, chalice_app: Any, config: Any, *, host: str, port: int) -> None:
        make_request_local(chalice_app)
        self._dev_server = LocalDevServer(
            chalice_app,
            config,
            host,
            port,
            handler_cls=QuietChaliceRequestHandler,
            server_cls=BurstTolerantHTTPServer,
        )
        self.port = int(self._dev_server.server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._dev_server.server.serve_forever, name="rest-server", kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._dev_server.shutdown()
            self._thread.join(timeout=5)
        self._dev_server.server.server_close()
