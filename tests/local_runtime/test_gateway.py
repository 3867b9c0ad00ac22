"""The WebSocket gateway and its management API in-process, with recording handlers instead of the app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chalicelib.integrations.aws import MANAGEMENT_API_READ_TIMEOUT_SECONDS
from local_runtime.management_api import ManagementAPI
from local_runtime.sigv4 import AwsCredentials
from local_runtime.websocket_gateway import LIMIT_CLOSE_CODE, GoneError, WebSocketGateway
from tests.local_runtime.conftest import REGION, StuckClient, fill_until_stuck, http, wait_for

CREDENTIALS = AwsCredentials.generate()

RECEIVE_TIMEOUT = 10.0


class RecordingHandlers:
    """Stand-ins for the app's handlers: record every event; some inputs misbehave on purpose."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, Any]:
        return {"$connect": self.connect, "$default": self.message, "$disconnect": self.disconnect}

    def _record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)

    def connect(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._record(event)
        query = event.get("queryStringParameters") or {}
        if query.get("refuse"):
            return {"statusCode": int(query["refuse"]), "body": "refused"}
        if query.get("explode"):
            raise RuntimeError("the connect handler blew up")
        return {"statusCode": 200}

    def message(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._record(event)
        if event["body"] == "explode":
            raise RuntimeError("the message handler blew up")
        return {"statusCode": 200}

    def disconnect(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._record(event)
        return {"statusCode": 200}

    def of(self, route_key: str, connection_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                event
                for event in self.events
                if event["requestContext"]["routeKey"] == route_key
                and connection_id in (None, event["requestContext"]["connectionId"])
            ]


@pytest.fixture
def recorder() -> RecordingHandlers:
    return RecordingHandlers()


@pytest.fixture
def gateway(recorder: RecordingHandlers) -> Iterator[WebSocketGateway]:
    running = WebSocketGateway(recorder.handlers(), host="127.0.0.1", port=0, stage="local")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def management(gateway: WebSocketGateway) -> Iterator[str]:
    api = ManagementAPI(gateway, host="127.0.0.1", port=0, credentials=CREDENTIALS)
    api.start()
    try:
        yield f"http://127.0.0.1:{api.port}"
    finally:
        api.stop()


def ws_url(gateway: WebSocketGateway, query: str = "") -> str:
    return f"ws://127.0.0.1:{gateway.port}/{query}"


def connection_id_of(recorder: RecordingHandlers, marker: str) -> str:
    """The connection id the gateway gave the client whose URL carried ``?client=marker``."""

    def find() -> str | None:
        for event in recorder.of("$connect"):
            if (event.get("queryStringParameters") or {}).get("client") == marker:
                return str(event["requestContext"]["connectionId"])
        return None

    return wait_for(find, timeout=RECEIVE_TIMEOUT)


async def receive_json(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(RECEIVE_TIMEOUT):
        return json.loads(await socket.recv())


async def still_open(socket: ClientConnection) -> None:
    """A protocol-level ping is answered: the connection is alive."""
    pong = await socket.ping()
    async with asyncio.timeout(RECEIVE_TIMEOUT):
        await pong


def management_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS.access_key_id,
        aws_secret_access_key=CREDENTIALS.secret_access_key,
    )


def test_events_have_the_shape_api_gateway_sends(gateway: WebSocketGateway, recorder: RecordingHandlers) -> None:
    async def scenario() -> None:
        async with connect(ws_url(gateway, "?submissionId=abc&client=shape"), user_agent_header="shape-test") as ws:
            await ws.send('{"action": "ping"}')
            wait_for(lambda: recorder.of("$default"), timeout=RECEIVE_TIMEOUT)

    asyncio.run(scenario())
    connection_id = connection_id_of(recorder, "shape")
    wait_for(lambda: recorder.of("$disconnect", connection_id), timeout=RECEIVE_TIMEOUT)

    (connected,) = recorder.of("$connect", connection_id)
    context = connected["requestContext"]
    assert context["eventType"] == "CONNECT"
    assert context["apiId"] == "local" and context["stage"] == "local"
    assert context["domainName"] == f"127.0.0.1:{gateway.port}"
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "shape-test"}
    assert {"requestId", "connectedAt", "requestTimeEpoch", "requestTime"} <= set(context)
    assert len(connection_id) == 16
    assert connected["queryStringParameters"] == {"submissionId": "abc", "client": "shape"}
    assert connected["headers"]["User-Agent"] == "shape-test"

    (message,) = recorder.of("$default", connection_id)
    assert message["body"] == '{"action": "ping"}'
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["requestContext"]["messageId"]

    (disconnected,) = recorder.of("$disconnect", connection_id)
    assert disconnected["requestContext"]["eventType"] == "DISCONNECT"
    assert disconnected["requestContext"]["disconnectStatusCode"] == 1000


def test_no_query_string_means_no_query_parameters(gateway: WebSocketGateway, recorder: RecordingHandlers) -> None:
    async def scenario() -> None:
        async with connect(ws_url(gateway)):
            pass

    asyncio.run(scenario())
    event = wait_for(lambda: recorder.of("$connect"), timeout=RECEIVE_TIMEOUT)[0]
    assert "queryStringParameters" not in event


def test_a_non_2xx_connect_answer_refuses_the_handshake(gateway: WebSocketGateway, recorder: RecordingHandlers) -> None:
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(gateway, "?refuse=403")):
                pass
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as failed:
            async with connect(ws_url(gateway, "?explode=1")):
                pass
        assert failed.value.response.status_code == 500
        async with connect(ws_url(gateway)) as ws:  # and the gateway is still up
            await still_open(ws)

    asyncio.run(scenario())
    wait_for(lambda: gateway.connection_count == 0, timeout=RECEIVE_TIMEOUT)
    # Like API Gateway: only the accepted connection gets a $disconnect.
    accepted = [event for event in recorder.of("$connect") if not event.get("queryStringParameters")]
    disconnected = wait_for(lambda: recorder.of("$disconnect"), timeout=RECEIVE_TIMEOUT)
    assert [event["requestContext"]["connectionId"] for event in disconnected] == [
        accepted[0]["requestContext"]["connectionId"]
    ]


def test_binary_frames_and_handler_errors_get_an_error_reply_and_the_socket_stays(
    gateway: WebSocketGateway, recorder: RecordingHandlers
) -> None:
    async def scenario() -> None:
        async with connect(ws_url(gateway, "?client=misbehaving")) as ws:
            await ws.send(b"\x00\x01binary")
            reply = await receive_json(ws)
            assert reply["type"] == "error" and "binary" in reply["message"]

            await ws.send("explode")
            reply = await receive_json(ws)
            assert reply["type"] == "error"

            await still_open(ws)
            await ws.send("after the errors")
            wait_for(
                lambda: any(event["body"] == "after the errors" for event in recorder.of("$default")),
                timeout=RECEIVE_TIMEOUT,
            )

    asyncio.run(scenario())


def test_abrupt_disconnects_and_garbage_do_not_take_the_gateway_down(
    gateway: WebSocketGateway, recorder: RecordingHandlers
) -> None:
    async def scenario() -> None:
        ws = await connect(ws_url(gateway, "?client=abrupt"))
        ws.transport.abort()  # no close frame: the TCP connection just drops

    asyncio.run(scenario())
    connection_id = connection_id_of(recorder, "abrupt")
    disconnected = wait_for(lambda: recorder.of("$disconnect", connection_id), timeout=RECEIVE_TIMEOUT)
    assert disconnected[0]["requestContext"]["disconnectStatusCode"] == 1006

    for garbage in (
        b"\x16\x03\x01\x02\x00 not even HTTP\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\xff" * 70000,
    ):
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=RECEIVE_TIMEOUT) as raw:
            raw.sendall(garbage)
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(65536):
                pass

    async def afterwards() -> None:
        async with connect(ws_url(gateway)) as ws:
            await still_open(ws)

    asyncio.run(afterwards())


