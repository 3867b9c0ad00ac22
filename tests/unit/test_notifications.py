"""Fan-out of SPEC §3: every subscriber is posted to at once; a slow or gone one never holds up the others."""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.connection import Connection
from chalicelib.domain.submission import Submission
from chalicelib.integrations.notifications import Notifier

RELEASE_TIMEOUT = 10.0


class FakeConnectionStore:
    """The part of ConnectionStore a Notifier uses, in memory; records what it prunes."""

    def __init__(self, connection_ids: list[str]) -> None:
        self.connections = {
            cid: Connection(cid, api_id="api", stage="test", domain_name="example") for cid in connection_ids
        }
        self.removed: list[str] = []

    def get_many(self, connection_ids: Any) -> list[Connection]:
        return sorted(
            (self.connections[cid] for cid in connection_ids if cid in self.connections),
            key=lambda connection: connection.connection_id,
        )

    def remove(self, connection_id: str) -> list[str]:
        self.removed.append(connection_id)
        self.connections.pop(connection_id, None)
        return []


class RecordingManagementClient:
    """A management API client that records each post; some connections hang, some are gone."""

    def __init__(self, *, stuck: set[str] = frozenset(), gone: set[str] = frozenset()) -> None:
        self.stuck = stuck
        self.gone = gone
        self.release = threading.Event()  # set at the end of a test: stuck posts return then
        self.posted: dict[str, dict[str, Any]] = {}
        self.endpoints: list[str] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        if ConnectionId in self.stuck:
            self.release.wait(RELEASE_TIMEOUT)
        if ConnectionId in self.gone:
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")
        with self._changed:
            self.posted[ConnectionId] = json.loads(Data)
            self._changed.notify_all()
        return {}

    def wait_for_posts(self, connection_ids: set[str], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: connection_ids <= set(self.posted), timeout)


def _decided(subscribers: set[str]) -> Submission:
    return Submission(
        submission_id="8c1a3a55-8f4f-4a0d-9a55-000000000001",
        title="a title",
        body="",
        status="REJECTED",
        created_at="2024-01-01T00:00:00Z",
        request_fingerprint="x",
        decision="rejected",
        reason="a private reason",
        decided_at="2024-01-01T00:01:00Z",
        subscribers=frozenset(subscribers),
    )


@pytest.fixture
def executor() -> Any:
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-fanout")
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def _notifier(store: FakeConnectionStore, client: RecordingManagementClient, executor: Any, **options: Any) -> Notifier:
    def client_for_endpoint(endpoint: str) -> RecordingManagementClient:
        client.endpoints.append(endpoint)
        return client

    return Notifier(
        store,  # type: ignore[arg-type]
        client_for_endpoint,
        region="us-east-1",
        endpoint_override="http://127.0.0.1:1/local",
        executor=executor,
        posts_at_once=4,
        **options,
    )


def test_a_stuck_post_does_not_delay_the_other_subscribers(executor, caplog):
    # "a-stuck" sorts first: posted one after another, every other subscriber would wait for it.
    subscribers = {"a-stuck", "b-live", "c-live", "d-live"}
    client = RecordingManagementClient(stuck={"a-stuck"})
    notifier = _notifier(FakeConnectionStore(sorted(subscribers)), client, executor, post_timeout=0.5)
    result: list[int] = []
    publishing = threading.Thread(target=lambda: result.append(notifier.publish_decision(_decided(subscribers))))
    caplog.set_level(logging.INFO, logger="chalicelib.integrations.notifications")
    started = time.monotonic()
    publishing.start()
    try:
        assert client.wait_for_posts({"b-live", "c-live", "d-live"}, timeout=2.0), client.posted
        publishing.join(timeout=3.0)
        assert not publishing.is_alive(), "the fan-out waited for the stuck post"
    finally:
        client.release.set()
        publishing.join(timeout=RELEASE_TIMEOUT)

    assert time.monotonic() - started < 2.0
    assert result == [3]  # the stuck one is counted as not delivered
    assert all(message["decision"] == "rejected" for message in client.posted.values())
    timed_out = [
        json.loads(record.getMessage()) for record in caplog.records if "send_timed_out" in record.getMessage()
    ]
    assert [entry["connectionId"] for entry in timed_out] == ["a-stuck"]
    assert "a private reason" not in caplog.text  # the log says who, never what


def test_a_gone_connection_is_pruned_and_the_others_still_get_the_message(executor):
    subscribers = {"a-live", "b-gone", "c-live"}
    store = FakeConnectionStore(sorted(subscribers))
    client = RecordingManagementClient(gone={"b-gone"})

    delivered = _notifier(store, client, executor).publish_decision(_decided(subscribers))

    assert delivered == 2
    assert set(client.posted) == {"a-live", "c-live"}
    assert store.removed == ["b-gone"]
    assert set(client.endpoints) == {"http://127.0.0.1:1/local"}


def test_more_subscribers_than_threads_all_get_the_message(executor):
    subscribers = {f"connection-{index:02}" for index in range(25)}
    client = RecordingManagementClient()

    delivered = _notifier(FakeConnectionStore(sorted(subscribers)), client, executor).publish_decision(
        _decided(subscribers)
    )

    assert delivered == 25
    assert set(client.posted) == subscribers


def test_a_shut_down_pool_still_delivers(executor):
    """service.reset() shuts the shared pool down; a notifier built before it keeps working."""
    executor.shutdown(wait=True)
    subscribers = {"a-live", "b-live"}
    client = RecordingManagementClient()

    delivered = _notifier(FakeConnectionStore(sorted(subscribers)), client, executor).publish_decision(
        _decided(subscribers)
    )

    assert delivered == 2 and set(client.posted) == subscribers


def test_without_an_executor_posts_run_in_turn():
    subscribers = {"a-live", "b-gone"}
    store = FakeConnectionStore(sorted(subscribers))
    client = RecordingManagementClient(gone={"b-gone"})

    assert _notifier(store, client, None).publish_status(_decided(subscribers)) == 1
    assert client.posted["a-live"]["type"] == "status"
