"""The REST API and pages: Chalice's local server and handler over a selector loop that no stalled client can hold up."""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import threading
from collections.abc import MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer

from chalicelib.errors import BadRequestError, PayloadTooLargeError, ServiceError
from chalicelib.web.request_body import check_body_size
from local_runtime.access_log import redact_target, redact_text
from local_runtime.connection_loop import (
    CHUNK_LINE_MAX_BYTES,
    TRAILER_LINES_MAX,
    BufferedRequest,
    SelectorHTTPServer,
    chunk_size,
    content_length,
)
from local_runtime.settings import DEFAULT_REQUEST_READ_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent


class QuietChaliceRequestHandler(ChaliceRequestHandler):
    """Chalice's handler over one buffered request, with access lines sent to logging, secrets redacted.

    It runs on a worker of :class:`SelectorHTTPServer`, which has already read the whole request
    (or as much as a refusal needs) and writes the answer: the handler reads from and writes to
    memory, and never waits on a client.

    The stock access line is the raw request line, and a decision link's ``signature=`` in a log
    is a way to decide for seven days: the line shows the path with secret values redacted.
    """

    answer: bytes = b""
    drain_after_close: bool = False  # the client may still be sending a body nobody will read
    _continue_sent: bool = False

    def setup(self) -> None:
        buffered: BufferedRequest = self.request
        self.connection = buffered.connection
        self.rfile = io.BytesIO(buffered.data)
        self.wfile = io.BytesIO()
        self._continue_sent = buffered.continue_sent

    def handle(self) -> None:
        """One request: the server hands the connection back for the next one."""
        self.close_connection = True
        self.handle_one_request()

    def finish(self) -> None:
        self.answer = self.wfile.getvalue()
        super().finish()

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
        # API Gateway's requestContext.identity.sourceIp is the TCP peer; Chalice's local gateway
        # writes 127.0.0.1 for every request. The socket's peer, as on AWS (never X-Forwarded-For).
        self.local_gateway.event_converter.LOCAL_SOURCE_IP = self.client_address[0]
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
        if self._continue_sent:  # the server sent it while it waited for the body
            return True
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
        try:
            length = content_length(values)
        except ValueError:
            raise _RequestRefused(BadRequestError("invalid Content-Length header")) from None
        _check_size(length)
        return length

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = _chunk_size(self.rfile.readline(CHUNK_LINE_MAX_BYTES + 1))
            if size == 0:
                break
            total += size
            _check_size(total)
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(CHUNK_LINE_MAX_BYTES + 1).strip():
                raise _RequestRefused(BadRequestError("malformed chunked body"))
            chunks.append(chunk)
        for _ in range(TRAILER_LINES_MAX):  # trailers, up to the blank line that ends the body
            line = self.rfile.readline(CHUNK_LINE_MAX_BYTES + 1)
            if not line.strip():
                return b"".join(chunks)
        raise _RequestRefused(BadRequestError("malformed chunked body"))

    def _refuse(self, error: ServiceError) -> None:
        """Answer ``error`` in the SPEC's shape and close: the unread body makes the connection unusable.

        The server then drains, briefly, what the client still sends: closing a socket with
        unread data sends a reset, which can make the client lose the answer.
        """
        payload = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
        self.close_connection = True
        self.drain_after_close = True
        self.send_response(error.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


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
    """The size on a chunk-size line; raises _RequestRefused when malformed."""
    try:
        return chunk_size(line)
    except ValueError:
        raise _RequestRefused(BadRequestError("malformed chunked body")) from None


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

    def __init__(
        self,
        chalice_app: Any,
        config: Any,
        *,
        host: str,
        port: int,
        read_timeout_seconds: float = DEFAULT_REQUEST_READ_TIMEOUT_SECONDS,
    ) -> None:
        make_request_local(chalice_app)
        self._dev_server = LocalDevServer(
            chalice_app,
            config,
            host,
            port,
            handler_cls=QuietChaliceRequestHandler,
            server_cls=functools.partial(SelectorHTTPServer, read_timeout_seconds=read_timeout_seconds),
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