def test_management_api_post_get_delete_and_gone(
    gateway: WebSocketGateway, recorder: RecordingHandlers, management: str
) -> None:
    from botocore.exceptions import ClientError

    async def scenario() -> None:
        async with connect(ws_url(gateway, "?client=managed")) as ws:
            connection_id = await asyncio.to_thread(connection_id_of, recorder, "managed")
            # The app uses the endpoint as given: with and without a stage prefix.
            for endpoint in (management, f"{management}/local"):
                client = management_client(endpoint)
                await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b'{"hello": 1}')
                assert await receive_json(ws) == {"hello": 1}

                info = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
                assert info["Identity"]["SourceIp"] == "127.0.0.1"
                assert info["ConnectedAt"] <= info["LastActiveAt"]

            await asyncio.to_thread(management_client(management).delete_connection, ConnectionId=connection_id)
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(RECEIVE_TIMEOUT):
                    await ws.recv()

            with pytest.raises(ClientError) as gone:
                await asyncio.to_thread(
                    management_client(management).post_to_connection, ConnectionId=connection_id, Data=b"late"
                )
            assert gone.value.response["Error"]["Code"] == "GoneException"
            assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410

    asyncio.run(scenario())


def test_management_api_answers_410_for_unknown_ids_and_404_for_other_paths(management: str) -> None:
    for method in ("POST", "GET", "DELETE"):
        result = http(
            method,
            f"{management}/@connections/bm90LWEtY29ubmVjdGlvbg=",
            {"x": 1} if method == "POST" else None,
            signed_by=CREDENTIALS,
        )
        assert result.status == 410, (method, result)
        assert result.headers["x-amzn-ErrorType"] == "GoneException"
        assert "message" in result.body
    assert http("GET", f"{management}/somewhere-else", signed_by=CREDENTIALS).status == 404


