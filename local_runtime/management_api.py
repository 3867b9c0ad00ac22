"""API Gateway's ``@connections`` management API, locally: how the app's own send path reaches a live socket."""

from __future__ import annotations

import json
import logging
import re
import threading
from concurrent.futures import TimeoutError as FutureTimeoutError
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from local_runtime.access_log import redact_text
from local_runtime.sigv4 import AwsCredentials, SignatureRefused, verify_request
from local_runtime.websocket_gateway import MAX_MESSAGE_BYTES, GoneError, WebSocketGateway

logger = logging.getLogger(__name__)

# ``/@connections/{id}``, or with the stage in front (``/{stage}/@connections/{id}``): the app
# uses the endpoint it is given as-is, and on AWS that endpoint ends with the stage.
_PATH = re.compile(r"^(?:/[^/]+)?/@connections/(?P<connection_id>[^/]+)/?$")


class ManagementHTTPServer(ThreadingHTTPServer):
    """One thread per request, so a slow socket never delays posts to the others."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], gateway: WebSocketGateway, credentials: AwsCredentials | list[AwsCredentials]
    ) -> None:
        super().__init__(address, ManagementRequestHandler)
        self.gateway = gateway
        self.credentials = credentials


class ManagementRequestHandler(BaseHTTPRequestHandler):
    """POST (send), GET (describe) and DELETE (close) one connection, answering like API Gateway.

    Errors carry ``x-amzn-ErrorType`` and a JSON ``message``: that is what botocore's rest-json
    parser reads, so the app sees ``ClientError`` with code ``GoneException`` exactly as on AWS.
    """

    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    server: ManagementHTTPServer

    def do_POST(self) -> None:
        body = self._read_body()
        connection_id = self._connection_id() if body is not None else None
        if body is None or connection_id is None:
            return
        if len(body) > MAX_MESSAGE_BYTES:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLargeException", "the message is too large")
            return
        self._run(lambda: self.server.gateway.post_threadsafe(connection_id, body), HTTPStatus.OK)

    def do_GET(self) -> None:
        connection_id = self._connection_id() if self._read_body() is not None else None
        if connection_id is not None:
            self._run(lambda: self.server.gateway.info_threadsafe(connection_id), HTTPStatus.OK)

    def do_DELETE(self) -> None:
        connection_id = self._connection_id() if self._read_body() is not None else None
        if connection_id is not None:
            self._run(lambda: self.server.gateway.delete_threadsafe(connection_id), HTTPStatus.NO_CONTENT)

    def do_PUT(self) -> None:
        if self._read_body() is not None:
            self._error(
                HTTPStatus.METHOD_NOT_ALLOWED, "MethodNotAllowed", "use POST, GET or DELETE on /@connections/{id}"
            )

    do_PATCH = do_PUT

    def _run(self, operation: Any, success: HTTPStatus) -> None:
        try:
            result = operation()
        except GoneError:
            self._error(HTTPStatus.GONE, "GoneException", "the connection is gone")
        except FutureTimeoutError:
            self._error(HTTPStatus.GATEWAY_TIMEOUT, "InternalServerError", "the gateway did not answer in time")
        except Exception:
            logger.exception("the management API failed on %s %s", self.command, self.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalServerError", "internal error")
        else:
            self._send(success, result if isinstance(result, dict) else None)

    def _connection_id(self) -> str | None:
        """The id in the path, or None after answering 404 for any other path."""
        match = _PATH.match(urlsplit(self.path).path)
        if match is None:
            self._error(HTTPStatus.NOT_FOUND, "NotFoundException", "no such resource; use /@connections/{id}")
            return None
        return unquote(match.group("connection_id"))

    def _read_body(self) -> bytes | None:
        """The request body, read in full so a kept-alive connection stays in step; None after a 400."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._error(HTTPStatus.BAD_REQUEST, "BadRequestException", "invalid Content-Length")
            return None
        body = self.rfile.read(length) if length else b""
        return body if self._signed(body) else None

    def _signed(self, body: bytes) -> bool:
        """True for a request SigV4-signed with the runtime's credentials; otherwise answer 403, as API Gateway does."""
        try:
            verify_request(
                self.server.credentials, method=self.command, raw_path=self.path, header=self.headers.get, body=body
            )
        except SignatureRefused as refused:
            self._error(HTTPStatus.FORBIDDEN, refused.error_type, str(refused))
            return False
        return True

    def _error(self, status: HTTPStatus, error_type: str, message: str) -> None:
        self._send(status, {"message": message}, error_type=error_type)

    def _send(self, status: HTTPStatus, body: dict[str, Any] | None, *, error_type: str | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if error_type is not None:
            self.send_header("x-amzn-ErrorType", error_type)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), redact_text(format % args))


class ManagementAPI:
    """Binds at construction (the port goes into the app's settings) and serves from :meth:`start`."""

    def __init__(
        self, gateway: WebSocketGateway, *, host: str, port: int, credentials: AwsCredentials | list[AwsCredentials]
    ) -> None:
        self._server = ManagementHTTPServer((host, port), gateway, credentials)
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ws-management-api", kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
