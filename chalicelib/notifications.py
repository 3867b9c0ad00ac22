"""Pushing messages to WebSocket clients through API Gateway's management API."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalicelib.connections import Connection, ConnectionStore
from chalicelib.log import log_event
from chalicelib.submissions import Submission

logger = logging.getLogger(__name__)

ManagementClientFactory = Callable[[str], Any]


def management_endpoint(connection: Connection, *, region: str, override: str | None) -> str:
    """The @connections endpoint of the API a connection belongs to (an override wins, e.g. locally)."""
    if override:
        return override
    return f"https://{connection.api_id}.execute-api.{region}.amazonaws.com/{connection.stage}"


def decision_message(submission: Submission) -> dict[str, Any]:
    """The ``{"type": "decision", ...}`` message of SPEC §3 for a decided submission."""
    message: dict[str, Any] = {
        "type": "decision",
        "submissionId": submission.submission_id,
        "decision": submission.decision,
        "decidedAt": submission.decided_at,
    }
    if submission.reason:
        message["reason"] = submission.reason
    return message


def status_message(submission: Submission) -> dict[str, Any]:
    """The ``{"type": "status", ...}`` reply to a subscribe."""
    return {
        "type": "status",
        "submissionId": submission.submission_id,
        "status": submission.status,
        "title": submission.title,
        "createdAt": submission.created_at,
    }


class Notifier:
    """Sends JSON messages to connections and prunes the ones API Gateway says are gone."""

    def __init__(
        self,
        connections: ConnectionStore,
        client_for_endpoint: ManagementClientFactory,
        *,
        region: str,
        endpoint_override: str | None,
        current_reviewers: Callable[[set[str]], set[str]] = lambda names: names,
    ) -> None:
        self._connections = connections
        self._current_reviewers = current_reviewers
        self._client_for_endpoint = client_for_endpoint
        self._region = region
        self._endpoint_override = endpoint_override

    def send(self, connection: Connection, message: dict[str, Any]) -> bool:
        """Post ``message``; False (and the connection deleted) if the client has gone away.

        Other failures are logged and reported as False too: one broken client must not
        keep the others from their message.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        endpoint = management_endpoint(connection, region=self._region, override=self._endpoint_override)
        client = self._client_for_endpoint(endpoint)
        try:
            client.post_to_connection(ConnectionId=connection.connection_id, Data=json.dumps(message).encode())
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "GoneException":
                # The submissions' subscriber sets may keep the id: a missing connection is skipped.
                followed = self._connections.remove(connection.connection_id)
                log_event(logger, "connection.gone", connectionId=connection.connection_id, followed=len(followed))
            else:
                log_event(logger, "connection.send_failed", level=logging.WARNING,
                          connectionId=connection.connection_id, error=code)
            return False
        except BotoCoreError as error:
            log_event(logger, "connection.send_failed", level=logging.WARNING,
                      connectionId=connection.connection_id, error=str(error))
            return False
        return True

    def publish_status(self, submission: Submission) -> int:
        """Tell every subscriber that the status changed (IN_REVIEW); returns how many received it."""
        message = status_message(submission)
        return sum(self.send(connection, message) for connection in self._connections.get_many(submission.subscribers))

    def publish_review_event(self, event: str, review: dict[str, Any]) -> int:
        """Tell every reviewer watching the queue that a review was created, decided or expired."""
        message = {"type": "review", "event": event, "review": review}
        watching = self._connections.review_watchers()
        # A reviewer removed since they started watching gets nothing more (revocation is immediate).
        current = self._current_reviewers({reviewer for _connection, reviewer in watching}) if watching else set()
        watchers = [connection for connection, reviewer in watching if reviewer in current]
        delivered = sum(self.send(connection, message) for connection in watchers)
        log_event(logger, "review_event.published", reviewId=review.get("reviewId"), reviewEvent=event,
                  delivered=delivered)
        return delivered

    def publish_decision(self, submission: Submission) -> int:
        """Send the decision to every subscriber; returns how many received it."""
        message = decision_message(submission)
        subscribers = self._connections.get_many(submission.subscribers)
        delivered = sum(self.send(connection, message) for connection in subscribers)
        log_event(logger, "decision.published", submissionId=submission.submission_id,
                  executionArn=submission.execution_arn, decision=submission.decision, delivered=delivered)
        return delivered
