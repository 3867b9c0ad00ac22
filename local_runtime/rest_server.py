"""The REST API and pages, served by Chalice's own local server in a thread, sized for bursts."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, ThreadedHTTPServer

from chalicelib.errors import BadRequestError, PayloadTooLargeError, ServiceError
from chalicelib.web.request_body import check_body_size
from local_runtime.access_log import redact_target, redact_text

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
# socketserver's default backlog is 5: a burst of 64 clients then sees connection resets.
LISTEN_BACKLOG = 128
# A refused body is not read; after the error answer, what the client is still sending is
# drained for this long (at most this much) so its TCP stack sees the answer, not a reset.
LINGER_SECONDS = 1.0
LINGER_MAX_BYTES = 1024 * 1024
_CHUNK_LINE_MAX_BYTES = 1024
_TRAILER_LINES_MAX = 64
_DIGITS = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")


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

    # --- bounded bodies ------------------------------------------------------------------------
    # Chalice's handler reads Content-Length bytes at once, whatever the number (64 MB read
    # whole before the app's 413; 10**15 is a MemoryError that kills the connection) and
    # ignores chunked bodies. Here a body is refused by its declared size before any of it is
    # read, and a chunked one is read only up to the limit.

    def _bounded_handle(self) -> None:
        try:
            self._body = self._read_bounded_body()
        except _RequestRefused as refusal:
            self._refuse(refusal.error)
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _bounded_handle

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        return dict(self.headers), self._body

    def handle_expect_100(self) -> bool:
        """Answer ``Expect: 100-continue`` with the 413 itself when the declared body is too large."""
        try:
            self._declared_length()
        except _RequestRefused as refusal:
            self._refuse(refusal.error)
            return False
        return bool(super().handle_expect_100())

    def _read_bounded_body(self) -> bytes | None:
        """The body, read only when it fits REQUEST_BODY_MAX_BYTES; raises _RequestRefused otherwise."""
        transfer_encoding = self.headers.get("Transfer-Encoding")
        if transfer_encoding is not None:
            if transfer_encoding.strip().lower() != "chunked" or "Content-Length" in self.headers:
                raise _RequestRefused(
                    BadRequestError("only Transfer-Encoding: chunked, without Content-Length, is supported")
                )
            return self._read_chunked() or None
        length = self._declared_length()
        if not length:
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            raise _RequestRefused(BadRequestError("the connection closed before the whole body arrived"))
        return body

    def _declared_length(self) -> int:
        """Content-Length as a number (0 when absent); raises _RequestRefused when invalid or too large."""
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        if len(set(values)) != 1 or not _DIGITS.fullmatch(values[0].strip()):
            raise _RequestRefused(BadRequestError("invalid Content-Length header"))
        length = int(values[0])
        _check_size(length)
        return length

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = _chunk_size(self.rfile.readline(_CHUNK_LINE_MAX_BYTES + 1))
            if size == 0:
                break
            total += size
            _check_size(total)
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(_CHUNK_LINE_MAX_BYTES + 1).strip():
                raise _RequestRefused(BadRequestError("malformed chunked body"))
            chunks.append(chunk)
        for _ in range(_TRAILER_LINES_MAX):  # trailers, up to the blank line that ends the body
            line = self.rfile.readline(_CHUNK_LINE_MAX_BYTES + 1)
            if not line.strip():
                return b"".join(chunks)
        raise _RequestRefused(BadRequestError("malformed chunked body"))

    def _refuse(self, error: ServiceError) -> None:
        """Answer ``error`` in the SPEC's shape and close: the unread body makes the connection unusable."""
        payload = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
        self.close_connection = True
        self.send_response(error.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        self._linger()

    def _linger(self) -> None:
        """Stop writing, then drain (briefly, boundedly) what the client still sends.

        Closing a socket with unread data sends a reset, which can make the client lose the
        answer it was sent; a client that reads the answer and closes ends this at once.
        """
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < LINGER_MAX_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.connection.settimeout(remaining)
                data = self.connection.recv(64 * 1024)
                if not data:
                    return
                drained += len(data)
        except OSError:  # the client is gone, or the timeout passed: nothing left to protect
            return


class _RequestRefused(Exception):
    """A request whose body will not be read; ``error`` is the answer."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(error.message)
        self.error = error


def _check_size(length: int) -> None:
    try:
        check_body_size(length)
    except PayloadTooLargeError as error:
        raise _RequestRefused(error) from None


def _chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after ``;`` ignored); raises _RequestRefused when malformed."""
    size = line.split(b";", 1)[0].strip()
    if len(line) > _CHUNK_LINE_MAX_BYTES or not line.endswith(b"\n") or not _HEX_DIGITS.fullmatch(size):
        raise _RequestRefused(BadRequestError("malformed chunked body"))
    return int(size, 16)


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