def test_threadsafe_calls_report_gone_connections(gateway: WebSocketGateway) -> None:
    with pytest.raises(GoneError):
        gateway.post_threadsafe("unknown", b"x")
    with pytest.raises(GoneError):
        gateway.info_threadsafe("unknown")
    with pytest.raises(GoneError):
        gateway.delete_threadsafe("unknown")


def test_a_client_that_stops_reading_is_dropped_without_delaying_posts_to_others(
    gateway: WebSocketGateway, recorder: RecordingHandlers, management: str
) -> None:
    stuck = StuckClient("127.0.0.1", gateway.port, "/?client=stuck")
    try:
        stuck_id = connection_id_of(recorder, "stuck")

        async def scenario() -> None:
            async with connect(ws_url(gateway, "?client=live")) as live:
                live_id = await asyncio.to_thread(connection_id_of, recorder, "live")
                blocked = await asyncio.to_thread(fill_until_stuck, management, stuck_id, credentials=CREDENTIALS)

                # While that post waits on the stuck socket, a post to another one goes through at once.
                started = time.monotonic()
                await asyncio.to_thread(
                    management_client(management).post_to_connection, ConnectionId=live_id, Data=b'{"n": 1}'
                )
                assert await receive_json(live) == {"n": 1}
                assert time.monotonic() - started < 1.0

                # The stuck client is dropped, and the waiting post answered 410, before the app's
                # management client would give up on it: the app prunes it instead of posting again.
                outcome = await asyncio.to_thread(blocked.wait, MANAGEMENT_API_READ_TIMEOUT_SECONDS + 5)
                assert outcome == "GoneException"
                assert time.monotonic() - blocked.started_at < MANAGEMENT_API_READ_TIMEOUT_SECONDS

        asyncio.run(scenario())
        disconnected = wait_for(lambda: recorder.of("$disconnect", stuck_id), timeout=RECEIVE_TIMEOUT)
        assert disconnected[0]["requestContext"]["disconnectStatusCode"] == 1006
        with pytest.raises(GoneError):
            gateway.post_threadsafe(stuck_id, b"late")
    finally:
        stuck.close()


def test_frames_go_out_without_waiting_for_the_clients_delayed_ack(
    gateway: WebSocketGateway, recorder: RecordingHandlers
) -> None:
    """Nagle off on every accepted socket: otherwise a push right after a reply waits ~40 ms (decision latency)."""

    async def scenario() -> None:
        async with connect(ws_url(gateway, "?client=nodelay")):
            connection_id = connection_id_of(recorder, "nodelay")
            assert gateway.socket_option_threadsafe(connection_id, socket.IPPROTO_TCP, socket.TCP_NODELAY)

    asyncio.run(scenario())


# --- API Gateway's limits: idle timeout and maximum connection duration, with short settings ---------------


