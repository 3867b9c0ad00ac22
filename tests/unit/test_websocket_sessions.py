"""WebsocketSessions over in-memory fakes and a fake clock: connect, subscribe, watch, ping, errors, disconnect."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest

from chalicelib.domain.connection import Connection
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.domain.team import Identity
from chalicelib.errors import BadRequestError
from chalicelib.usecases.websocket_sessions import MAX_MESSAGE_BYTES, WebsocketSessions
from tests.fakes import FakeClock, InMemoryConnections, InMemorySubmissions, RecordingNotifier

SUBMISSION_ID = "0b4f5c4e-8d7e-4f43-a1b9-6a7f4b6e2c11"
UNKNOWN_ID = "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10"
TTL_SECONDS = 7200
REVIEWER_TOKEN = "cmr_valid"


@dataclass
class World:
    sessions: WebsocketSessions
    connections: InMemoryConnections
    submissions: InMemorySubmissions
    notifier: RecordingNotifier
    clock: FakeClock


def _identify(token: str | None) -> Identity | None:
    return Identity(name="alice", role="reviewer") if token == REVIEWER_TOKEN else None


@pytest.fixture
def world() -> World:
    connections, submissions = InMemoryConnections(ttl_seconds=TTL_SECONDS), InMemorySubmissions()
    notifier, clock = RecordingNotifier(), FakeClock()
    submissions.items[SUBMISSION_ID] = Submission(
        submission_id=SUBMISSION_ID,
        title="Hello",
        body="",
        status=SubmissionStatus.CHECKING,
        created_at="2027-01-15T08:00:00.000Z",
        request_fingerprint="f",
    )
    sessions = WebsocketSessions(
        connections=connections,  # the fakes keep the real classes' contracts
        submissions=submissions,
        identify=_identify,
        notifier=notifier,
        clock=clock,
    )
    return World(sessions, connections, submissions, notifier, clock)


def _connection(connection_id: str = "conn-1") -> Connection:
    return Connection(connection_id=connection_id, api_id="abc123", stage="ws", domain_name="example.test")


def _replies(world: World, body: str | dict[str, object], connection_id: str = "conn-1") -> list[dict[str, object]]:
    world.sessions.receive(_connection(connection_id), body if isinstance(body, str) else json.dumps(body))
    return world.notifier.sent_to(connection_id)


# --- connect -----------------------------------------------------------------------------------


def test_connect_records_the_connection_with_its_ttl_from_the_clock(world):
    world.sessions.connect(_connection(), submission_id=None)

    assert world.connections.expires_at("conn-1") == int(world.clock()) + TTL_SECONDS
    assert world.submissions.called("add_subscriber") == []


def test_connect_naming_a_submission_follows_it_at_once(world):
    world.sessions.connect(_connection(), submission_id=SUBMISSION_ID)

    assert world.submissions.items[SUBMISSION_ID].subscribers == {"conn-1"}
    assert world.connections.expires_at("conn-1", SUBMISSION_ID) == int(world.clock()) + TTL_SECONDS
    assert world.notifier.sent == []  # API Gateway cannot deliver during $connect


@pytest.mark.parametrize("submission_id", ["not-a-uuid", UNKNOWN_ID])
def test_connect_naming_a_bad_or_unknown_submission_is_refused_and_stores_nothing(world, submission_id):
    with pytest.raises(BadRequestError):
        world.sessions.connect(_connection(), submission_id=submission_id)

    assert world.connections.items == {}


# --- messages ----------------------------------------------------------------------------------


def test_ping_gets_pong(world):
    assert _replies(world, {"action": "ping"}) == [{"type": "pong"}]


def test_subscribe_replies_with_the_status_and_follows_the_submission(world):
    world.sessions.connect(_connection(), submission_id=None)
    world.clock.advance(30)

    replies = _replies(world, {"action": "subscribe", "submissionId": SUBMISSION_ID})

    assert replies == [
        {
            "type": "status",
            "submissionId": SUBMISSION_ID,
            "status": "CHECKING",
            "title": "Hello",
            "createdAt": "2027-01-15T08:00:00.000Z",
        }
    ]
    assert "conn-1" in world.submissions.items[SUBMISSION_ID].subscribers
    assert world.connections.expires_at("conn-1", SUBMISSION_ID) == int(world.clock()) + TTL_SECONDS


def test_subscribing_after_the_decision_gets_the_decision_at_once(world):
    world.submissions.items[SUBMISSION_ID] = replace(
        world.submissions.items[SUBMISSION_ID],
        status=SubmissionStatus.REJECTED,
        decision="rejected",
        reason="spam",
        decided_at="2027-01-15T09:00:00.000Z",
    )

    replies = _replies(world, {"action": "subscribe", "submissionId": SUBMISSION_ID})

    assert [reply["type"] for reply in replies] == ["status", "decision"]
    assert replies[1] == {
        "type": "decision",
        "submissionId": SUBMISSION_ID,
        "decision": "rejected",
        "decidedBy": "workflow",
        "automated": True,
        "decidedAt": "2027-01-15T09:00:00.000Z",
        "reason": "spam",
    }


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"action": "subscribe", "submissionId": 7}, "'submissionId' must be a string"),
        ({"action": "subscribe", "submissionId": "nope"}, "submissionId must be a UUID"),
        ({"action": "subscribe", "submissionId": UNKNOWN_ID}, f"no submission {UNKNOWN_ID}"),
        ({"action": "dance"}, "unknown action 'dance'"),
        ([1, 2], "must be a JSON object"),
        ("{not json", "malformed JSON"),
        ("[" * 2000 + "]" * 2000, "nested too deeply"),
        ("x" * (MAX_MESSAGE_BYTES + 1), f"at most {MAX_MESSAGE_BYTES} bytes"),
    ],
)
def test_a_bad_message_gets_one_error_reply_and_changes_nothing(world, message, says):
    replies = _replies(world, message if isinstance(message, str) else json.dumps(message))

    (reply,) = replies
    assert reply["type"] == "error"
    assert says in reply["message"]
    assert world.submissions.items[SUBMISSION_ID].subscribers == frozenset()


def test_watch_reviews_needs_a_reviewer_token(world):
    refused = _replies(world, {"action": "watchReviews", "token": "wrong"})
    accepted = _replies(world, {"action": "watchReviews", "token": REVIEWER_TOKEN}, connection_id="conn-2")

    assert refused[0]["type"] == "error"
    assert accepted == [{"type": "watching", "reviewer": "alice", "role": "reviewer"}]
    assert [reviewer for _connection, reviewer in world.connections.review_watchers()] == ["alice"]


# --- disconnect --------------------------------------------------------------------------------


def test_disconnect_forgets_the_connection_and_unfollows_its_submissions(world):
    world.sessions.connect(_connection(), submission_id=SUBMISSION_ID)

    world.sessions.disconnect("conn-1")

    assert world.connections.items == {}
    assert world.submissions.items[SUBMISSION_ID].subscribers == frozenset()
    assert world.submissions.called("remove_subscriber") == [
        {"submission_id": SUBMISSION_ID, "connection_id": "conn-1"}
    ]
