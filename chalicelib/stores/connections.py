"""The connections table: WebSocket connections and the submissions each one follows, with a TTL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from chalicelib.domain.connection import Connection
from chalicelib.integrations.aws import batch_get_all, query_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# The item that records the connection itself; subscription items use the submission id.
CONNECTION_ITEM = "#connection"
# The item of a connection that watches the review queue, and the sparse index that finds them.
REVIEW_WATCH_ITEM = "#reviews"
WATCHERS_INDEX = "review-watchers"
WATCH_PARTITION = "REVIEWS"
_NOT_SUBMISSIONS = frozenset({CONNECTION_ITEM, REVIEW_WATCH_ITEM})


def connection_to_item(connection: Connection) -> dict[str, Any]:
    return {
        "connectionId": connection.connection_id,
        "apiId": connection.api_id,
        "stage": connection.stage,
        "domainName": connection.domain_name,
    }


def connection_from_item(item: dict[str, Any]) -> Connection:
    return Connection(
        connection_id=item["connectionId"],
        api_id=item.get("apiId", ""),
        stage=item.get("stage", ""),
        domain_name=item.get("domainName", ""),
    )


class DynamoDBConnectionStore:
    """Connections keyed by (``connectionId``, ``subscription``).

    Who follows a submission is kept on the submission item itself (see
    ``SubmissionStore.add_subscriber``), where DynamoDB orders it against the decision; the
    subscription items here only let a disconnect find what to clean up.
    """

    def __init__(self, table: Table, *, ttl_seconds: int) -> None:
        self._table = table
        self._ttl_seconds = ttl_seconds

    def add(self, connection: Connection, *, now: float) -> None:
        item = connection_to_item(connection) | {
            "subscription": CONNECTION_ITEM,
            "expiresAt": int(now) + self._ttl_seconds,
        }
        self._table.put_item(Item=item)

    def record_subscription(self, connection: Connection, submission_id: str, *, now: float) -> None:
        item = connection_to_item(connection) | {
            "subscription": submission_id,
            "expiresAt": int(now) + self._ttl_seconds,
        }
        self._table.put_item(Item=item)

    def watch_reviews(self, connection: Connection, *, reviewer: str, now: float) -> None:
        """Let this connection receive review events (until it disconnects or its TTL passes)."""
        item = connection_to_item(connection) | {
            "subscription": REVIEW_WATCH_ITEM,
            "watchPartition": WATCH_PARTITION,
            "reviewer": reviewer,
            "expiresAt": int(now) + self._ttl_seconds,
        }
        self._table.put_item(Item=item)

    def review_watchers(self) -> list[tuple[Connection, str]]:
        """Every connection watching the review queue, with the reviewer who signed in on it.

        A Query on a sparse index (eventually consistent: a watcher of the last second may
        miss one event, and the dashboard reloads the queue when it starts watching).
        """
        items = query_all(
            self._table,
            IndexName=WATCHERS_INDEX,
            KeyConditionExpression="watchPartition = :watching",
            ExpressionAttributeValues={":watching": WATCH_PARTITION},
        )
        return [(connection_from_item(item), item.get("reviewer", "")) for item in items]

    def get_many(self, connection_ids: Iterable[str]) -> list[Connection]:
        """The stored connections among ``connection_ids`` (strongly consistent; unknown ids are skipped)."""
        keys = [{"connectionId": cid, "subscription": CONNECTION_ITEM} for cid in sorted(set(connection_ids))]
        found = [connection_from_item(item) for item in batch_get_all(self._table, keys, ConsistentRead=True)]
        return sorted(found, key=lambda connection: connection.connection_id)

    def remove(self, connection_id: str) -> list[str]:
        """Delete a connection and its subscription items; returns the submissions it followed."""
        items = query_all(
            self._table,
            KeyConditionExpression="connectionId = :connection_id",
            ExpressionAttributeValues={":connection_id": connection_id},
            ProjectionExpression="connectionId, subscription",
            ConsistentRead=True,
        )
        with self._table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"connectionId": item["connectionId"], "subscription": item["subscription"]})
        return [item["subscription"] for item in items if item["subscription"] not in _NOT_SUBMISSIONS]
