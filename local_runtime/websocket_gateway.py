"""A local stand-in for API Gateway's WebSocket API: real sockets in, the app's $connect/$default/$disconnect handlers out."""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from local_runtime.lambda_dispatch import LocalLambdaContext
from local_runtime.settings import DEFAULT_WS_IDLE_TIMEOUT_SECONDS, DEFAULT_WS_MAX_CONNECTION_SECONDS, url_host

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

# API Gateway's own limits: 128 KB per message, frames of at most 32 KB are its business.
MAX_MESSAGE_BYTES = 128 * 1024
LISTEN_BACKLOG = 1024
# Handlers are CPU-bound Python (boto3 and moto share one GIL): more threads only add contention.
HANDLER_THREADS = 16
# $disconnect runs on its own small pool, so a wave of departures (cleanup nobody waits for)
# never queues ahead of a new client's $connect or a live client's message.
CLEANUP_THREADS = 4
OPEN_TIMEOUT_SECONDS = 30.0
CLOSE_TIMEOUT_SECONDS = 2.0
# How long a frame may wait for a client that stopped reading (its TCP buffers and ours full)
# before the gateway drops that client, as API Gateway drops one it cannot deliver to. Shorter
# than the app's management API read timeout (chalicelib.integrations.aws), so the app hears 410 Gone and
# prunes the connection instead of timing out and posting again. Each post waits on its own,
# on the event loop, so a stuck client never delays the frames of any other.
SEND_TIMEOUT_SECONDS = 2.0
ROUTES = ("$connect", "$default", "$disconnect")
# What API Gateway closes with when a connection reaches its idle timeout or its maximum
# duration (limits: docs.aws.amazon.com/apigateway/latest/developerguide/
# apigateway-execution-service-websocket-limits-table.html). AWS's pages do not name the
# code; 1001 "Going away" is what clients report for both and what serverless-offline, the
# usual API Gateway emulator, sends (src/events/websocket/WebSocketClients.js, its idle
# and "hard" timeouts).
LIMIT_CLOSE_CODE = 1001
LIMIT_CLOSE_REASON = "Going away"


class GoneError(Exception):
    """The connection id is unknown or its socket has closed (API Gateway's 410 GoneException)."""


def app_websocket_handlers(chalice_app: Any) -> dict[str, Handler]:
    """The Lambda entry points of the app's WebSocket handlers, keyed by route key.

    Chalice keeps the user functions in ``app.websocket_handlers``; what Lambda runs is the
    module attribute named by ``handler_string`` (a ``WebsocketEventSourceHandler`` that
    builds the ``WebsocketEvent`` and the response), so that is what the gateway calls.
    """
    handlers: dict[str, Handler] = {}
    for route_key, config in chalice_app.websocket_handlers.items():
        module_name, _, attribute = config.handler_string.rpartition(".")
        handlers[route_key] = getattr(importlib.import_module(module_name), attribute)
    return handlers


