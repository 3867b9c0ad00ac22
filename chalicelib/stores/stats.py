"""The stats table: counters per period (``hour#…``, ``day#…``), added to atomically (``ports.StatsStore``).

Its own small table rather than items in another: the history table is append-only by policy
(PutItem and Query only), and counters need UpdateItem; here the functions may only ADD and read.
One ``UpdateItem`` with ``ADD`` per event: concurrent adds to one period never lose a count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from chalicelib.integrations.aws import batch_get_all, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoDBStatsStore:
    """Counter items keyed by ``period``; each counter is a number attribute."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, period: str, counters: Mapping[str, int]) -> None:
        """``ADD`` every counter in one UpdateItem (creates the item and the attributes on first use)."""
        names = {f"#c{index}": name for index, name in enumerate(counters)}
        values = {f":c{index}": value for index, value in enumerate(counters.values())}
        self._table.update_item(
            Key={"period": period},
            UpdateExpression="ADD " + ", ".join(f"{name} {value}" for name, value in zip(names, values, strict=True)),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def read(self, periods: list[str]) -> dict[str, dict[str, int]]:
        """One BatchGetItem (31 keys for ``/stats``); periods nothing was counted in are absent."""
        keys = [{"period": period} for period in dict.fromkeys(periods)]
        return {
            item["period"]: {name: plain(value) for name, value in item.items() if name != "period"}
            for item in batch_get_all(self._table, keys)
        }
