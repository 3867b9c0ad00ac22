"""The REST server's sockets: one selector thread reads whole requests and writes whole answers; a bounded pool runs the app.

A worker never touches a socket. The loop buffers a request until its request line, headers
and body are all in (or until what it has is enough for the handler to refuse it), hands the
bytes to a worker, and writes the answer the worker produced without blocking. A client that
stalls therefore holds no worker, only a buffer, and is dropped once
``REQUEST_READ_TIMEOUT_SECONDS`` pass without a complete request (SPEC §19 "Stalled clients").
"""

from __future__ import annotations

import heapq
import http.client
import io
import itertools
import json
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from http.server import HTTPServer
from queue import Empty, SimpleQueue
from typing import Any

from chalicelib.errors import PayloadTooLargeError
from chalicelib.web.request_body import check_body_size

logger = logging.getLogger(__name__)

# socketserver's default backlog is 5: a burst of 64 clients then sees connection resets.
LISTEN_BACKLOG = 128
# The app is CPU-bound Python under one GIL (boto3 and moto in-process): more workers only add
# contention. Requests beyond this wait in the pool's queue, their sockets already accepted.
REQUEST_WORKERS = 32
# After a refused request, what the client is still sending is drained for this long (at most
# this much), so its TCP stack sees the answer rather than a reset.
LINGER_SECONDS = 1.0
LINGER_MAX_BYTES = 1024 * 1024
# http.server allows 64 KiB per line and 100 header lines; API Gateway allows 10 KiB of headers.
# A head that has not ended by this size is answered 431 here, without a worker.
MAX_HEAD_BYTES = 64 * 1024
CHUNK_LINE_MAX_BYTES = 1024
TRAILER_LINES_MAX = 64
_RECEIVE_BYTES = 64 * 1024
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_DIGITS = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after ``;`` ignored); raises ValueError when malformed."""
    size = line.split(b";", 1)[0].strip()
    if len(line) > CHUNK_LINE_MAX_BYTES or not line.endswith(b"\n") or not _HEX_DIGITS.fullmatch(size):
        raise ValueError("malformed chunk-size line")
    return int(size, 16)


def content_length(values: list[str]) -> int:
    """The one length all ``Content-Length`` values agree on; raises ValueError when there is none."""
    if len(set(values)) != 1 or not _DIGITS.fullmatch(values[0].strip()):
        raise ValueError("invalid Content-Length")
    return int(values[0])


class _Hand(Enum):
    """What the loop does with a buffer that is not one whole request yet."""

    WAIT = "wait"  # read more
    NOW = "now"  # hand it over as it is: the handler refuses it without reading further
    HEAD_TOO_LARGE = "head too large"


@dataclass(frozen=True)
class _Framing:
    """How far a buffered request goes: ``end`` is where it ends, when it does."""

    hand: _Hand | None = None
    end: int = 0
    stage: str = "the request line"
    expects_continue: bool = False


def _frame(buffer: bytes | bytearray) -> _Framing:
    """Find where the first request in ``buffer`` ends, by the same rules the handler reads it with."""
    blank = _BLANK_LINE.search(buffer)
    if blank is None:
        if len(buffer) > MAX_HEAD_BYTES:
            return _Framing(_Hand.HEAD_TOO_LARGE)
        return _Framing(_Hand.WAIT, stage="the headers" if b"\n" in buffer else "the request line")
    head_end = blank.end()
    request_line, _, header_block = bytes(buffer[:head_end]).partition(b"\n")
    if len(request_line.split()) < 3:  # HTTP/0.9 or garbage: the handler answers it as it is
        return _Framing(end=len(request_line) + 1)
    try:
        headers = http.client.parse_headers(io.BytesIO(header_block))
    except http.client.HTTPException:  # too many or too long headers: the handler answers 431
        return _Framing(_Hand.NOW)
    expects_continue = headers.get(
        "Expect", ""
    ).strip().lower() == "100-continue" and not request_line.rstrip().endswith(b"/1.0")
    if headers.get("Transfer-Encoding") is not None:
        if headers["Transfer-Encoding"].strip().lower() != "chunked" or "Content-Length" in headers:
            return _Framing(_Hand.NOW)
        body = _chunked_body_end(buffer, head_end)
    else:
        body = _sized_body_end(buffer, head_end, headers.get_all("Content-Length") or [])
    if isinstance(body, _Hand):
        return _Framing(body, stage="the body", expects_continue=expects_continue)
    return _Framing(end=body, expects_continue=expects_continue)


def _sized_body_end(buffer: bytes | bytearray, head_end: int, values: list[str]) -> int | _Hand:
    if not values:
        return head_end
    try:
        length = content_length(values)
    except ValueError:
        return _Hand.NOW  # the handler answers 400
    if not _fits(length):
        return _Hand.NOW  # the handler answers 413, none of the body read
    return head_end + length if len(buffer) >= head_end + length else _Hand.WAIT


def _chunked_body_end(buffer: bytes | bytearray, position: int) -> int | _Hand:
    """Where a chunked body ends; NOW at the first malformed line or the size line that crosses the limit."""
    total = 0
    while True:
        found = _line(buffer, position)
        if isinstance(found, _Hand):
            return found
        line, position = found
        try:
            size = chunk_size(line)
        except ValueError:
            return _Hand.NOW
        if size == 0:
            break
        total += size
        if not _fits(total):
            return _Hand.NOW
        if len(buffer) < position + size:
            return _Hand.WAIT
        found = _line(buffer, position + size)
        if isinstance(found, _Hand):
            return found
        line, position = found
        if line.strip():
            return _Hand.NOW
    for _ in range(TRAILER_LINES_MAX):
        found = _line(buffer, position)
        if isinstance(found, _Hand):
            return found
        line, position = found
        if not line.strip():
            return position
    return _Hand.NOW


def _line(buffer: bytes | bytearray, position: int) -> tuple[bytes, int] | _Hand:
    """The line at ``position`` and the position after it; WAIT or NOW (too long) when it has not ended."""
    newline = buffer.find(b"\n", position, position + CHUNK_LINE_MAX_BYTES + 1)
    if newline < 0:
        return _Hand.NOW if len(buffer) - position > CHUNK_LINE_MAX_BYTES else _Hand.WAIT
    return bytes(buffer[position : newline + 1]), newline + 1


def _fits(length: int) -> bool:
    try:
        check_body_size(length)
    except PayloadTooLargeError:
        return False
    return True


class _State(Enum):
    READING = "reading"
    WORKING = "working"
    WRITING = "writing"
    DRAINING = "draining"


@dataclass(eq=False)
class _Client:
    socket: socket.socket
    address: tuple[str, int]
    state: _State = _State.READING
    buffer: bytearray = field(default_factory=bytearray)
    outgoing: bytearray = field(default_factory=bytearray)
    deadline: float = 0.0
    served: int = 0  # requests answered on this connection
    continue_sent: bool = False
    then: _State | None = None  # after WRITING: READING, DRAINING, or None to close
    drained: int = 0


@dataclass(frozen=True)
class BufferedRequest:
    """What a worker's handler is given instead of a socket: the request's bytes and its connection."""

    data: bytes
    connection: socket.socket
    continue_sent: bool


@dataclass(frozen=True)
class _Answer:
    client: _Client
    data: bytes
    close: bool
    drain: bool


class SelectorHTTPServer(HTTPServer):
    """An ``HTTPServer`` (binds, listens, names itself) whose connections live on one selector thread.

    ``RequestHandlerClass(BufferedRequest, address, server)`` runs on a worker: it takes its
    request from ``BufferedRequest.data``, leaves the bytes of its answer in ``answer``, and
    says through ``close_connection`` (and ``drain_after_close``) what becomes of the connection.
    """

    request_queue_size = LISTEN_BACKLOG
    allow_reuse_address = True

    def __init__(
        self,
        server_address: tuple[str, int],
        handler_class: Callable[..., Any],
        *,
        read_timeout_seconds: float,
        workers: int = REQUEST_WORKERS,
    ) -> None:
        super().__init__(server_address, handler_class)
        self.read_timeout_seconds = read_timeout_seconds
        self.socket.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rest-worker")
        self._answers: SimpleQueue[_Answer] = SimpleQueue()
        self._wake_receiver, self._wake_sender = socket.socketpair()
        self._wake_receiver.setblocking(False)
        self._wake_sender.setblocking(False)
        self._deadlines: list[tuple[float, int, _Client]] = []
        self._sequence = itertools.count()
        self._clients: set[_Client] = set()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    # --- lifecycle ---------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            self._selector.register(self.socket, selectors.EVENT_READ, None)
            self._selector.register(self._wake_receiver, selectors.EVENT_READ, self._wake_receiver)
            while not self._stopping.is_set():
                self._turn(poll_interval)
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop the loop (from another thread) and wait for it."""
        self._stopping.set()
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        for client in list(self._clients):
            self._close(client)
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._selector.close()
        self._wake_receiver.close()
        self._wake_sender.close()
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a request that failed outside the app through logging (redacted), not raw to stderr."""
        logger.exception("error while serving a request from %s", client_address[0] if client_address else "?")

    # --- the loop ----------------------------------------------------------------------------

    def _turn(self, poll_interval: float) -> None:
        timeout = poll_interval
        if self._deadlines:
            timeout = max(0.0, min(timeout, self._deadlines[0][0] - time.monotonic()))
        for key, _events in self._selector.select(timeout):
            if key.data is None:
                self._accept()
            elif key.data is self._wake_receiver:
                self._take_answers()
            elif key.data.state is _State.WRITING:
                self._write(key.data)
            else:
                self._read(key.data)
        self._expire(time.monotonic())

    def _accept(self) -> None:
        for _ in range(LISTEN_BACKLOG):  # a burst is accepted in one turn
            try:
                connection, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                logger.exception("accepting a REST connection failed")
                return
            connection.setblocking(False)
            # Nagle off: an answer's last segment would otherwise wait ~40 ms for a delayed ACK.
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = _Client(connection, address)
            self._clients.add(client)
            self._selector.register(connection, selectors.EVENT_READ, client)
            self._set_deadline(client, self.read_timeout_seconds)

    def _read(self, client: _Client) -> None:
        try:
            data = client.socket.recv(_RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(client)
            return
        if not data:  # the client closed (or half-closed) its side: nothing more will come
            self._close(client)
            return
        if client.state is _State.DRAINING:
            client.drained += len(data)
            if client.drained >= LINGER_MAX_BYTES:
                self._close(client)
            return
        client.buffer += data
        self._hand_over_if_complete(client)

    def _hand_over_if_complete(self, client: _Client) -> None:
        if not client.buffer:
            return
        framing = _frame(client.buffer)
        if framing.hand is _Hand.WAIT:
            if framing.expects_continue and not client.continue_sent:
                client.continue_sent = True
                self._send_now(client, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if framing.hand is _Hand.HEAD_TOO_LARGE:
            self._answer_raw(client, 431, "RequestHeaderFieldsTooLarge", "the request line and headers are too large")
            return
        end = len(client.buffer) if framing.hand is _Hand.NOW else framing.end
        request = BufferedRequest(bytes(client.buffer[:end]), client.socket, client.continue_sent)
        del client.buffer[:end]
        client.continue_sent = False
        client.state = _State.WORKING
        client.deadline = 0.0
        self._selector.unregister(client.socket)
        self._workers.submit(self._work, client, request)

    def _work(self, client: _Client, request: BufferedRequest) -> None:
        """On a worker: run the handler over the buffered request and queue its answer for the loop."""
        close, drain, data = True, False, b""
        try:
            handler = self.RequestHandlerClass(request, client.address, self)
            data = handler.answer
            close = bool(handler.close_connection)
            drain = bool(getattr(handler, "drain_after_close", False))
        except Exception:
            self.handle_error(request, client.address)
        self._answers.put(_Answer(client, data, close, drain))
        self._wake()

    def _take_answers(self) -> None:
        try:
            while self._wake_receiver.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                answer = self._answers.get_nowait()
            except Empty:
                return
            client = answer.client
            if client not in self._clients:  # closed meanwhile (shutdown)
                continue
            client.served += 1
            client.outgoing = bytearray(answer.data)
            client.then = _State.DRAINING if answer.drain else None if answer.close else _State.READING
            client.state = _State.WRITING
            self._selector.register(client.socket, selectors.EVENT_WRITE, client)
            self._set_deadline(client, self.read_timeout_seconds)
            self._write(client)

    def _write(self, client: _Client) -> None:
        try:
            while client.outgoing:
                sent = client.socket.send(client.outgoing)
                del client.outgoing[:sent]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(client)
            return
        if client.then is _State.READING:
            client.state = _State.READING
            self._selector.modify(client.socket, selectors.EVENT_READ, client)
            self._set_deadline(client, self.read_timeout_seconds)
            self._hand_over_if_complete(client)  # a pipelined request may be buffered already
        elif client.then is _State.DRAINING:
            self._drain(client)
        else:
            self._close(client)

    def _drain(self, client: _Client) -> None:
        """Stop writing, then read and discard what the client still sends, briefly and boundedly."""
        try:
            client.socket.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(client)
            return
        client.state = _State.DRAINING
        self._selector.modify(client.socket, selectors.EVENT_READ, client)
        self._set_deadline(client, LINGER_SECONDS)

    def _answer_raw(self, client: _Client, status: int, code: str, message: str) -> None:
        """Answer an error in the SPEC's shape from the loop itself (no handler has parsed the request)."""
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        reason = http.client.responses.get(status, "Error")
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        logger.info('%s "-" %s %s', client.address[0], status, len(body))
        client.buffer.clear()
        client.outgoing = bytearray(head.encode() + body)
        client.then = _State.DRAINING
        client.state = _State.WRITING
        self._selector.modify(client.socket, selectors.EVENT_WRITE, client)
        self._set_deadline(client, self.read_timeout_seconds)
        self._write(client)

    def _send_now(self, client: _Client, data: bytes) -> None:
        """A few bytes on a socket whose buffers are empty (100 Continue): sent at once or never."""
        try:
            client.socket.send(data)
        except OSError:
            self._close(client)

    # --- deadlines ---------------------------------------------------------------------------

    def _set_deadline(self, client: _Client, seconds: float) -> None:
        client.deadline = time.monotonic() + seconds
        heapq.heappush(self._deadlines, (client.deadline, next(self._sequence), client))

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, _sequence, client = heapq.heappop(self._deadlines)
            if client.deadline != deadline or client not in self._clients:
                continue  # a stale entry: the client moved on or is gone
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        """A deadline passed: log a stalled client once (an idle kept-alive one is just closed)."""
        if client.state is _State.READING and (client.buffer or not client.served):
            stage = _frame(client.buffer).stage if client.buffer else "the request line"
            logger.info(
                "dropped a stalled client %s: no complete request within %g s "
                "(REQUEST_READ_TIMEOUT_SECONDS; %d bytes received, waiting for %s)",
                client.address[0],
                self.read_timeout_seconds,
                len(client.buffer),
                stage,
            )
        elif client.state is _State.WRITING:
            logger.info(
                "dropped a stalled client %s: it did not read its answer within %g s (REQUEST_READ_TIMEOUT_SECONDS)",
                client.address[0],
                self.read_timeout_seconds,
            )
        self._close(client)

    def _close(self, client: _Client) -> None:
        self._clients.discard(client)
        client.deadline = 0.0
        if client.state is not _State.WORKING:
            try:
                self._selector.unregister(client.socket)
            except (KeyError, ValueError):
                pass
        client.socket.close()

    def _wake(self) -> None:
        try:
            self._wake_sender.send(b"\0")
        except (BlockingIOError, OSError):  # already awake, or closed at shutdown
            pass
