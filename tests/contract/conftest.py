"""The stores under contract: each test runs once on the in-memory fake and once on the DynamoDB store (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from chalicelib.domain import ports
from tests.fakes import (
    InMemoryClients,
    InMemoryConnections,
    InMemoryHistory,
    InMemoryLimits,
    InMemoryReviews,
    InMemoryStats,
    InMemorySubmissions,
)

CONNECTION_TTL_SECONDS = 7200


@dataclass(frozen=True)
class Stores:
    submissions: ports.SubmissionStore
    reviews: ports.ReviewStore
    holds: ports.ReviewHoldStore
    history: ports.HistoryStore
    connections: ports.ConnectionStore
    stats: ports.StatsStore
    clients: ports.ClientStore
    limits: ports.LimitStore


def _fakes() -> Stores:
    reviews = InMemoryReviews()  # reviewers' claims live on the same items
    return Stores(
        submissions=InMemorySubmissions(),
        reviews=reviews,
        holds=reviews,
        history=InMemoryHistory(),
        connections=InMemoryConnections(ttl_seconds=CONNECTION_TTL_SECONDS),
        stats=InMemoryStats(),
        clients=InMemoryClients(),
        limits=InMemoryLimits(),
    )


def _dynamodb(request: pytest.FixtureRequest) -> Stores:
    from chalicelib.integrations import aws as aws_clients
    from chalicelib.stores.clients import DynamoDBClientStore
    from chalicelib.stores.connections import DynamoDBConnectionStore
    from chalicelib.stores.history import DynamoDBHistoryStore
    from chalicelib.stores.limits import DynamoDBLimitStore
    from chalicelib.stores.review_holds import DynamoDBReviewHoldStore
    from chalicelib.stores.reviews import DynamoDBReviewStore
    from chalicelib.stores.stats import DynamoDBStatsStore
    from chalicelib.stores.submissions import DynamoDBSubmissionStore

    outputs: dict[str, str] = request.getfixturevalue("aws")
    return Stores(
        submissions=DynamoDBSubmissionStore(aws_clients.table(outputs["SubmissionsTableName"])),
        reviews=DynamoDBReviewStore(aws_clients.table(outputs["ReviewsTableName"])),
        holds=DynamoDBReviewHoldStore(aws_clients.table(outputs["ReviewsTableName"])),
        history=DynamoDBHistoryStore(aws_clients.table(outputs["HistoryTableName"])),
        connections=DynamoDBConnectionStore(
            aws_clients.table(outputs["ConnectionsTableName"]), ttl_seconds=CONNECTION_TTL_SECONDS
        ),
        stats=DynamoDBStatsStore(aws_clients.table(outputs["StatsTableName"])),
        clients=DynamoDBClientStore(aws_clients.table(outputs["ReviewersTableName"])),
        limits=DynamoDBLimitStore(aws_clients.table(outputs["LimitsTableName"])),
    )


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """The same cases against both implementations: the fakes may never drift from the real stores."""
    yield _fakes() if request.param == "fake" else _dynamodb(request)
