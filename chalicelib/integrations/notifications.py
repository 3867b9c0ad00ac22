"""Pushing messages to WebSocket clients through API Gateway's management API."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from typing import TYPE_CHECKING, Any

from chalicelib.domain.connection import Connection
from chalicelib.domain.ports import ConnectionStore
from chalicelib.domain.review import Review
from chalicelib.domain.submission import Submission
from chalicelib.integrations.aws import MANAGEMENT_API_CONNECT_TIMEOUT_SECONDS, MANAGEMENT_API_READ_TIMEOUT_SECONDS
from chalicelib.log import log_event
from chalicelib.web.presenters import decision_message, present_review, status_message

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

logger = logging.getLogger(__name__)

ManagementClientFactory = Callable[[str], "ApiGatewayManagementApiClient"]

# Posts of one message run on this many threads at once (SPEC §3: one slow or stuck socket never
# delays the others). One pool per process, shared by every fan-out: small enough for a 128 MB
# Lambda, large enough that a few stuck sockets leave threads for everyone else.
FANOUT_THREADS = 8
# How long a fan-out waits for each post (one attempt of the management client) before counting it
# as not delivered. The post itself may go on in the background until botocore gives up on it.
POST_TIMEOUT_SECONDS = float(MANAGEMENT_API_CONNECT_TIMEOUT_SECONDS + MANAGEMENT_API_READ_TIMEOUT_SECONDS)


def management_endpoint(connection: Connection, *, region: str, override: str | None) -> str:
    """The @connections endpoint of the API a connection belongs to (an override wins, e.g. locally)."""
    if override:
        return override
    return f"https://{connection.api_id}.execute-api.{region}.amazonaws.com/{connection.stage}"


class Notifier:
    """Sends JSON messages (``ports.Notifications``) to connections and prunes the ones API Gateway says are gone.

    A message for many connections is posted on ``executor`` (all at once, up to
    ``posts_at_once``), and each post gets ``post_timeout`` seconds: a socket that does not
    answer by then counts as not delivered and never holds up the others. Without an executor
    the posts run one after another.
    """

    def __init__(
        self,
        connections: ConnectionStore,
        client_for_endpoint: ManagementClientFactory,
        *,
        region: str,
        endpoint_override: str | None,
        current_reviewers: Callable[[set[str]], set[str]] = lambda names: names,
        executor: Executor | None = None,
        posts_at_once: int = FANOUT_THREADS,
        post_timeout: float = POST_TIMEOUT_SECONDS,
    ) -> None:
        self._connections = connections
        self._current_reviewers = current_reviewers
        self._client_for_endpoint = client_for_endpoint
        self._region = region
        self._endpoint_override = endpoint_override
        self._executor = executor
        self._posts_at_once = max(1, posts_at_once)
        self._post_timeout = post_timeout

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
                log_event(
                    logger,
                    "connection.send_failed",
                    level=logging.WARNING,
                    connectionId=connection.connection_id,
                    error=code,
                )
            return False
        except BotoCoreError as error:
            log_event(
                logger,
                "connection.send_failed",
                level=logging.WARNING,
                connectionId=connection.connection_id,
                error=str(error),
            )
            return False
        return True

    def send_to_all(self, connections: list[Connection], message: dict[str, Any]) -> int:
        """Post ``message`` to every connection concurrently; returns how many received it.

        Posts still running after their time (``post_timeout`` per round of ``posts_at_once``)
        are logged and counted as not delivered; the call returns without waiting for them.
        """
        if not connections:
            return 0
        if self._executor is None:
            return sum(self.send(connection, message) for connection in connections)
        futures: dict[Future[bool], Connection] = {}
        for connection in connections:
            try:
                futures[self._executor.submit(self.send, connection, message)] = connection
            except RuntimeError:  # the pool was shut down (service.reset) under this notifier: post here
                futures[_completed(self.send(connection, message))] = connection
        rounds = math.ceil(len(connections) / self._posts_at_once)
        started = time.monotonic()
        done, late = wait(futures, timeout=self._post_timeout * rounds)
        for future in late:
            future.cancel()  # not started yet: it never will; already posting: botocore's timeout ends it
            log_event(
                logger,
                "connection.send_timed_out",
                level=logging.WARNING,
                connectionId=futures[future].connection_id,
                waitedSeconds=round(time.monotonic() - started, 3),
            )
        delivered = 0
        for future in done:
            error = future.exception()
            if error is None:
                delivered += bool(future.result())
            else:  # e.g. DynamoDB failed while pruning a gone connection: that one was not delivered
                log_event(
                    logger,
                    "connection.send_failed",
                    level=logging.WARNING,
                    connectionId=futures[future].connection_id,
                    error=type(error).__name__,
                )
        return delivered

    def publish_status(self, submission: Submission) -> int:
        """Tell every subscriber that the status changed (IN_REVIEW); returns how many received it."""
        message = status_message(submission)
        return self.send_to_all(self._connections.get_many(submission.subscribers), message)

    def publish_review_event(self, event: str, review: Review) -> int:
        """Tell every reviewer watching the queue that a review was created, is due soon, was decided or expired."""
        message = {"type": "review", "event": event, "review": present_review(review)}
        watching = self._connections.review_watchers()
        # A reviewer removed since they started watching gets nothing more (revocation is immediate).
        current = self._current_reviewers({reviewer for _connection, reviewer in watching}) if watching else set()
        watchers = [connection for connection, reviewer in watching if reviewer in current]
        delivered = self.send_to_all(watchers, message)
        log_event(logger, "review_event.published", reviewId=review.review_id, reviewEvent=event, delivered=delivered)
        return delivered

    def publish_decision(self, submission: Submission) -> int:
        """Send the decision to every subscriber; returns how many received it."""
        message = decision_message(submission)
        delivered = self.send_to_all(self._connections.get_many(submission.subscribers), message)
        log_event(
            logger,
            "decision.published",
            submissionId=submission.submission_id,
            executionArn=submission.execution_arn,
            decision=submission.decision,
            delivered=delivered,
        )
        return delivered


def _completed(result: bool) -> Future[bool]:
    future: Future[bool] = Future()
    future.set_result(result)
    return future