def new_connection_id() -> str:
    """An id shaped like API Gateway's (16 characters of base64, e.g. ``L0SM9cOFvHcCIhw=``), URL-safe."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class LiveConnection:
    """One accepted client: what the management API needs to find, describe and reach it."""

    connection_id: str
    socket: ServerConnection
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    # The limits run on the monotonic clock: the wall clock may be skipped ahead (clock_control).
    started: float = field(default_factory=time.monotonic)
    last_message: float = field(default_factory=time.monotonic)

    def info(self) -> dict[str, Any]:
        """The GetConnection body, as API Gateway shapes it."""
        return {
            "connectedAt": _iso(self.connected_at),
            "identity": {"sourceIp": self.source_ip, "userAgent": self.user_agent},
            "lastActiveAt": _iso(self.last_active_at),
        }


class WebSocketGateway:
    """Accepts WebSocket clients and turns their lifecycle into API Gateway events.

    The asyncio loop runs in its own thread and never runs app code: handlers are sync
    and call boto3, so each runs on a worker thread. The socket is bound in ``__init__``
    (the real port is known before anything is served) and served from :meth:`start`.
    The registry of live connections is touched only on the loop, so it needs no lock;
    other threads go through the ``*_threadsafe`` methods.
    """

    def __init__(
        self,
        handlers: dict[str, Handler],
        *,
        host: str,
        port: int,
        domain_name: str | None = None,
        api_id: str = "local",
        stage: str = "local",
        function_prefix: str = "local",
        idle_timeout_seconds: float = DEFAULT_WS_IDLE_TIMEOUT_SECONDS,
        max_connection_seconds: float = DEFAULT_WS_MAX_CONNECTION_SECONDS,
    ) -> None:
        missing = [route for route in ROUTES if route not in handlers]
        if missing:
            raise ValueError(f"the app has no WebSocket handler for {', '.join(missing)}")
        self._handlers = handlers
        self._api_id = api_id
        self._stage = stage
        self._function_prefix = function_prefix
        self._idle_timeout_seconds = idle_timeout_seconds
        self._max_connection_seconds = max_connection_seconds
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
        # asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto is IPPROTO_TCP, and
        # create_server leaves it 0: a decision frame then waited ~40 ms for the client's delayed ACK.
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=listener.detach())
        self.port = int(self._socket.getsockname()[1])
        self.domain_name = domain_name or f"{url_host(host)}:{self.port}"
        self._executor = ThreadPoolExecutor(max_workers=HANDLER_THREADS, thread_name_prefix="ws-handler")
        self._cleanup_executor = ThreadPoolExecutor(max_workers=CLEANUP_THREADS, thread_name_prefix="ws-disconnect")
        self._connections: dict[str, LiveConnection] = {}
        self._by_socket: dict[ServerConnection, LiveConnection] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle (called from any thread) ------------------------------------------------

    def start(self) -> None:
        """Serve on a background thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self._run, name="websocket-gateway", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (1001 going away), stop serving and end the loop's thread.

        $disconnect is not called for these: the process and its in-memory state are going away.
        """
        self._stopping = True
        if self._loop is not None and self._stop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
        else:
            self._socket.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._cleanup_executor.shutdown(wait=False, cancel_futures=True)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start(), or logged if it happens later
            if not self._ready.is_set():
                self._startup_error = error
                self._ready.set()
            else:
                logger.exception("the WebSocket gateway stopped unexpectedly")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._server = await serve(
            self._handle,
            sock=self._socket,
            process_response=self._process_response,
            compression=None,  # API Gateway does not negotiate permessage-deflate either
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=OPEN_TIMEOUT_SECONDS,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            server_header=None,
        )
        self._ready.set()
        await self._stop.wait()
        self._server.close()
        try:
            await asyncio.wait_for(self._server.wait_closed(), timeout=CLOSE_TIMEOUT_SECONDS + 1)
        except TimeoutError:
            logger.warning("some WebSocket connections did not close in time; dropping them")
            for connection in list(self._by_socket):
                connection.transport.abort()
        for task in list(self._background):
            task.cancel()

    # --- the connection lifecycle (on the loop) ----------------------------------------------

    async def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        """Run $connect once the upgrade is valid; a non-2xx answer refuses the handshake.

        The connect runs as its own task, shielded: if the client gives up mid-handshake,
        the handler still finishes and the connection is still cleaned up by its watcher.
        """
        if response.status_code != 101:
            return None  # not a valid upgrade: websockets already answers it with a 4xx
        live = LiveConnection(
            connection_id=new_connection_id(),
            socket=connection,
            source_ip=_peer_ip(connection),
            user_agent=request.headers.get("User-Agent", ""),
        )
        task = asyncio.get_running_loop().create_task(self._connect(live, _connect_event_parts(request)))
        self._track(task)
        status_code, body = await asyncio.shield(task)
        if 200 <= status_code < 300:
            return None
        return connection.respond(status_code, body)

    async def _connect(self, live: LiveConnection, parts: dict[str, Any]) -> tuple[int, str]:
        event = {
            **parts,
            "requestContext": self._request_context(live, "$connect", "CONNECT"),
            "isBase64Encoded": False,
        }
        try:
            result = await self._invoke("$connect", event)
        except Exception:
            logger.exception("the $connect handler failed for %s", live.connection_id)
            return 500, "Internal server error\n"
        status_code, body = _status_and_body(result)
        if 200 <= status_code < 300:
            self._connections[live.connection_id] = live
            self._by_socket[live.socket] = live
            self._track(asyncio.get_running_loop().create_task(self._watch(live)))
            logger.debug("connection %s accepted", live.connection_id)
        else:
            logger.info("connection refused by $connect with %s: %s", status_code, body)
        return status_code, body

    async def _handle(self, connection: ServerConnection) -> None:
        """Deliver each text frame to $default, in order; a bad frame never closes the socket."""
        live = self._by_socket.get(connection)
        if live is None:  # $connect accepted it but the watcher already saw it close
            return
        live.opened.set()
        try:
            async for message in connection:
                live.last_active_at = time.time()
                live.last_message = time.monotonic()
                if isinstance(message, bytes):
                    await self._reply_error(live, "binary frames are not supported; send JSON text")
                    continue
                await self._message(live, message)
        except ConnectionClosed:
            pass  # an abrupt disconnect: the watcher runs $disconnect

    async def _message(self, live: LiveConnection, body: str) -> None:
        context = self._request_context(live, "$default", "MESSAGE", messageId=_message_id())
        event = {"requestContext": context, "body": body, "isBase64Encoded": False}
        try:
            result = await self._invoke("$default", event)
        except Exception:
            logger.exception("the $default handler failed for %s", live.connection_id)
            await self._reply_error(live, "the message could not be handled; see the server log")
            return
        status_code, body_text = _status_and_body(result)
        if status_code >= 500:
            logger.warning("$default answered %s for %s: %s", status_code, live.connection_id, body_text)

    async def _watch(self, live: LiveConnection) -> None:
        """Close the socket at API Gateway's limits; once it is closed, for whatever reason, forget it and run $disconnect."""
        closed = asyncio.ensure_future(live.socket.wait_closed())
        while not closed.done():
            remaining = self._limit_reached_at(live) - time.monotonic()
            if live.closed or remaining > 0:
                await asyncio.wait({closed}, timeout=None if live.closed else remaining)
                continue
            self._close_at_limit(live)
        live.closed = True
        live.opened.set()  # wake any post waiting for the handshake: it will get GoneError
        self._connections.pop(live.connection_id, None)
        self._by_socket.pop(live.socket, None)
        if self._stopping:
            return
        context = self._request_context(
            live,
            "$disconnect",
            "DISCONNECT",
            disconnectStatusCode=live.socket.close_code or 1006,
            disconnectReason=live.socket.close_reason or "",
        )
        try:
            await self._invoke("$disconnect", {"requestContext": context, "isBase64Encoded": False})
        except Exception:
            if self._stopping:  # moto may already be gone; the state goes with it anyway
                logger.debug("$disconnect for %s interrupted by shutdown", live.connection_id)
            else:
                logger.exception("the $disconnect handler failed for %s", live.connection_id)

    def _limit_reached_at(self, live: LiveConnection) -> float:
        """When the connection reaches the idle timeout or its maximum duration, whichever comes first."""
        return min(live.last_message + self._idle_timeout_seconds, live.started + self._max_connection_seconds)

    def _close_at_limit(self, live: LiveConnection) -> None:
        """Close with API Gateway's code; the watcher then runs $disconnect, as API Gateway does."""
        now = time.monotonic()
        idle = now - live.last_message >= self._idle_timeout_seconds
        logger.info(
            "closing connection %s: %s (%s)",
            live.connection_id,
            f"no message for {self._idle_timeout_seconds:g} s" if idle else f"open {self._max_connection_seconds:g} s",
            "WS_IDLE_TIMEOUT_SECONDS" if idle else "WS_MAX_CONNECTION_SECONDS",
        )
        live.closed = True  # later posts get 410 even before the close handshake ends
        self._track(asyncio.get_running_loop().create_task(live.socket.close(LIMIT_CLOSE_CODE, LIMIT_CLOSE_REASON)))

    async def _reply_error(self, live: LiveConnection, message: str) -> None:
        try:
            await self._send_frame(live, json.dumps({"type": "error", "message": message}))
        except ConnectionClosed:
            pass
        except TimeoutError:
            logger.info("connection %s stopped reading; dropped", live.connection_id)

    async def _send_frame(self, live: LiveConnection, frame: str | bytes) -> None:
        """Send one frame within SEND_TIMEOUT_SECONDS; a client that stopped reading is dropped (TimeoutError)."""
        try:
            await asyncio.wait_for(live.socket.send(frame), timeout=SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            live.closed = True  # later posts get 410 at once
            live.socket.transport.abort()
            raise

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        handler = self._handlers[route_key]
        name = f"{self._function_prefix}-{route_key.lstrip('$')}"
        call = functools.partial(handler, event, LocalLambdaContext(name))
        executor = self._cleanup_executor if route_key == "$disconnect" else self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    def _request_context(self, live: LiveConnection, route_key: str, event_type: str, **extra: Any) -> dict[str, Any]:
        now = time.time()
        request_id = str(uuid.uuid4())
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": self._stage,
            "connectedAt": int(live.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": live.source_ip, "userAgent": live.user_agent},
            "requestId": request_id,
            "domainName": self.domain_name,
            "connectionId": live.connection_id,
            "apiId": self._api_id,
            **extra,
        }

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- the management side (on the loop) ---------------------------------------------------

    async def post(self, connection_id: str, data: bytes) -> None:
        """Send ``data`` as one frame (text when it is UTF-8, as API Gateway does); GoneError if it can't."""
        live = self._connections.get(connection_id)
        if live is None:
            raise GoneError(connection_id)
        if not live.opened.is_set():  # accepted by $connect, 101 not yet sent
            try:
                await asyncio.wait_for(live.opened.wait(), timeout=OPEN_TIMEOUT_SECONDS)
            except TimeoutError:
                raise GoneError(connection_id) from None
        if live.closed:
            raise GoneError(connection_id)
        try:
            frame: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            frame = data
        try:
            await self._send_frame(live, frame)
        except (ConnectionClosed, TimeoutError):  # TimeoutError: it stopped reading and was dropped
            raise GoneError(connection_id) from None
        live.last_active_at = time.time()
        # API Gateway's idle timer counts messages either way: a server that posts keeps it open.
        live.last_message = time.monotonic()

    async def info(self, connection_id: str) -> dict[str, Any]:
        live = self._connections.get(connection_id)
        if live is None or live.closed:
            raise GoneError(connection_id)
        return live.info()

    async def socket_option(self, connection_id: str, level: int, option: int) -> int:
        """``getsockopt`` on the gateway's end of a live connection (e.g. TCP_NODELAY, which no client can see)."""
        live = self._connections.get(connection_id)
        if live is None or live.closed:
            raise GoneError(connection_id)
        return int(live.socket.transport.get_extra_info("socket").getsockopt(level, option))

    async def delete(self, connection_id: str) -> None:
        """Start closing the socket (1000) and return at once, as DeleteConnection does."""
        live = self._connections.get(connection_id)
        if live is None or live.closed:
            raise GoneError(connection_id)
        live.closed = True  # later posts get 410 even before the close handshake ends
        self._track(asyncio.get_running_loop().create_task(live.socket.close(1000, "deleted by the management API")))

    # --- the same, for other threads --------------------------------------------------------------

    def post_threadsafe(self, connection_id: str, data: bytes, timeout: float = SEND_TIMEOUT_SECONDS + 3) -> None:
        self._call(self.post(connection_id, data), timeout)

    def info_threadsafe(self, connection_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return self._call(self.info(connection_id), timeout)

    def socket_option_threadsafe(self, connection_id: str, level: int, option: int, timeout: float = 5.0) -> int:
        return int(self._call(self.socket_option(connection_id, level, option), timeout))

    def delete_threadsafe(self, connection_id: str, timeout: float = 5.0) -> None:
        self._call(self.delete(connection_id), timeout)

    def _call(self, coroutine: Any, timeout: float) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping:
            coroutine.close()
            raise GoneError("the gateway is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)


def _connect_event_parts(request: Request) -> dict[str, Any]:
    """Headers and query string of the upgrade request, in API Gateway's event shape."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers.raw_items():
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    parts: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi_headers}
    pairs = parse_qsl(urlsplit(request.path).query, keep_blank_values=True)
    if pairs:  # API Gateway leaves these out when the URL has no query string
        parts["queryStringParameters"] = dict(pairs)  # the last value of a repeated name wins
        multi: dict[str, list[str]] = {}
        for name, value in pairs:
            multi.setdefault(name, []).append(value)
        parts["multiValueQueryStringParameters"] = multi
    return parts


def _status_and_body(result: Any) -> tuple[int, str]:
    """The status code and body text a handler answered (Chalice defaults to 200)."""
    if not isinstance(result, dict):
        return 200, ""
    try:
        status_code = int(result.get("statusCode", 200))
    except (TypeError, ValueError):
        status_code = 500
    body = result.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    return status_code, body


def _peer_ip(connection: ServerConnection) -> str:
    address = connection.remote_address
    return str(address[0]) if isinstance(address, tuple) and address else ""


def _message_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")
