"""WebSocket sessions: connect, subscribe, ping and disconnect, as SPEC §3 describes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.domain.connection import Connection
from chalicelib.domain.identifiers import validate_submission_id
from chalicelib.domain.ports import ConnectionStore, Notifications, SubmissionStore
from chalicelib.domain.submission import Submission
from chalicelib.errors import BadRequestError
from chalicelib.log import log_event
from chalicelib.web.presenters import decision_message, status_message

if TYPE_CHECKING:
    from chalicelib.domain.team import Identity

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096


class WebsocketSessions:
    """What the $connect, $default and $disconnect handlers do."""

    def __init__(
        self,
        *,
        connections: ConnectionStore,
        submissions: SubmissionStore,
        identify: Callable[[str | None], Identity | None],
        notifier: Notifications,
        clock: Clock,
    ) -> None:
        self._connections = connections
        self._submissions = submissions
        self._identify = identify
        self._notifier = notifier
        self._clock = clock

    def connect(self, connection: Connection, *, submission_id: str | None) -> None:
        """Record the connection, following a submission at once when the URL names one.

        API Gateway cannot deliver messages during $connect, so the current status is sent
        in reply to the client's first ``subscribe`` instead.
        Raises BadRequestError for a malformed or unknown ``submissionId`` (the connection
        is refused and nothing is stored).
        """
        if submission_id is not None:
            submission_id = validate_submission_id(submission_id)
            if self._submissions.get(submission_id) is None:
                raise BadRequestError(f"no submission {submission_id}")
        now = self._clock()
        self._connections.add(connection, now=now)
        if submission_id is not None:
            self._follow(connection, submission_id)
        log_event(logger, "connection.opened", connectionId=connection.connection_id, submissionId=submission_id)

    def receive(self, connection: Connection, body: str | None) -> None:
        """Handle one client message; every reply goes back over the same connection."""
        for reply in self._replies(connection, body):
            self._notifier.send(connection, reply)

    def _replies(self, connection: Connection, body: str | None) -> list[dict[str, Any]]:
        if body is None or len(body.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
            return [_error(f"messages must be JSON objects of at most {MAX_MESSAGE_BYTES} bytes")]
        try:
            message = json.loads(body)
        except ValueError:
            return [_error("malformed JSON")]
        except RecursionError:  # a few KB of brackets nest deeper than the parser's stack allows
            return [_error("malformed JSON: nested too deeply")]
        if not isinstance(message, dict):
            return [_error("a message must be a JSON object with an 'action'")]
        action = message.get("action")
        if action == "ping":
            return [{"type": "pong"}]
        if action == "subscribe":
            return self._subscribe(connection, message.get("submissionId"))
        if action == "watchReviews":
            return self._watch_reviews(connection, message.get("token"))
        return [_error(f"unknown action {action!r}; use 'subscribe', 'watchReviews' or 'ping'")]

    def _watch_reviews(self, connection: Connection, token: Any) -> list[dict[str, Any]]:
        """Subscribe a signed-in reviewer's connection to the review queue's events."""
        identity = self._identify(token) if isinstance(token, str) else None
        if identity is None:
            log_event(logger, "connection.watch_refused", connectionId=connection.connection_id)
            return [_error("a valid reviewer token is required to watch reviews")]
        self._connections.watch_reviews(connection, reviewer=identity.name, now=self._clock())
        log_event(logger, "connection.watching_reviews", connectionId=connection.connection_id, reviewer=identity.name)
        return [{"type": "watching", "reviewer": identity.name, "role": identity.role}]

    def _subscribe(self, connection: Connection, submission_id: Any) -> list[dict[str, Any]]:
        if not isinstance(submission_id, str):
            return [_error("'submissionId' must be a string")]
        try:
            submission_id = validate_submission_id(submission_id)
        except BadRequestError as error:
            return [_error(error.message)]
        submission = self._follow(connection, submission_id)
        if submission is None:
            return [_error(f"no submission {submission_id}")]
        replies = [status_message(submission)]
        if submission.is_final:
            replies.append(decision_message(submission))
        log_event(
            logger,
            "connection.subscribed",
            connectionId=connection.connection_id,
            submissionId=submission_id,
            status=submission.status,
        )
        return replies

    def _follow(self, connection: Connection, submission_id: str) -> Submission | None:
        """Add the connection to the submission's subscribers; the submission as of that write."""
        submission = self._submissions.add_subscriber(submission_id, connection.connection_id)
        if submission is not None:
            self._connections.record_subscription(connection, submission_id, now=self._clock())
        return submission

    def disconnect(self, connection_id: str) -> None:
        followed = self._connections.remove(connection_id)
        for submission_id in followed:
            self._submissions.remove_subscriber(submission_id, connection_id)
        log_event(logger, "connection.closed", connectionId=connection_id, followed=len(followed))


def _error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}
