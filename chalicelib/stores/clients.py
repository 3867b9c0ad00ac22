"""Platform clients and the hashes of their tokens, in the reviewers table (``ports.ClientStore``).

Two items per client, in small fixed partitions of their own (the reviewers' ``REVIEWER`` and
``TOKEN`` partitions never see them):

- ``pk="CLIENT", sk=<name>``: name, who created it and when (listed by one Query);
- ``pk="CLIENT_TOKEN", sk=<sha256 of the token>``: the client's name (one consistent GetItem per
  submission, so a revoked token is refused from the very next request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.domain.clients import Client, new_client_token
from chalicelib.domain.team import token_hash
from chalicelib.errors import AlreadyExistsError, NotFoundError
from chalicelib.integrations.aws import conditional_write, query_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_CLIENT_PARTITION = "CLIENT"
_TOKEN_PARTITION = "CLIENT_TOKEN"


class DynamoDBClientStore:
    """Clients and their token hashes in DynamoDB (see the module docstring for the layout)."""

    def __init__(self, table: Table, *, clock: Clock = system_clock) -> None:
        self._table = table
        self._clock = clock

    def create(self, name: str, *, created_by: str) -> tuple[Client, str]:
        """Store a client, created now, and a fresh token; returns both (the token is never readable again).

        Raises AlreadyExistsError when the name is taken.
        """
        created_at = iso(self._clock())
        token = new_client_token()
        hashed = token_hash(token)
        written = conditional_write(
            self._table.put_item,
            Item={
                "pk": _CLIENT_PARTITION,
                "sk": name,
                "createdAt": created_at,
                "createdBy": created_by,
                "tokenHash": hashed,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        if written is None:
            raise AlreadyExistsError(f"a client named {name} already exists")
        # The token item last: until it exists the token opens nothing.
        self._table.put_item(Item={"pk": _TOKEN_PARTITION, "sk": hashed, "name": name})
        return Client(name=name, created_at=created_at, created_by=created_by), token

    def list(self) -> list[Client]:
        """Every client, by name: one Query per page of the clients' partition."""
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :partition",
            ExpressionAttributeValues={":partition": _CLIENT_PARTITION},
        )
        return [Client(name=item["sk"], created_at=item["createdAt"], created_by=item["createdBy"]) for item in items]

    def delete(self, name: str) -> None:
        """Revoke the client's token, then forget the client. Raises NotFoundError for an unknown name."""
        item = self._table.get_item(Key={"pk": _CLIENT_PARTITION, "sk": name}, ConsistentRead=True).get("Item")
        if item is None:
            raise NotFoundError(f"no client named {name}")
        # The token first: from this write on, the token is refused.
        self._table.delete_item(Key={"pk": _TOKEN_PARTITION, "sk": item["tokenHash"]})
        self._table.delete_item(Key={"pk": _CLIENT_PARTITION, "sk": name})

    def identify(self, token: str) -> str | None:
        """The name of the client a token belongs to, or None (a consistent read: revocation is immediate)."""
        item: dict[str, Any] | None = self._table.get_item(
            Key={"pk": _TOKEN_PARTITION, "sk": token_hash(token)}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["name"])
