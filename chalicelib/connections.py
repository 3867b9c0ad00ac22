"""WebSocket connections and their subscriptions to submissions, stored with a TTL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUBMISSION_INDEX = "by-submission"
# The item that records the connection itself; subscription items use the submission id.
CONNECTION_ITEM = "#connection"


@dataclass(frozen=True)
class Connection:
    """Where a message for one client goes: API Gateway's connection id, API id and stage."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str

    def to_item(self) -> dict[str, Any]:
        return {
            "connectionId": self.connection_id,
            "apiId": self.api_id,
            "stage": self.stage,
            "domainName": self.domain_name,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Connection:
        return cls(
            connection_id=item["connectionId"],
            api_id=item.get("apiId", ""),
            stage=item.get("stage", ""),
            domain_name=item.get("domainName", ""),
        )


class ConnectionStore:
    """Connections keyed by (``connectionId``, ``subscription``); subscribers found through a sparse index."""

    def __init__(self, table: Any, *, ttl_seconds: int) -> None:
        self._table = table
        self._ttl_seconds = ttl_seconds

    def add(self, connection: Connection, *, now: float) -> None:
        item = connection.to_item() | {"subscription": CONNECTION_ITEM, "expiresAt": int(now) + self._ttl_seconds}
        self._table.put_item(Item=item)

    def subscribe(self, connection: Connection, submission_id: str, *, now: float) -> None:
        item = connection.to_item() | {
            "subscription": submission_id,
            "submissionId": submission_id,
            "expiresAt": int(now) + self._ttl_seconds,
        }
        self._table.put_item(Item=item)

    def subscribers(self, submission_id: str) -> list[Connection]:
        """Every live connection subscribed to ``submission_id`` (paginates through the index)."""
        connections: list[Connection] = []
        query: dict[str, Any] = {
            "IndexName": SUBMISSION_INDEX,
            "KeyConditionExpression": "submissionId = :submission_id",
            "ExpressionAttributeValues": {":submission_id": submission_id},
        }
        while True:
            response = self._table.query(**query)
            connections.extend(Connection.from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return connections
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def remove(self, connection_id: str) -> int:
        """Delete a connection and all its subscriptions; returns how many items went."""
        keys: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": "connectionId = :connection_id",
            "ExpressionAttributeValues": {":connection_id": connection_id},
            "ProjectionExpression": "connectionId, subscription",
        }
        while True:
            response = self._table.query(**query)
            keys.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key={"connectionId": key["connectionId"], "subscription": key["subscription"]})
        return len(keys)

    def exists(self, connection_id: str) -> bool:
        key = {"connectionId": connection_id, "subscription": CONNECTION_ITEM}
        return "Item" in self._table.get_item(Key=key, ConsistentRead=True)
