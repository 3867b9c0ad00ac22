"""The reviewers table: the moderation team and the hashes of their tokens.

The table holds two items per reviewer, both in small fixed partitions:

- ``pk="REVIEWER", sk=<name>``: name, role, who created it and when (listed by one Query);
- ``pk="TOKEN", sk=<sha256 of the token>``: the name and role the token stands for (one
  consistent GetItem per request, so a revoked token stops at the very next request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.domain import actors
from chalicelib.domain.team import Identity, NewReviewer, Reviewer, new_token, token_hash
from chalicelib.errors import AlreadyExistsError, NotFoundError
from chalicelib.integrations.aws import batch_get_all, conditional_write, query_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_REVIEWER_PARTITION = "REVIEWER"
_TOKEN_PARTITION = "TOKEN"


class DynamoDBReviewerStore:
    """Reviewers and their token hashes in DynamoDB (see the module docstring for the layout)."""

    def __init__(self, table: Table, *, clock: Clock = system_clock) -> None:
        self._table = table
        self._clock = clock

    def create(self, new: NewReviewer, *, created_by: str) -> tuple[Reviewer, str]:
        """Store a reviewer, created now, and a fresh token; returns both (the token is never readable again).

        Raises AlreadyExistsError when the name is taken.
        """
        created_at = iso(self._clock())
        token = new_token()
        hashed = token_hash(token)
        written = conditional_write(
            self._table.put_item,
            Item={
                "pk": _REVIEWER_PARTITION,
                "sk": new.name,
                "role": new.role,
                "createdAt": created_at,
                "createdBy": created_by,
                "tokenHash": hashed,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        if written is None:
            raise AlreadyExistsError(f"a reviewer named {new.name} already exists")
        # The token item last: until it exists the token opens nothing.
        self._table.put_item(Item={"pk": _TOKEN_PARTITION, "sk": hashed, "name": new.name, "role": new.role})
        return Reviewer(name=new.name, role=new.role, created_at=created_at, created_by=created_by), token

    def list(self) -> list[Reviewer]:
        """Every reviewer, by name: one Query per page of the reviewers' partition."""
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :partition",
            ExpressionAttributeValues={":partition": _REVIEWER_PARTITION},
        )
        return [
            Reviewer(name=item["sk"], role=item["role"], created_at=item["createdAt"], created_by=item["createdBy"])
            for item in items
        ]

    def delete(self, name: str) -> None:
        """Revoke the reviewer's token, then forget the reviewer. Raises NotFoundError for an unknown name."""
        item = self._table.get_item(Key={"pk": _REVIEWER_PARTITION, "sk": name}, ConsistentRead=True).get("Item")
        if item is None:
            raise NotFoundError(f"no reviewer named {name}")
        # The token first: from this write on, the token is refused.
        self._table.delete_item(Key={"pk": _TOKEN_PARTITION, "sk": item["tokenHash"]})
        self._table.delete_item(Key={"pk": _REVIEWER_PARTITION, "sk": name})

    def existing(self, names: set[str]) -> set[str]:
        """Which of ``names`` are current reviewers (one BatchGetItem per 100; the bootstrap admin always is)."""
        found = {name for name in names if name == actors.ADMIN}
        keys = [{"pk": _REVIEWER_PARTITION, "sk": name} for name in sorted(names - found)]
        items = batch_get_all(self._table, keys, ConsistentRead=True, ProjectionExpression="sk")
        found.update(item["sk"] for item in items)
        return found

    def identify(self, token: str) -> Identity | None:
        """The reviewer a token belongs to, or None (a consistent read: revocation is immediate)."""
        item: dict[str, Any] | None = self._table.get_item(
            Key={"pk": _TOKEN_PARTITION, "sk": token_hash(token)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return Identity(name=item["name"], role=item["role"])