@pytest.fixture
def limited_gateway(recorder: RecordingHandlers) -> Iterator[Callable[..., WebSocketGateway]]:
    """Start a gateway with the given limits (seconds); stopped after the test."""
    started: list[WebSocketGateway] = []

    def start(*, idle: float, maximum: float) -> WebSocketGateway:
        running = WebSocketGateway(
            recorder.handlers(),
            host="127.0.0.1",
            port=0,
            stage="local",
            idle_timeout_seconds=idle,
            max_connection_seconds=maximum,
        )
        running.start()
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()


async def seconds_until_closed_by_server(socket: ClientConnection, started: float, *, limit: float) -> float:
    """Read until the server closes; assert it did so with API Gateway's limit code."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(limit):
            while True:
                await socket.recv()
    elapsed = time.monotonic() - started
    assert closed.value.rcvd is not None, "the server dropped the socket instead of closing it"
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (LIMIT_CLOSE_CODE, "Going away")
    return elapsed


def assert_disconnect_ran(recorder: RecordingHandlers, marker: str) -> None:
    connection_id = connection_id_of(recorder, marker)
    disconnects = wait_for(lambda: recorder.of("$disconnect", connection_id), timeout=RECEIVE_TIMEOUT)
    assert len(disconnects) == 1
    assert disconnects[0]["requestContext"]["disconnectStatusCode"] == LIMIT_CLOSE_CODE


def test_an_idle_connection_is_closed_with_1001_and_its_disconnect_runs(
    limited_gateway: Callable[..., WebSocketGateway], recorder: RecordingHandlers
) -> None:
    gateway = limited_gateway(idle=0.5, maximum=60)

    async def scenario() -> float:
        async with connect(ws_url(gateway, "?client=idle")) as socket:
            return await seconds_until_closed_by_server(socket, time.monotonic(), limit=RECEIVE_TIMEOUT)

    elapsed = asyncio.run(scenario())
    assert 0.45 <= elapsed < 3.0, elapsed
    assert_disconnect_ran(recorder, "idle")
    wait_for(lambda: gateway.connection_count == 0, timeout=RECEIVE_TIMEOUT)


def test_a_chatty_connection_is_closed_at_the_maximum_duration(
    limited_gateway: Callable[..., WebSocketGateway], recorder: RecordingHandlers
) -> None:
    gateway = limited_gateway(idle=0.8, maximum=2.0)

    async def scenario() -> float:
        async with connect(ws_url(gateway, "?client=chatty")) as socket:
            started = time.monotonic()

            async def chat() -> None:
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        await socket.send(json.dumps({"action": "ping"}))
                        await asyncio.sleep(0.2)

            chatter = asyncio.create_task(chat())
            try:
                return await seconds_until_closed_by_server(socket, started, limit=RECEIVE_TIMEOUT)
            finally:
                chatter.cancel()

    elapsed = asyncio.run(scenario())
    assert 1.9 <= elapsed < 4.0, elapsed  # well past the idle timeout: its messages kept it open until then
    assert_disconnect_ran(recorder, "chatty")


def test_messages_either_way_reset_the_idle_timer(
    limited_gateway: Callable[..., WebSocketGateway], recorder: RecordingHandlers
) -> None:
    gateway = limited_gateway(idle=1.0, maximum=60)

    async def scenario() -> float:
        async with connect(ws_url(gateway, "?client=pinging")) as socket:
            connection_id = connection_id_of(recorder, "pinging")
            for _ in range(4):  # 2 s of ping messages, twice the idle timeout
                await asyncio.sleep(0.5)
                await socket.send(json.dumps({"action": "ping"}))
            for _ in range(4):  # then 2 s of posts from the app
                await asyncio.sleep(0.5)
                await asyncio.to_thread(gateway.post_threadsafe, connection_id, b'{"type": "pong"}')
                assert await receive_json(socket) == {"type": "pong"}
            await still_open(socket)
            quiet_from = time.monotonic()
            return await seconds_until_closed_by_server(socket, quiet_from, limit=RECEIVE_TIMEOUT)

    elapsed = asyncio.run(scenario())
    assert 0.9 <= elapsed < 3.0, elapsed  # a full idle timeout after the last message
    assert_disconnect_ran(recorder, "pinging")
