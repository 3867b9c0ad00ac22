"""The limits table: one counter item per limited subject and fixed window (``ports.LimitStore``).

``key`` (``scope#subject#windowStart``) is the only key; ``count`` is the counter and ``expiresAt``
the TTL attribute. Each take is one conditional ``UpdateItem`` (``ADD count 1`` only while the count
is below the limit): concurrent takes of one counter are serialised by DynamoDB, so exactly ``limit``
of them succeed. Never a Scan or a read: the write itself says whether it was allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.errors import LimiterUnavailable
from chalicelib.integrations.aws import conditional_write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoDBLimitStore:
    """Counters that stop at their limit, with a TTL (see the module docstring)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def take(self, key: str, *, limit: int, expires_at: int) -> bool:
        """Add one to ``key``'s counter unless it has reached ``limit``; False when it had.

        Raises LimiterUnavailable when DynamoDB refused or could not be reached (throttling,
        a network error): the caller decides whether to fail open or closed.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            written = conditional_write(
                self._table.update_item,
                Key={"key": key},
                UpdateExpression="ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":expires": expires_at},
            )
        except (ClientError, BotoCoreError) as error:
            code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
            raise LimiterUnavailable(f"the limits table refused the counter write: {code}") from error
        return written is not None
